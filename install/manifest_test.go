package install

import (
	"bytes"
	"context"
	"crypto/x509"
	"slices"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

func renderObjects(t *testing.T, o Options) []runtime.Object {
	t.Helper()
	var out bytes.Buffer
	if err := Render(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	return decodeAllStrict(t, out.Bytes())
}

// TestControlPlaneShape checks the properties issue 2 asks of the control
// plane, on the default and the HA render.
func TestControlPlaneShape(t *testing.T) {
	for _, ha := range []bool{false, true} {
		o := offline(t)
		o.HA = ha
		objs := renderObjects(t, o)
		deployments, pdbs := 0, 0
		var webhookSecret *corev1.Secret
		var webhook *admissionv1.MutatingWebhookConfiguration
		for _, obj := range objs {
			switch x := obj.(type) {
			case *appsv1.Deployment:
				deployments++
				checkDeployment(t, x, ha)
			case *policyv1.PodDisruptionBudget:
				pdbs++
			case *corev1.Secret:
				if x.Name == meshapi.InjectorTLSSecretName {
					webhookSecret = x
				}
			case *admissionv1.MutatingWebhookConfiguration:
				webhook = x
			case *rbacv1.Role:
				for _, r := range x.Rules {
					if slices.Contains(r.Resources, "secrets") && !slices.Equal(r.ResourceNames, []string{meshapi.IssuerSecretName}) {
						t.Errorf("role %s reads secrets beyond the issuer: %v", x.Name, r.ResourceNames)
					}
				}
			case *rbacv1.ClusterRole:
				for _, r := range x.Rules {
					if slices.Contains(r.Resources, "secrets") || slices.Contains(r.Verbs, "*") {
						t.Errorf("clusterrole %s is too broad: %+v", x.Name, r)
					}
				}
			}
		}
		if deployments != 4 {
			t.Errorf("ha=%v: %d deployments", ha, deployments)
		}
		if want := map[bool]int{false: 0, true: 4}[ha]; pdbs != want {
			t.Errorf("ha=%v: %d PodDisruptionBudgets, want %d", ha, pdbs, want)
		}
		checkWebhook(t, webhook, webhookSecret, ha)
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment, ha bool) {
	t.Helper()
	want := int32(1)
	if ha {
		want = 3
	}
	if *d.Spec.Replicas != want {
		t.Errorf("%s: %d replicas, want %d", d.Name, *d.Spec.Replicas, want)
	}
	spec := d.Spec.Template.Spec
	if ha != (spec.Affinity != nil && spec.Affinity.PodAntiAffinity != nil) {
		t.Errorf("%s: anti-affinity %v with ha=%v", d.Name, spec.Affinity, ha)
	}
	if spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccomp %v", d.Name, spec.SecurityContext.SeccompProfile)
	}
	c := spec.Containers[len(spec.Containers)-1]
	if c.Args[0] != "controller" {
		t.Errorf("%s: args %v", d.Name, c.Args)
	}
	sc := c.SecurityContext
	if !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: securityContext %+v", d.Name, sc)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/ready" || c.LivenessProbe.HTTPGet.Path != "/live" || c.ReadinessProbe.HTTPGet.Port.IntValue() != meshapi.ControllerAdminPort {
		t.Errorf("%s: probes not on :%d /ready /live", d.Name, meshapi.ControllerAdminPort)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("%s: no resource requests", d.Name)
	}
	names := []string{}
	for _, ic := range spec.InitContainers {
		names = append(names, ic.Name)
	}
	if !slices.Equal(names, []string{meshapi.InitContainerName, meshapi.ProxyContainerName}) {
		t.Errorf("%s: init containers %v", d.Name, names)
	}
	if d.Spec.Template.Labels[meshapi.LabelControlPlaneComponent] == "" || d.Spec.Template.Labels[meshapi.LabelControlPlaneNS] != "meshctl" {
		t.Errorf("%s: pod labels %v", d.Name, d.Spec.Template.Labels)
	}
}

func checkWebhook(t *testing.T, w *admissionv1.MutatingWebhookConfiguration, secret *corev1.Secret, ha bool) {
	t.Helper()
	if w == nil || secret == nil {
		t.Fatal("no webhook or no serving Secret")
	}
	h := w.Webhooks[0]
	want := admissionv1.Ignore
	if ha {
		want = admissionv1.Fail
	}
	if *h.FailurePolicy != want || *h.SideEffects != admissionv1.SideEffectClassNone || h.TimeoutSeconds == nil {
		t.Errorf("webhook policy %v side effects %v timeout %v", *h.FailurePolicy, *h.SideEffects, h.TimeoutSeconds)
	}
	if !slices.Equal(h.NamespaceSelector.MatchExpressions[0].Values, []string{"meshctl", "kube-system"}) {
		t.Errorf("namespaceSelector %+v", h.NamespaceSelector)
	}
	if e := h.ObjectSelector.MatchExpressions[0]; e.Key != meshapi.AnnotationInject || !slices.Equal(e.Values, []string{meshapi.InjectDisabled}) {
		t.Errorf("objectSelector %+v", h.ObjectSelector)
	}
	roots, err := identity.ParseCertificates(h.ClientConfig.CABundle)
	if err != nil {
		t.Fatalf("caBundle: %v", err)
	}
	leaf, err := identity.ParseCertificates(secret.Data[meshapi.TLSCertKey])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(roots[0])
	if _, err := leaf[0].Verify(x509.VerifyOptions{Roots: pool, CurrentTime: fixedNow()}); err != nil {
		t.Errorf("serving certificate does not verify under the caBundle: %v", err)
	}
}

// TestGeneratedWebhookCert checks the real generator: the serving
// certificate names the injector Service and verifies under the bundle.
func TestGeneratedWebhookCert(t *testing.T) {
	names := webhookDNSNames("meshctl", "cluster.local")
	ca, crt, _, err := GenerateCerts{}.WebhookCert(names, fixedNow())
	if err != nil {
		t.Fatal(err)
	}
	roots, _ := identity.ParseCertificates(ca)
	leaf, _ := identity.ParseCertificates(crt)
	pool := x509.NewCertPool()
	pool.AddCert(roots[0])
	if _, err := leaf[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: "meshctl-injector.meshctl.svc", CurrentTime: fixedNow()}); err != nil {
		t.Fatal(err)
	}
}

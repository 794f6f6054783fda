package check

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// renderedWebhook is the part of a rendered control plane the webhook fix
// re-creates from.
const renderedWebhook = `# Source: meshctl-control-plane/templates/injector.yaml
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: meshctl-proxy-injector
webhooks:
  - name: proxy-injector.meshctl.io
    admissionReviewVersions: ["v1"]
    sideEffects: None
    clientConfig:
      service:
        name: meshctl-injector
        namespace: meshctl
      caBundle: bmV3LWNh
`

const renderedServingSecret = `apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: meshctl-proxy-injector-tls
  namespace: meshctl
data:
  tls.crt: bmV3LWNydA==
  tls.key: bmV3LWtleQ==
`

func withRenderedWebhook(f *fixture) {
	f.manifest = append(f.manifest,
		Object{APIVersion: "v1", Kind: "Secret", Name: meshapi.InjectorTLSSecretName, Namespace: ns, Raw: []byte(renderedServingSecret)})
	for i, o := range f.manifest {
		if o.Kind == "MutatingWebhookConfiguration" {
			f.manifest[i].Raw = []byte(renderedWebhook)
		}
	}
}

// The RBAC and ServiceAccount documents of a rendered control plane.
const (
	renderedIdentityClusterRole = `# Source: meshctl-control-plane/templates/identity.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: meshctl-identity
rules:
  - apiGroups: ["authentication.k8s.io"]
    resources: ["tokenreviews"]
    verbs: ["create"]
`
	renderedPolicyClusterRole = `# Source: meshctl-control-plane/templates/policy.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: meshctl-policy
  labels:
    app.kubernetes.io/part-of: meshctl
rules:
  # Read the policy resources and the pods they select.
  - apiGroups: ["policy.meshctl.io"]
    resources: ["servers", "authorizationpolicies"]
    verbs: ["get", "list", "watch"]
`
	renderedIdentityRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: meshctl-identity
  namespace: meshctl
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["meshctl-identity-issuer"]
    verbs: ["get", "watch"]
`
	renderedIdentityRoleBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: meshctl-identity
  namespace: meshctl
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: meshctl-identity
subjects:
  - kind: ServiceAccount
    name: meshctl-identity
    namespace: meshctl
`
	renderedIdentityServiceAccount = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: meshctl-identity
  namespace: meshctl
automountServiceAccountToken: false
`
)

// withRenderedRBAC renders the control plane's RBAC and ServiceAccount with
// their documents: ClusterRole meshctl-identity and Role meshctl/meshctl-identity
// exist in the cluster (as edited there, not as rendered), ClusterRole
// meshctl-policy and RoleBinding meshctl/meshctl-identity do not.
func withRenderedRBAC(f *fixture) {
	var kept []Object
	for _, o := range f.manifest {
		if o.Kind != "ClusterRole" && o.Kind != "ServiceAccount" {
			kept = append(kept, o)
		}
	}
	rbac := func(kind, name, namespace, raw string) Object {
		return Object{APIVersion: "rbac.authorization.k8s.io/v1", Kind: kind, Name: name, Namespace: namespace, Raw: []byte(raw)}
	}
	f.manifest = append(kept,
		Object{APIVersion: "v1", Kind: "ServiceAccount", Name: "meshctl-identity", Namespace: ns, Raw: []byte(renderedIdentityServiceAccount)},
		rbac("ClusterRole", "meshctl-identity", "", renderedIdentityClusterRole),
		rbac("ClusterRole", "meshctl-policy", "", renderedPolicyClusterRole),
		rbac("Role", "meshctl-identity", ns, renderedIdentityRole),
		rbac("RoleBinding", "meshctl-identity", ns, renderedIdentityRoleBinding),
	)
	f.objects = append(f.objects, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "meshctl-identity", Namespace: ns, Labels: map[string]string{"edited": "by-hand"}},
	})
}

func rbacGVR(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: resource}
}

// getObject reads an object through the dynamic client, as the checks do.
func getObject(t *testing.T, env *Env, gvr schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error) {
	t.Helper()
	if namespace == "" {
		return env.Dynamic.Resource(gvr).Get(context.Background(), name, metav1.GetOptions{})
	}
	return env.Dynamic.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
}

// restartedAt is the restart stamp of a Deployment's pod template.
func restartedAt(t *testing.T, env *Env, namespace, name string) string {
	t.Helper()
	dep, err := env.Kube.AppsV1().Deployments(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dep.Spec.Template.Annotations[RestartedAtAnnotation]
}

// fixScenario runs the catalogue of a mode on the fixture and plans the
// fixes of what failed.
func fixScenario(t *testing.T, f *fixture, mode Mode) (*Env, []FixPlan) {
	t.Helper()
	env := f.env()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cats := Categories(mode)
	sum := Runner{}.Run(ctx, env, cats)
	return env, PlanFixes(ctx, env, cats, sum)
}

func TestFixes(t *testing.T) {
	tests := []struct {
		name   string
		mode   Mode
		mutate func(t *testing.T, f *fixture)
		golden string // dry-run output; empty: nothing to fix
		// planned checks the cluster after planning (what --dry-run
		// leaves): nothing applied yet.
		planned func(t *testing.T, env *Env)
		verify  func(t *testing.T, env *Env)
	}{
		{name: "healthy", mode: ModeProxy},
		{
			name: "stale trust root", mode: ModeProxy, golden: "fix-stale-trust.golden",
			mutate: func(t *testing.T, f *fixture) {
				f.chains["shop/web-1"] = f.leaf(t, foreignIssuer(t, f), "web.shop.serviceaccount.identity.meshctl.cluster.local", 24*time.Hour)
				f.without("web-1")
				f.objects = append(f.objects, meshedPod("web-1", "old anchors", "v1.0.0", true))
				bare := meshedPod("debug", "old anchors", "v1.0.0", true)
				bare.OwnerReferences = nil
				f.objects = append(f.objects, bare)
				f.chains["shop/debug"] = f.chains["shop/web-1"]
			},
			verify: func(t *testing.T, env *Env) {
				dep, err := env.Kube.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := dep.Spec.Template.Annotations[RestartedAtAnnotation]; got != "2026-11-25T12:00:00Z" {
					t.Fatalf("deployment shop/web restartedAt = %q", got)
				}
			},
		},
		{
			name: "webhook deleted", mode: ModePost, golden: "fix-webhook.golden",
			mutate: func(_ *testing.T, f *fixture) {
				withRenderedWebhook(f)
				f.without(meshapi.InjectorWebhookName)
			},
			verify: func(t *testing.T, env *Env) {
				ctx := context.Background()
				mwc, err := env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, meshapi.InjectorWebhookName, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if string(mwc.Webhooks[0].ClientConfig.CABundle) != "new-ca" {
					t.Fatalf("caBundle %q", mwc.Webhooks[0].ClientConfig.CABundle)
				}
				sec, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, meshapi.InjectorTLSSecretName, metav1.GetOptions{})
				if err != nil || string(sec.Data["tls.crt"]) != "new-crt" || string(sec.Data["tls.key"]) != "new-key" {
					t.Fatalf("serving secret %v %v", sec.Data, err)
				}
				dep, err := env.Kube.AppsV1().Deployments(ns).Get(ctx, "meshctl-injector", metav1.GetOptions{})
				if err != nil || dep.Spec.Template.Annotations[RestartedAtAnnotation] == "" {
					t.Fatalf("injector not restarted: %v", err)
				}
			},
		},
		{
			name: "rbac deleted", mode: ModePost, golden: "fix-rbac.golden",
			mutate: func(_ *testing.T, f *fixture) { withRenderedRBAC(f) },
			planned: func(t *testing.T, env *Env) {
				if _, err := getObject(t, env, rbacGVR("clusterroles"), "", "meshctl-policy"); !apierrors.IsNotFound(err) {
					t.Fatalf("ClusterRole meshctl-policy before applying: %v", err)
				}
				if _, err := getObject(t, env, rbacGVR("rolebindings"), ns, "meshctl-identity"); !apierrors.IsNotFound(err) {
					t.Fatalf("RoleBinding meshctl/meshctl-identity before applying: %v", err)
				}
			},
			verify: func(t *testing.T, env *Env) {
				cr, err := getObject(t, env, rbacGVR("clusterroles"), "", "meshctl-policy")
				if err != nil {
					t.Fatal(err)
				}
				rules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
				if len(rules) != 1 || cr.GetLabels()["app.kubernetes.io/part-of"] != "meshctl" {
					t.Fatalf("ClusterRole meshctl-policy not as rendered: %v", cr.Object)
				}
				rb, err := getObject(t, env, rbacGVR("rolebindings"), ns, "meshctl-identity")
				if err != nil {
					t.Fatal(err)
				}
				if ref, _, _ := unstructured.NestedString(rb.Object, "roleRef", "name"); ref != "meshctl-identity" {
					t.Fatalf("RoleBinding roleRef %q", ref)
				}
				// Present objects are left as they are, not as rendered.
				present, err := getObject(t, env, rbacGVR("clusterroles"), "", "meshctl-identity")
				if err != nil {
					t.Fatal(err)
				}
				if rules, _, _ := unstructured.NestedSlice(present.Object, "rules"); len(rules) != 0 {
					t.Fatalf("ClusterRole meshctl-identity was rewritten: %v", present.Object)
				}
				role, err := getObject(t, env, rbacGVR("roles"), ns, "meshctl-identity")
				if err != nil || role.GetLabels()["edited"] != "by-hand" {
					t.Fatalf("Role meshctl/meshctl-identity was rewritten: %v %v", role, err)
				}
				if err := runCheck(t, "MESH203", env); err != nil {
					t.Fatalf("MESH203 after the fix: %v", err)
				}
			},
		},
		{
			name: "service account deleted", mode: ModePost, golden: "fix-serviceaccount.golden",
			mutate: func(_ *testing.T, f *fixture) {
				withRenderedRBAC(f)
				f.without("meshctl-identity") // the ServiceAccount, and the Role withRenderedRBAC added
				f.objects = append(f.objects,
					&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "meshctl-policy"}},
					&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "meshctl-identity", Namespace: ns}},
					&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "meshctl-identity", Namespace: ns}})
			},
			planned: func(t *testing.T, env *Env) {
				if _, err := getObject(t, env, schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, ns, "meshctl-identity"); !apierrors.IsNotFound(err) {
					t.Fatalf("ServiceAccount before applying: %v", err)
				}
			},
			verify: func(t *testing.T, env *Env) {
				sa, err := getObject(t, env, schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, ns, "meshctl-identity")
				if err != nil {
					t.Fatal(err)
				}
				if auto, _, _ := unstructured.NestedBool(sa.Object, "automountServiceAccountToken"); auto {
					t.Fatalf("ServiceAccount not as rendered: %v", sa.Object)
				}
				if err := runCheck(t, "MESH204", env); err != nil {
					t.Fatalf("MESH204 after the fix: %v", err)
				}
			},
		},
		{
			name: "pods started without the proxy", mode: ModeProxy, golden: "fix-unmeshed.golden",
			mutate: func(_ *testing.T, f *fixture) { withUnmeshed(f) },
			planned: func(t *testing.T, env *Env) {
				if got := restartedAt(t, env, "shop", "api"); got != "" {
					t.Fatalf("deployment shop/api restarted before applying: %q", got)
				}
			},
			verify: func(t *testing.T, env *Env) {
				if got := restartedAt(t, env, "shop", "api"); got != "2026-11-25T12:00:00Z" {
					t.Fatalf("deployment shop/api restartedAt = %q", got)
				}
				if got := restartedAt(t, env, "shop", "web"); got != "" {
					t.Fatalf("meshed deployment shop/web restarted: %q", got)
				}
			},
		},
		{
			name: "webhook deleted, nothing rendered to re-create it from", mode: ModePost, golden: "fix-webhook-unrendered.golden",
			mutate: func(_ *testing.T, f *fixture) { f.without(meshapi.InjectorWebhookName) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.mutate != nil {
				tt.mutate(t, f)
			}
			env, plans := fixScenario(t, f, tt.mode)
			if tt.golden == "" {
				if len(plans) != 0 {
					t.Fatalf("plans on a healthy cluster: %+v", plans)
				}
				return
			}
			var buf bytes.Buffer
			WriteFixPlan(&buf, plans)
			golden.Assert(t, "testdata/"+tt.golden, buf.Bytes())
			if strings.Contains(buf.String(), "bmV3LWtleQ") {
				t.Fatal("the plan shows the Secret's key")
			}
			if tt.planned != nil {
				tt.planned(t, env)
			}
			if tt.verify == nil {
				return
			}
			var failed []string
			applied := map[string]int{}
			n := ApplyFixes(context.Background(), env, plans, func(a Action, err error) {
				applied[a.Show]++
				if applied[a.Show] > 1 {
					t.Errorf("applied twice: %s", a.Show)
				}
				if err != nil {
					failed = append(failed, a.Description+": "+err.Error())
				}
			})
			if n != 0 {
				t.Fatalf("%d steps failed: %v", n, failed)
			}
			tt.verify(t, env)
		})
	}
}

// TestFixOwners: a pod's restartable owner is found through its
// ReplicaSet; StatefulSets and DaemonSets directly; the rest are manual.
func TestFixOwners(t *testing.T) {
	f := newFixture(t)
	env := f.env()
	pod := func(name string, ref *metav1.OwnerReference) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}}
		if ref != nil {
			p.OwnerReferences = []metav1.OwnerReference{*ref}
		}
		return p
	}
	ref := func(kind, name string) *metav1.OwnerReference { r := controllerRef(kind, name); return &r }
	pods := []corev1.Pod{
		pod("web-1", ref("ReplicaSet", "web-7d9")),
		pod("web-2", ref("ReplicaSet", "web-7d9")),
		pod("db-0", ref("StatefulSet", "db")),
		pod("agent-x", ref("DaemonSet", "agent")),
		pod("orphan-1", ref("ReplicaSet", "gone")),
		pod("job-1", ref("Job", "migrate")),
	}
	actions, err := restartActions(context.Background(), env, pods, "are stale")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range actions {
		got = append(got, a.Show+" | "+a.Description)
	}
	want := []string{
		"kubectl -n shop rollout restart daemonset/agent | restart DaemonSet shop/agent: pods agent-x are stale",
		"kubectl -n shop rollout restart deployment/web | restart Deployment shop/web: pods web-1, web-2 are stale",
		"kubectl -n shop rollout restart statefulset/db | restart StatefulSet shop/db: pods db-0 are stale",
		"kubectl delete pod <pod> -n <namespace>, then re-create it if no controller does | re-create pods shop/job-1, shop/orphan-1 (no Deployment, StatefulSet or DaemonSet owns them): they are stale",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if actions[3].Apply != nil {
		t.Fatal("a manual step is applicable")
	}
	if Applicable([]FixPlan{{Actions: actions}}) != 3 {
		t.Fatal("Applicable")
	}
}

// TestFixRecreateMissing: only objects the API server says are NotFound get a
// step; any other error stops the plan, wrapped; a missing object that
// was not rendered with its document cannot be re-created.
func TestFixRecreateMissing(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(f *fixture)
		react   func(env *Env)
		want    []string // the steps' descriptions
		wantErr string
		isErr   func(error) bool
	}{
		{name: "all present", mutate: func(f *fixture) {
			withRenderedRBAC(f)
			f.objects = append(f.objects,
				&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "meshctl-policy"}},
				&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "meshctl-identity", Namespace: ns}})
		}},
		{name: "two missing", mutate: withRenderedRBAC, want: []string{"re-create ClusterRole meshctl-policy", "re-create RoleBinding meshctl/meshctl-identity"}},
		{
			name: "get forbidden", mutate: withRenderedRBAC,
			react: func(env *Env) {
				env.Dynamic.(*dynamicfake.FakeDynamicClient).PrependReactor("get", "clusterroles", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(rbacGVR("clusterroles").GroupResource(), "meshctl-identity", errors.New("no"))
				})
			},
			wantErr: `get ClusterRole meshctl-identity: clusterroles.rbac.authorization.k8s.io "meshctl-identity" is forbidden: no`,
			isErr:   apierrors.IsForbidden,
		},
		{
			name: "not rendered with its document", mutate: func(f *fixture) {
				f.manifest = append(f.manifest, Object{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: "meshctl-policy"})
			},
			wantErr: "the rendered control plane has no ClusterRole meshctl-policy to re-create it from: run `meshctl upgrade | kubectl apply -f -`",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.mutate(f)
			env := f.env()
			if tt.react != nil {
				tt.react(env)
			}
			actions, err := recreateMissing(rbacKinds()...)(context.Background(), env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			case tt.isErr != nil && !tt.isErr(err):
				t.Fatalf("error %v does not wrap the API error", err)
			}
			var got []string
			for _, a := range actions {
				got = append(got, a.Description)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("steps %q, want %q", got, tt.want)
			}
		})
	}
}

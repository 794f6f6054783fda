package check

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
		verify func(t *testing.T, env *Env)
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

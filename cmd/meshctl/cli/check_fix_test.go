package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/check"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

func TestCheckFixUsage(t *testing.T) {
	for _, args := range []string{"check --dry-run", "check --yes", "check --fix --dry-run --yes", "check --fix -o json"} {
		t.Run(args, func(t *testing.T) {
			r := run(t, args)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestCheckRunFixes: --dry-run only shows; without --yes a terminal is
// asked and anything but y/yes applies nothing; without a terminal the
// fix is refused; --yes applies; a failed step fails the command.
func TestCheckRunFixes(t *testing.T) {
	tests := []struct {
		name        string
		dryRun, yes bool
		interactive bool
		answer      string
		applyErr    error
		wantApplied int
		wantErr     string
		wantStderr  string
	}{
		{name: "dry run", dryRun: true},
		{name: "no terminal", wantErr: "refusing to apply 2 fix step(s) without confirmation: no terminal to ask on; pass --yes"},
		{name: "answered yes", interactive: true, answer: "y\n", wantApplied: 2, wantStderr: "Apply 2 step(s) to the cluster? [y/N] √ restart Deployment shop/web"},
		{name: "answered YES", interactive: true, answer: "YES\n", wantApplied: 2},
		{name: "answered no", interactive: true, answer: "n\n", wantStderr: "Nothing applied."},
		{name: "just enter", interactive: true, answer: "\n", wantStderr: "Nothing applied."},
		{name: "end of input", interactive: true, answer: "", wantStderr: "Nothing applied."},
		{name: "yes flag", yes: true, wantApplied: 2, wantStderr: "Applied. Run `meshctl check` again"},
		{name: "step fails", yes: true, applyErr: errors.New("forbidden"), wantApplied: 2, wantErr: "2 fix step(s) failed", wantStderr: "× restart Deployment shop/web: pods web-1 are stale\n    forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, in, out, errOut := genericiooptions.NewTestIOStreams()
			in.WriteString(tt.answer)
			applied := 0
			apply := func(context.Context, *check.Env) error { applied++; return tt.applyErr }
			plans := []check.FixPlan{{
				Code: "MESH405", Description: "data plane proxies hold certificates that chain to the current trust anchors",
				Actions: []check.Action{
					{Description: "restart Deployment shop/web: pods web-1 are stale", Show: "kubectl -n shop rollout restart deployment/web", Apply: apply},
					{Description: "restart StatefulSet shop/db: pods db-0 are stale", Show: "kubectl -n shop rollout restart statefulset/db", Apply: apply},
					{Description: "re-create pods shop/debug", Show: "kubectl delete pod debug -n shop"},
				},
			}}
			o := &checkOptions{
				globalOptions: &globalOptions{streams: streams, noColor: true},
				fix:           true, dryRun: tt.dryRun, yes: tt.yes,
				interactive: func(io.Reader) bool { return tt.interactive },
			}
			err := o.runFixes(context.Background(), &check.Env{}, plans)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if applied != tt.wantApplied {
				t.Fatalf("applied %d steps, want %d", applied, tt.wantApplied)
			}
			if !strings.Contains(out.String(), "Fixes\n-----\nMESH405") || !strings.Contains(out.String(), "  - by hand: re-create pods shop/debug") {
				t.Fatalf("plan not shown:\n%s", out)
			}
			if !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Fatalf("stderr %q does not contain %q", errOut, tt.wantStderr)
			}
		})
	}
}

// TestCheckFixPlans runs the plans the check library makes on a fake
// cluster through --fix: a deleted ClusterRole (MESH203) and a pod that
// started without the proxy in an enabled namespace (MESH406). --dry-run
// shows the YAML and the command and changes nothing; --yes re-creates the
// ClusterRole and restarts the Deployment.
func TestCheckFixPlans(t *testing.T) {
	const rendered = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: meshctl-policy
rules:
  - apiGroups: ["policy.meshctl.io"]
    resources: ["servers"]
    verbs: ["get", "list", "watch"]
`
	cluster := []string{
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: meshctl}\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, annotations: {meshctl.io/inject: enabled}}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n",
		"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: api-5c6\n  namespace: shop\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: d1, controller: true}]\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-5c6-q2x\n  namespace: shop\n  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-5c6, uid: r1, controller: true}]\nspec:\n  containers: [{name: app, image: api}]\nstatus: {phase: Running}\n",
	}
	clusterRoles := schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	for _, tt := range []struct {
		name   string
		dryRun bool
	}{{"dry run", true}, {"yes", false}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f, err := kubefake.NewFakeFactory(cluster...)
			if err != nil {
				t.Fatal(err)
			}
			manifest, err := check.ParseManifest([]byte(rendered))
			if err != nil {
				t.Fatal(err)
			}
			env := &check.Env{
				Kube: f.Clientset, Dynamic: f.DynamicClient, Namespace: "meshctl", Manifest: manifest,
				Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }, CallTimeout: 2 * time.Second,
			}
			failed := check.Summary{Results: []check.Result{{Code: "MESH203", Status: check.StatusError}, {Code: "MESH406", Status: check.StatusWarning}}}
			plans := check.PlanFixes(ctx, env, check.Categories(check.ModeProxy), failed)
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			o := &checkOptions{globalOptions: &globalOptions{streams: streams, noColor: true}, fix: true, dryRun: tt.dryRun, yes: !tt.dryRun}
			if err := o.runFixes(ctx, env, plans); err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			for _, want := range []string{
				"MESH203 ClusterRoles, ClusterRoleBindings, Roles and RoleBindings exist\n  - re-create ClusterRole meshctl-policy\n      kubectl apply -f - <<EOF\n      apiVersion: rbac.authorization.k8s.io/v1\n",
				"MESH406 pods that should be meshed run the proxy\n  - restart Deployment shop/api: pods api-5c6-q2x run without the meshctl-proxy container",
				"      kubectl -n shop rollout restart deployment/api\n",
			} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("plan lacks %q:\n%s", want, out)
				}
			}
			_, getErr := f.DynamicClient.Resource(clusterRoles).Get(ctx, "meshctl-policy", metav1.GetOptions{})
			dep, err := f.Clientset.AppsV1().Deployments("shop").Get(ctx, "api", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			restarted := dep.Spec.Template.Annotations[check.RestartedAtAnnotation]
			if tt.dryRun {
				if !apierrors.IsNotFound(getErr) || restarted != "" || errOut.Len() != 0 {
					t.Fatalf("--dry-run changed the cluster: clusterrole %v, restartedAt %q, stderr %q", getErr, restarted, errOut)
				}
				return
			}
			if getErr != nil || restarted != "2026-11-25T12:00:00Z" {
				t.Fatalf("not applied: clusterrole %v, restartedAt %q\n%s", getErr, restarted, errOut)
			}
		})
	}
}

package cli

import (
	"strings"
	"testing"
)

// installedCluster is a fake cluster after `install --crds` and `install`
// with the test issuer, plus extra objects.
func installedCluster(t *testing.T, extra ...string) (manifest string, opt Option) {
	t.Helper()
	r := run(t, "install --ignore-cluster"+certFlags("anchor.crt", "issuer.crt", "issuer.key"))
	if r.code != 0 {
		t.Fatalf("install: %s", r.stderr)
	}
	streams := append([]string{crdsManifest(t), r.stdout}, extra...)
	return r.stdout, WithKubeFactory(fakeCluster(t, streams...))
}

func TestUpgrade(t *testing.T) {
	_, cluster := installedCluster(t)
	r := run(t, "upgrade --ha --proxy-log-level debug", cluster)
	if r.code != 0 {
		t.Fatalf("upgrade: code %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"replicas: 3", "failurePolicy: Fail", `value: "debug"`, "kind: PodDisruptionBudget"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("upgrade output lacks %q", want)
		}
	}
	if !strings.Contains(r.stderr, "Keeping the identity issuer") {
		t.Errorf("stderr %q does not say the issuer is kept", r.stderr)
	}
	// Nothing was applied, so an upgrade without --ha renders the stored,
	// non-HA values again.
	again := run(t, "upgrade", cluster)
	if again.code != 0 || !strings.Contains(again.stdout, "enablePodAntiAffinity: false") {
		t.Fatalf("upgrade without flags: code %d: %s", again.code, again.stderr)
	}
}

func TestUpgradeErrors(t *testing.T) {
	tests := []struct {
		name string
		args string
		opt  func(t *testing.T) Option
		want string
	}{
		{"not installed", "upgrade", func(t *testing.T) Option { return WithKubeFactory(fakeCluster(t, crdsManifest(t))) }, "meshctl install"},
		{"unreachable", "upgrade", func(t *testing.T) Option {
			f := fakeCluster(t)
			f.Err = errUnreachable
			return WithKubeFactory(f)
		}, "i/o timeout"},
		{"bad set", "upgrade --set proxy.nope=1", func(t *testing.T) Option { _, o := installedCluster(t); return o }, `"proxy.nope"`},
		{"prune not installed", "prune", func(t *testing.T) Option { return WithKubeFactory(fakeCluster(t)) }, "not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args, tt.opt(t))
			if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("code %d, stdout %.80q, stderr %q (want %q)", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	stale := `apiVersion: v1
kind: ConfigMap
metadata:
  name: meshctl-old-component
  namespace: meshctl
  labels:
    app.kubernetes.io/part-of: meshctl
    meshctl.io/control-plane-ns: meshctl
`
	_, cluster := installedCluster(t, stale)
	r := run(t, "prune", cluster)
	if r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	docs := splitYAML(t, r.stdout)
	if len(docs) != 1 || !strings.Contains(docs[0], "name: meshctl-old-component") {
		t.Fatalf("prune listed %d objects:\n%s", len(docs), r.stdout)
	}
}

func TestUninstall(t *testing.T) {
	meshed := `apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels:
    meshctl.io/control-plane-ns: meshctl
spec:
  containers:
    - name: web
      image: nginx
`
	_, cluster := installedCluster(t, meshed)
	r := run(t, "uninstall", cluster)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "shop/web-0") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("uninstall with a meshed pod: code %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, "uninstall --force", cluster)
	if r.code != 0 {
		t.Fatalf("uninstall --force: %s", r.stderr)
	}
	docs := splitYAML(t, r.stdout)
	if !strings.Contains(docs[0], "kind: MutatingWebhookConfiguration") || !strings.Contains(docs[len(docs)-1], "kind: Namespace") {
		t.Errorf("uninstall order: first %q, last %q", docs[0], docs[len(docs)-1])
	}
	if !strings.Contains(r.stdout, "servers.policy.meshctl.io") {
		t.Error("uninstall does not delete the CRDs")
	}
	off := run(t, "uninstall --ignore-cluster -o json")
	if off.code != 0 || !strings.Contains(off.stdout, `"kind": "List"`) {
		t.Fatalf("uninstall --ignore-cluster: code %d: %s", off.code, off.stderr)
	}
}

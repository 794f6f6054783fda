package cli

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/kube/kubefake"
)

// rotateCluster is a fake cluster holding a control plane installed with
// the install test certificates.
func rotateCluster(t *testing.T) *kubefake.FakeFactory {
	t.Helper()
	r := run(t, "install --ignore-cluster"+certFlags("anchor.crt", "issuer.crt", "issuer.key"))
	if r.code != 0 {
		t.Fatalf("install: %s", r.stderr)
	}
	return fakeCluster(t, r.stdout)
}

func rotateClock() Option {
	return WithClock(func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
}

func TestIdentityRotateAnchorsStage1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r := run(t, "identity rotate anchors --output-dir "+dir, WithKubeFactory(rotateCluster(t)), rotateClock())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"name: meshctl-identity-trust-roots", "name: meshctl-config", "name: meshctl-identity-issuer-next"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	for _, want := range []string{"stage 1 of 3", "meshctl upgrade | kubectl apply -f -", "meshctl check --proxy", "Next stage:", dir} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "PRIVATE KEY") {
		t.Error("stderr shows a private key")
	}
	for name, mode := range map[string]os.FileMode{"root.crt": 0o644, "root.key": 0o600, "issuer.crt": 0o644, "issuer.key": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	rootKey, _ := os.ReadFile(filepath.Join(dir, "root.key"))
	if strings.Contains(r.stdout, base64.StdEncoding.EncodeToString(rootKey)) || strings.Contains(r.stdout, string(rootKey)) {
		t.Error("the new anchor's key is in the manifest")
	}
	// The kept root signs a new issuer the cluster (once stage 3 is done)
	// would accept; today it is not a trust anchor yet.
	r = run(t, "identity rotate issuer --root-cert "+filepath.Join(dir, "root.crt")+" --root-key "+filepath.Join(dir, "root.key"), WithKubeFactory(rotateCluster(t)), rotateClock())
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "not one of the trust anchors") {
		t.Errorf("issuer from a root not yet trusted: exit %d, stdout %d bytes, %s", r.code, len(r.stdout), r.stderr)
	}
	// Running again into the same directory never overwrites keys.
	r = run(t, "identity rotate anchors --output-dir "+dir, WithKubeFactory(rotateCluster(t)), rotateClock())
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second run into %s: exit %d, stdout %d bytes, %s", dir, r.code, len(r.stdout), r.stderr)
	}
}

func TestIdentityRotateIssuer(t *testing.T) {
	c := installTestdata + "certs/"
	r := run(t, "identity rotate issuer --root-cert "+c+"anchor.crt --root-key "+c+"anchor.key", WithKubeFactory(rotateCluster(t)), rotateClock())
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "name: meshctl-identity-issuer\n") || !strings.Contains(r.stdout, "type: kubernetes.io/tls") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "Issuer rotation, stage 1 of 1") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestIdentityRotateBad(t *testing.T) {
	c := installTestdata + "certs/"
	empty, err := kubefake.NewFakeFactory()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    string
		f       *kubefake.FakeFactory
		code    int
		wantErr string
	}{
		{"what to rotate", "identity rotate", nil, 2, "say what to rotate"},
		{"unknown rotation", "identity rotate keys", nil, 2, ""},
		{"stage out of range", "identity rotate anchors --stage 4", nil, 2, "stages 1 to 3"},
		{"issuer without root files", "identity rotate issuer", nil, 2, "--root-cert and --root-key"},
		{"issuer with the key only", "identity rotate issuer --root-key " + c + "anchor.key", nil, 2, "--root-cert and --root-key"},
		{"unreadable root", "identity rotate issuer --root-cert /nonexistent/root.crt --root-key " + c + "anchor.key", nil, 1, "/nonexistent/root.crt"},
		{"root is not a CA", "identity rotate issuer --root-cert " + c + "leaf.crt --root-key " + c + "leaf.key", nil, 1, "not a CA"},
		{"root key of another anchor", "identity rotate issuer --root-cert " + c + "anchor.crt --root-key " + c + "foreign-anchor.key", nil, 1, "does not match"},
		{"foreign root", "identity rotate issuer --root-cert " + c + "foreign-anchor.crt --root-key " + c + "foreign-anchor.key", nil, 1, "not one of the trust anchors"},
		{"stage 2 first", "identity rotate anchors --stage 2", nil, 1, "run stage 1 first"},
		{"stage 3 first", "identity rotate anchors --stage 3", nil, 1, "no old anchor to drop"},
		{"not installed", "identity rotate anchors", empty, 1, "meshctl-identity-trust-roots"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if f == nil {
				f = rotateCluster(t)
			}
			r := run(t, tt.args, WithKubeFactory(f), rotateClock())
			if r.code != tt.code || r.stdout != "" || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q)", r.code, tt.code, r.stdout, r.stderr, tt.wantErr)
			}
		})
	}
}

func TestIdentityRotateDryRun(t *testing.T) {
	r := run(t, "identity rotate anchors --dry-run", WithKubeFactory(rotateCluster(t)), rotateClock())
	if r.code != 0 || !strings.Contains(r.stdout, "1. bundle the old and new trust anchors   <- the cluster is here") || strings.Contains(r.stdout, "BEGIN") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "identity rotate issuer --dry-run", WithKubeFactory(rotateCluster(t)), rotateClock())
	if r.code != 0 || !strings.Contains(r.stdout, "Issuer rotation (1 stage)") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

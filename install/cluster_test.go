package install

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeInfo is a hand-written ClusterInfo.
type fakeInfo struct {
	pingErr     error
	missingCRDs []string
	stored      []byte
	crt, key    []byte
	pods        []string
	objects     []ObjectRef
	tapToken    string // "" when Secret meshctl-tap-token is absent
}

func (f *fakeInfo) Ping(context.Context) error { return f.pingErr }
func (f *fakeInfo) MissingCRDs(context.Context, []string) ([]string, error) {
	return f.missingCRDs, nil
}
func (f *fakeInfo) StoredValues(context.Context, string) ([]byte, bool, error) {
	return f.stored, f.stored != nil, nil
}
func (f *fakeInfo) IssuerSecret(context.Context, string) ([]byte, []byte, error) {
	if f.crt == nil {
		return nil, nil, errors.New("secret not found")
	}
	return f.crt, f.key, nil
}
func (f *fakeInfo) TapToken(context.Context, string) (string, bool, error) {
	return f.tapToken, f.tapToken != "", nil
}
func (f *fakeInfo) MeshedPods(context.Context, string) ([]string, error) { return f.pods, nil }
func (f *fakeInfo) LabelledObjects(context.Context, string) ([]ObjectRef, error) {
	return f.objects, nil
}

// installedInfo is a cluster where the default golden install was applied.
func installedInfo(t *testing.T) *fakeInfo {
	t.Helper()
	v, err := offline(t).buildValuesForTest()
	if err != nil {
		t.Fatal(err)
	}
	v.Identity.TrustAnchorsPEM = string(cert(t, "anchor.crt"))
	stored, err := v.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeInfo{stored: stored, crt: cert(t, "issuer.crt"), key: cert(t, "issuer.key")}
}

func (o Options) buildValuesForTest() (*Values, error) {
	o.Complete()
	return o.buildValues(nil)
}

func TestUpgradeKeepsIssuer(t *testing.T) {
	info := installedInfo(t)
	o := offline(t)
	o.Cluster = info
	o.HA = true
	var out, errOut bytes.Buffer
	o.ErrOut = &errOut
	if err := Upgrade(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	decodeAllStrict(t, out.Bytes())
	if !strings.Contains(out.String(), "failurePolicy: Fail") || !strings.Contains(errOut.String(), "Keeping the identity issuer") {
		t.Fatalf("upgrade --ha: report %q", errOut.String())
	}

	info.crt, info.key = cert(t, "issuer-expired.crt"), cert(t, "issuer-expired.key")
	out.Reset()
	err := Upgrade(context.Background(), offline(t).with(info), &out)
	if err == nil || !strings.Contains(err.Error(), "no longer validates") || out.Len() != 0 {
		t.Fatalf("expired issuer in the cluster: err %v, %d bytes out", err, out.Len())
	}
}

func (o Options) with(c ClusterInfo) Options { o.Cluster = c; return o }

func TestClusterRefusals(t *testing.T) {
	tests := []struct {
		name string
		run  func(w *bytes.Buffer) error
		want string
	}{
		{"unreachable", func(w *bytes.Buffer) error {
			return Render(context.Background(), offline(t).with(&fakeInfo{pingErr: errors.New("i/o timeout")}), w)
		}, "--ignore-cluster"},
		{"crds missing", func(w *bytes.Buffer) error {
			return Render(context.Background(), offline(t).with(&fakeInfo{missingCRDs: []string{"servers.policy.meshctl.io"}}), w)
		}, "meshctl install --crds"},
		{"already installed", func(w *bytes.Buffer) error {
			return Render(context.Background(), offline(t).with(installedInfo(t)), w)
		}, "meshctl upgrade"},
		{"upgrade offline", func(w *bytes.Buffer) error {
			return Upgrade(context.Background(), offline(t), w)
		}, "--ignore-cluster"},
		{"upgrade not installed", func(w *bytes.Buffer) error {
			return Upgrade(context.Background(), offline(t).with(&fakeInfo{}), w)
		}, "meshctl install"},
		{"uninstall meshed", func(w *bytes.Buffer) error {
			return Uninstall(context.Background(), UninstallOptions{Cluster: &fakeInfo{pods: []string{"a/b", "c/d"}}}, w)
		}, "2 meshed pods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := tt.run(&out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v does not contain %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("wrote %d bytes", out.Len())
			}
		})
	}
}

func TestPruneAndUninstallLists(t *testing.T) {
	info := installedInfo(t)
	info.objects = []ObjectRef{
		{APIVersion: "v1", Kind: "Namespace", Name: "meshctl"},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: "meshctl", Name: "meshctl-config"},
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: "meshctl", Name: "meshctl-legacy"},
		{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: "servers.policy.meshctl.io"},
	}
	var out bytes.Buffer
	if err := Prune(context.Background(), offline(t).with(info), &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "kind: "); got != 1 || !strings.Contains(out.String(), "meshctl-legacy") {
		t.Fatalf("prune:\n%s", out.String())
	}
	out.Reset()
	if err := Uninstall(context.Background(), UninstallOptions{Cluster: info}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Index(s, "kind: ConfigMap") > strings.Index(s, "kind: Namespace") || strings.Count(s, "kind: ") != 4 {
		t.Fatalf("uninstall order:\n%s", s)
	}
}

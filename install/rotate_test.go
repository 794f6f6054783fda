package install

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// installedState is what a default offline install with the fixture
// anchor and issuer puts in the cluster, as a rotation reads it.
func installedState(t *testing.T) RotationState {
	t.Helper()
	var out, errOut bytes.Buffer
	o := offline(t)
	o.ErrOut = &errOut
	if err := Render(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	st := RotationState{Namespace: meshapi.DefaultNamespace}
	applyManifest(t, &st, out.Bytes())
	if st.TrustRoots == nil || st.Config == nil || st.Issuer == nil {
		t.Fatalf("the install lacks a rotation input: %+v", st)
	}
	return st
}

// applyManifest does what kubectl apply does to the objects a rotation
// reads: each document replaces the object of its name. It also checks
// that every document decodes strictly as a typed object.
func applyManifest(t *testing.T, st *RotationState, manifest []byte) {
	t.Helper()
	for _, d := range strings.Split(string(manifest), "\n---") {
		d = strings.TrimPrefix(strings.TrimSpace(d), "---")
		if strings.TrimSpace(d) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(d), &tm); err != nil {
			t.Fatalf("decode %q: %v", d, err)
		}
		switch tm.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := yaml.UnmarshalStrict([]byte(d), &cm); err != nil {
				t.Fatalf("decode ConfigMap: %v", err)
			}
			switch cm.Name {
			case meshapi.TrustRootsConfigMapName:
				st.TrustRoots = &cm
			case meshapi.ConfigMapName:
				st.Config = &cm
			}
		case "Secret":
			var s corev1.Secret
			if err := yaml.UnmarshalStrict([]byte(d), &s); err != nil {
				t.Fatalf("decode Secret: %v", err)
			}
			switch s.Name {
			case meshapi.IssuerSecretName:
				st.Issuer = &s
			case StagedIssuerSecretName:
				st.Staged = &s
			}
		}
	}
}

// newCerts generates the "new" anchor and issuer of the tests: the foreign
// fixtures (the foreign issuer is signed by the foreign anchor).
func newCerts(t *testing.T) FixedCerts {
	return FixedCerts{
		AnchorCert: cert(t, "foreign-anchor.crt"), AnchorKey: cert(t, "foreign-anchor.key"),
		IssuerCert: cert(t, "foreign-issuer.crt"), IssuerKey: cert(t, "foreign-issuer.key"),
	}
}

func anchorOpts(t *testing.T, stage int) RotateOptions {
	return RotateOptions{Kind: RotateAnchors, Stage: stage, Now: fixedNow, Certs: newCerts(t)}
}

// controllerAccepts is what the identity controller checks when it loads
// the issuer Secret with the trust-roots ConfigMap.
func controllerAccepts(st RotationState) error {
	_, err := identity.ValidateIssuer([]byte(st.TrustRoots.Data[meshapi.TrustRootsKey]),
		st.Issuer.Data[corev1.TLSCertKey], st.Issuer.Data[corev1.TLSPrivateKeyKey], fixedNow())
	return err
}

func anchorCount(t *testing.T, pemData string) int {
	t.Helper()
	c, err := identity.ParseCertificates([]byte(pemData))
	if err != nil {
		t.Fatal(err)
	}
	return len(c)
}

// storedAnchors returns identity.trustAnchorsPEM of meshctl-config.
func storedAnchors(t *testing.T, st RotationState) string {
	t.Helper()
	v, err := storedValues(st.Config)
	if err != nil {
		t.Fatal(err)
	}
	return v.Identity.TrustAnchorsPEM
}

// samePEM compares two PEM inputs ignoring surrounding space.
func samePEM(a, b []byte) bool { return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b)) }

func planReport(p *RotationPlan) string {
	var b bytes.Buffer
	WriteRotationReport(&b, p)
	return b.String()
}

// TestRotateAnchorsWalk walks the three stages, applying each manifest,
// and checks at every point that the identity controller would accept the
// issuer with the trust roots, that the injector's values trust the same
// anchors, and the goldens.
func TestRotateAnchorsWalk(t *testing.T) {
	st := installedState(t)
	oldIssuer := st.Issuer.DeepCopy()
	if err := controllerAccepts(st); err != nil {
		t.Fatalf("installed: %v", err)
	}
	type want struct {
		anchors int
		issuer  string // fixture the issuer Secret holds after the stage
	}
	stages := []want{{2, "issuer.crt"}, {2, "foreign-issuer.crt"}, {1, "foreign-issuer.crt"}}
	for i, w := range stages {
		stage := i + 1
		d, err := DetectAnchorStage(st, fixedNow())
		if err != nil || d.Stage != stage {
			t.Fatalf("before stage %d: detected %+v, %v", stage, d, err)
		}
		p, err := PlanRotation(st, anchorOpts(t, 0))
		if err != nil {
			t.Fatalf("stage %d: %v", stage, err)
		}
		if p.Stage != stage || p.Done {
			t.Fatalf("stage %d: plan for stage %d (done %v)", stage, p.Stage, p.Done)
		}
		name := filepath.Join("testdata", "rotate", "anchors-stage"+string(rune('0'+stage)))
		golden.AssertYAML(t, name+".golden.yaml", p.Manifest)
		golden.Assert(t, name+".report", []byte(planReport(p)))
		if strings.Contains(planReport(p), "PRIVATE KEY") {
			t.Errorf("stage %d: the report shows key material", stage)
		}
		applyManifest(t, &st, p.Manifest)
		if err := controllerAccepts(st); err != nil {
			t.Errorf("after stage %d the identity controller refuses the issuer: %v", stage, err)
		}
		if got := anchorCount(t, st.TrustRoots.Data[meshapi.TrustRootsKey]); got != w.anchors {
			t.Errorf("after stage %d: %d anchors, want %d", stage, got, w.anchors)
		}
		if !samePEM([]byte(storedAnchors(t, st)), []byte(st.TrustRoots.Data[meshapi.TrustRootsKey])) {
			t.Errorf("after stage %d: meshctl-config's anchors differ from the trust roots", stage)
		}
		if !samePEM(st.Issuer.Data[corev1.TLSCertKey], cert(t, w.issuer)) {
			t.Errorf("after stage %d: the issuer Secret does not hold %s", stage, w.issuer)
		}
		if p.TrustRootSHA256 != "" && p.TrustRootSHA256 != trustRootSHA256(storedAnchors(t, st)) {
			t.Errorf("stage %d: announced trust-root-sha256 %s is not the stored anchors'", stage, p.TrustRootSHA256)
		}
		if stage == 1 {
			// The staged issuer is accepted under the bundle too.
			if _, err := identity.ValidateIssuer([]byte(st.TrustRoots.Data[meshapi.TrustRootsKey]),
				st.Staged.Data[corev1.TLSCertKey], st.Staged.Data[corev1.TLSPrivateKeyKey], fixedNow()); err != nil {
				t.Errorf("staged issuer under the bundle: %v", err)
			}
		}
	}
	// Order matters: the old issuer under the new anchors alone is refused.
	if _, err := identity.ValidateIssuer([]byte(st.TrustRoots.Data[meshapi.TrustRootsKey]),
		oldIssuer.Data[corev1.TLSCertKey], oldIssuer.Data[corev1.TLSPrivateKeyKey], fixedNow()); !errors.Is(err, identity.ErrUntrusted) {
		t.Errorf("old issuer under the new anchors: %v, want ErrUntrusted", err)
	}
	d, err := DetectAnchorStage(st, fixedNow())
	if err != nil || !d.Done {
		t.Fatalf("after stage 3: %+v, %v", d, err)
	}
	p, err := PlanRotation(st, anchorOpts(t, 0))
	if err != nil || !p.Done || len(p.Manifest) != 0 {
		t.Fatalf("after stage 3: %+v, %v", p, err)
	}
	golden.Assert(t, filepath.Join("testdata", "rotate", "anchors-done.report"), []byte(planReport(p)))
}

// TestRotateAnchorsGenerated runs stage 1 with real key generation: the
// files to keep hold the new anchor's key, and re-running stage 1 once its
// staged Secret exists reuses it instead of generating new keys.
func TestRotateAnchorsGenerated(t *testing.T) {
	st := installedState(t)
	o := RotateOptions{Kind: RotateAnchors, Now: fixedNow}
	p, err := PlanRotation(st, o)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range p.Files {
		names[f.Name] = f.Secret
	}
	if len(names) != 4 || !names["root.key"] || !names["issuer.key"] || names["root.crt"] {
		t.Errorf("files %v", names)
	}
	// Apply only the staged Secret (a partial apply), then resume.
	partial := RotationState{Namespace: st.Namespace, TrustRoots: st.TrustRoots, Config: st.Config, Issuer: st.Issuer}
	applyManifest(t, &partial, p.Manifest)
	partial.TrustRoots, partial.Config = st.TrustRoots, st.Config
	d, err := DetectAnchorStage(partial, fixedNow())
	if err != nil || d.Stage != StageBundle {
		t.Fatalf("partial stage 1: %+v, %v", d, err)
	}
	again, err := PlanRotation(partial, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Files) != 0 || !bytes.Equal(again.Manifest, p.Manifest) {
		t.Errorf("resumed stage 1 generated new material")
	}
	applyManifest(t, &partial, again.Manifest)
	for stage := 2; stage <= 3; stage++ {
		p, err := PlanRotation(partial, o)
		if err != nil || p.Stage != stage {
			t.Fatalf("stage %d: %+v, %v", stage, p, err)
		}
		applyManifest(t, &partial, p.Manifest)
		if err := controllerAccepts(partial); err != nil {
			t.Errorf("after stage %d: %v", stage, err)
		}
	}
}

// TestDetectAnchorStage covers stage detection from each cluster state.
func TestDetectAnchorStage(t *testing.T) {
	base := installedState(t)
	p1, err := PlanRotation(base, anchorOpts(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	after1 := base
	applyManifest(t, &after1, p1.Manifest)
	p2, err := PlanRotation(after1, anchorOpts(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	after2 := after1
	applyManifest(t, &after2, p2.Manifest)
	p3, err := PlanRotation(after2, anchorOpts(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	after3 := after2
	applyManifest(t, &after3, p3.Manifest)

	stagedOnly := base
	stagedOnly.Staged = after1.Staged
	bundleNoStaged := after1
	bundleNoStaged.Staged = nil
	badStaged := after1
	badStaged.Staged = after1.Staged.DeepCopy()
	badStaged.Staged.Data[corev1.TLSPrivateKeyKey] = cert(t, "anchor.key")
	noRoots := base
	noRoots.TrustRoots = nil
	noConfig := base
	noConfig.Config = nil
	noIssuer := base
	noIssuer.Issuer = nil
	foreignIssuer := base
	foreignIssuer.Issuer = base.Issuer.DeepCopy()
	foreignIssuer.Issuer.Data[corev1.TLSCertKey] = cert(t, "foreign-issuer.crt")
	foreignIssuer.Issuer.Data[corev1.TLSPrivateKeyKey] = cert(t, "foreign-issuer.key")
	external := base
	external.Config = base.Config.DeepCopy()
	external.Config.Data[meshapi.ConfigMapValuesKey] = strings.Replace(external.Config.Data[meshapi.ConfigMapValuesKey], "externalIssuer: false", "externalIssuer: true", 1)

	cases := []struct {
		name    string
		st      RotationState
		stage   int
		done    bool
		wantErr string
	}{
		{name: "installed", st: base, stage: 1},
		{name: "staged secret only (stage 1 applied in part)", st: stagedOnly, stage: 1},
		{name: "bundle and staged issuer", st: after1, stage: 2},
		{name: "issuer switched", st: after2, stage: 3},
		{name: "old anchor dropped", st: after3, done: true},
		{name: "bundle without staged issuer", st: bundleNoStaged, wantErr: "no issuer is staged"},
		{name: "staged key does not match", st: badStaged, wantErr: "staged issuer"},
		{name: "no trust roots", st: noRoots, wantErr: "no ConfigMap meshctl/meshctl-identity-trust-roots"},
		{name: "no meshctl-config", st: noConfig, wantErr: "meshctl is not installed"},
		{name: "no issuer", st: noIssuer, wantErr: "no Secret meshctl/meshctl-identity-issuer"},
		{name: "issuer does not chain", st: foreignIssuer, wantErr: "does not chain to the trust anchors"},
		{name: "external issuer", st: external, wantErr: "managed outside meshctl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := DetectAnchorStage(c.st, fixedNow())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %+v, %v; want error with %q", d, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Stage != c.stage || d.Done != c.done || d.Why == "" {
				t.Errorf("got %+v, want stage %d done %v", d, c.stage, c.done)
			}
		})
	}
}

// TestRotateAnchorsOutOfOrder: a forced stage that would make the
// controller refuse the issuer, or undo the rotation, is an error.
func TestRotateAnchorsOutOfOrder(t *testing.T) {
	base := installedState(t)
	p1, err := PlanRotation(base, anchorOpts(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	after1 := base
	applyManifest(t, &after1, p1.Manifest)
	staleValues := after1
	staleValues.Config = base.Config
	onlySecret := base
	onlySecret.Staged = after1.Staged

	cases := []struct {
		name    string
		st      RotationState
		stage   int
		wantErr string
	}{
		{"stage 2 before stage 1", base, 2, "no issuer is staged"},
		{"stage 2 with the staged Secret but not the bundle", onlySecret, 2, "would refuse the staged issuer"},
		{"stage 2 with meshctl-config not updated", staleValues, 2, "applied only in part"},
		{"stage 3 before stage 2", after1, 3, "apply stage 2 first"},
		{"stage 3 on a fresh install", base, 3, "no old anchor to drop"},
		{"stage 4", base, 4, "stages 1 to 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanRotation(c.st, anchorOpts(t, c.stage))
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, %v; want error with %q", p, err, c.wantErr)
			}
		})
	}
}

func TestRotateIssuer(t *testing.T) {
	st := installedState(t)
	opts := func(crt, key string, certs CertSource) RotateOptions {
		o := RotateOptions{Kind: RotateIssuer, Now: fixedNow, Certs: certs}
		if crt != "" {
			o.RootCertPEM = cert(t, crt)
		}
		if key != "" {
			o.RootKeyPEM = cert(t, key)
		}
		return o
	}
	fixedIssuer := FixedCerts{IssuerCert: cert(t, "issuer.crt"), IssuerKey: cert(t, "issuer.key")}
	t.Run("golden", func(t *testing.T) {
		p, err := PlanRotation(st, opts("anchor.crt", "anchor.key", fixedIssuer))
		if err != nil {
			t.Fatal(err)
		}
		golden.AssertYAML(t, filepath.Join("testdata", "rotate", "issuer.golden.yaml"), p.Manifest)
		golden.Assert(t, filepath.Join("testdata", "rotate", "issuer.report"), []byte(planReport(p)))
	})
	t.Run("generated", func(t *testing.T) {
		p, err := PlanRotation(st, opts("anchor.crt", "anchor.key", nil))
		if err != nil {
			t.Fatal(err)
		}
		next := st
		applyManifest(t, &next, p.Manifest)
		if err := controllerAccepts(next); err != nil {
			t.Fatal(err)
		}
		if samePEM(next.Issuer.Data[corev1.TLSCertKey], st.Issuer.Data[corev1.TLSCertKey]) {
			t.Error("the issuer did not change")
		}
		c, _ := identity.ParseCertificates(next.Issuer.Data[corev1.TLSCertKey])
		if want := fixedNow().Add(IssuerLifetime); !c[0].NotAfter.Equal(want) {
			t.Errorf("NotAfter %s, want %s", c[0].NotAfter, want)
		}
	})
	bad := []struct {
		name    string
		o       RotateOptions
		wantErr string
	}{
		{"no root files", opts("", "", nil), "--root-cert and --root-key"},
		{"root key only", opts("", "anchor.key", nil), "--root-cert and --root-key"},
		{"root is not a CA", opts("leaf.crt", "leaf.key", nil), "not a CA"},
		{"key of another root", opts("anchor.crt", "foreign-anchor.key", nil), "does not match"},
		{"root is not a trust anchor", opts("foreign-anchor.crt", "foreign-anchor.key", nil), "not one of the trust anchors"},
		{"new issuer does not chain", opts("anchor.crt", "anchor.key", FixedCerts{IssuerCert: cert(t, "foreign-issuer.crt"), IssuerKey: cert(t, "foreign-issuer.key")}), "does not chain"},
		{"new issuer expired", opts("anchor.crt", "anchor.key", FixedCerts{IssuerCert: cert(t, "issuer-expired.crt"), IssuerKey: cert(t, "issuer-expired.key")}), "expired"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			p, err := PlanRotation(st, c.o)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got %v, %v; want error with %q", p, err, c.wantErr)
			}
		})
	}
}

func TestRotationOutline(t *testing.T) {
	st := installedState(t)
	var b bytes.Buffer
	d, err := DetectAnchorStage(st, fixedNow())
	if err != nil {
		t.Fatal(err)
	}
	WriteRotationOutline(&b, RotateAnchors, &d)
	b.WriteString("---\n")
	WriteRotationOutline(&b, RotateIssuer, nil)
	golden.Assert(t, filepath.Join("testdata", "rotate", "outline.txt"), b.Bytes())
}

func TestValidateRotationManifest(t *testing.T) {
	bundle := cert(t, "anchor.crt")
	secret := func(crt, key string) string {
		s := issuerSecret(&corev1.Secret{}, "meshctl", cert(t, crt), cert(t, key))
		b, err := encodeRotation([]any{s}, cert(t, "foreign-anchor.crt"), fixedNow())
		if err == nil {
			return string(b)
		}
		y, _ := yaml.Marshal(s)
		return string(y)
	}
	cases := map[string]string{
		"not yaml":         "a: [",
		"empty":            "",
		"deployment":       "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
		"unknown field":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: meshctl-identity-trust-roots, namespace: meshctl}\nbogus: 1\n",
		"bad roots":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: meshctl-identity-trust-roots, namespace: meshctl}\ndata: {ca-bundle.crt: nope}\n",
		"issuer untrusted": secret("foreign-issuer.crt", "foreign-issuer.key"),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			if err := ValidateRotationManifest([]byte(m), bundle, fixedNow()); err == nil {
				t.Errorf("accepted %q", m)
			}
		})
	}
}

// stateWith is the installed state with another anchor and issuer.
func stateWith(t *testing.T, anchor, issuer *identity.CA) RotationState {
	t.Helper()
	st := installedState(t)
	st.TrustRoots = st.TrustRoots.DeepCopy()
	st.TrustRoots.Data[meshapi.TrustRootsKey] = string(anchor.CertPEM)
	st.Issuer = st.Issuer.DeepCopy()
	st.Issuer.Data[corev1.TLSCertKey], st.Issuer.Data[corev1.TLSPrivateKeyKey] = issuer.CertPEM, issuer.KeyPEM
	v, err := storedValues(st.Config)
	if err != nil {
		t.Fatal(err)
	}
	v.Identity.TrustAnchorsPEM = string(anchor.CertPEM)
	b, err := v.YAML()
	if err != nil {
		t.Fatal(err)
	}
	st.Config = st.Config.DeepCopy()
	st.Config.Data[meshapi.ConfigMapValuesKey] = string(b)
	return st
}

// TestRotateExpiringAnchor: an anchor close to expiry is warned about, and
// an expired one stops the staged rotation with the way out.
func TestRotateExpiringAnchor(t *testing.T) {
	anchor, err := identity.GenerateRoot(identity.GenerateOptions{Lifetime: 10 * 24 * time.Hour, Now: fixedNow()})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := anchor.IssueIntermediate(identity.GenerateOptions{Now: fixedNow()})
	if err != nil {
		t.Fatal(err)
	}
	st := stateWith(t, anchor, issuer)
	p, err := PlanRotation(st, RotateOptions{Kind: RotateAnchors, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "expires soon") {
		t.Errorf("stage 1 warnings: %q", p.Warnings)
	}
	p, err = PlanRotation(st, RotateOptions{Kind: RotateIssuer, Now: fixedNow, RootCertPEM: anchor.CertPEM, RootKeyPEM: anchor.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(p.Warnings, "\n"), "before its full lifetime") {
		t.Errorf("issuer warnings: %q", p.Warnings)
	}
	later := func() time.Time { return fixedNow().Add(11 * 24 * time.Hour) }
	if _, err := PlanRotation(st, RotateOptions{Kind: RotateAnchors, Now: later}); err == nil || !strings.Contains(err.Error(), "replace both at once") {
		t.Errorf("expired anchor: %v", err)
	}
}

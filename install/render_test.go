package install

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// goldenCases are the renders kept as testdata/<name>.golden.yaml.
func goldenCases(t testing.TB) map[string]Options {
	with := func(f func(*Options)) Options {
		o := offline(t)
		f(&o)
		return o
	}
	files := IdentityOptions{TrustAnchorsFile: certPath("anchor.crt"), IssuerCertFile: certPath("issuer.crt"), IssuerKeyFile: certPath("issuer.key")}
	return map[string]Options{
		"crds":    with(func(o *Options) { o.CRDs = true }),
		"default": offline(t),
		"ha":      with(func(o *Options) { o.HA = true }),
		"custom": with(func(o *Options) {
			o.Namespace = "mesh-system"
			o.Values.ValueFiles = []string{"testdata/custom.values.yaml"}
			o.Values.Values = []string{"controller.replicas=2", "proxy.ports.admin=4999"}
			o.Values.StringValues = []string{"proxy.opaquePorts=6379"}
			o.Overrides = []Override{{"proxy.defaultInboundPolicy", "cluster-authenticated"}, {"proxy.uid", int64(3000)}}
		}),
		"ha-overridden": with(func(o *Options) {
			o.HA = true
			o.Overrides = []Override{{"controller.replicas", 5}}
			o.Values.Values = []string{"webhook.failurePolicy=Ignore"}
		}),
		"external-issuer": with(func(o *Options) {
			o.Identity = IdentityOptions{ExternalIssuer: true, TrustAnchorsFile: certPath("anchor.crt")}
		}),
		"cert-files":    with(func(o *Options) { o.Identity = files }),
		"cert-files-ha": with(func(o *Options) { o.Identity = files; o.HA = true }),
		"anchor-bundle": with(func(o *Options) {
			o.Identity = files
			o.Identity.TrustAnchorsFile = "testdata/anchor-bundle.crt"
		}),
	}
}

func TestRenderGolden(t *testing.T) {
	for name, o := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			o.ErrOut = &errOut
			if err := Render(context.Background(), o, &out); err != nil {
				t.Fatal(err)
			}
			golden.AssertYAML(t, filepath.Join("testdata", name+".golden.yaml"), out.Bytes())
			decodeAllStrict(t, out.Bytes())
		})
	}
}

func TestRenderJSON(t *testing.T) {
	o := offline(t)
	o.Output = "json"
	var out bytes.Buffer
	if err := Render(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	golden.AssertYAML(t, "testdata/default.golden.json", out.Bytes())
	if !strings.HasPrefix(out.String(), "{") {
		t.Fatalf("json output starts with %q", out.String()[:20])
	}
}

// TestRenderDeterministic renders twice with the same inputs and wants the
// same bytes.
func TestRenderDeterministic(t *testing.T) {
	for name, o := range goldenCases(t) {
		var a, b bytes.Buffer
		if err := Render(context.Background(), o, &a); err != nil {
			t.Fatal(err)
		}
		if err := Render(context.Background(), o, &b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two renders differ", name)
		}
	}
}

// TestRenderGenerated checks a render with freshly generated certificates:
// the issuer chains to the anchor, and the report says where both are and
// when they expire.
func TestRenderGenerated(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Render(context.Background(), Options{ErrOut: &errOut}, &out); err != nil {
		t.Fatal(err)
	}
	rep := errOut.String()
	for _, want := range []string{"ConfigMap meshctl/meshctl-identity-trust-roots", "Secret meshctl/meshctl-identity-issuer", "expires"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	objs := decodeAllStrict(t, out.Bytes())
	checkIdentityChain(t, objs)
}

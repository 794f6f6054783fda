package check

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// brokenSummary runs the post-install catalogue on a cluster with a warning
// (the issuer expires in 10 days) and a fatal error (the webhook's CA bundle
// no longer matches the injector's serving certificate).
func brokenSummary(t *testing.T) Summary {
	t.Helper()
	f := newFixture(t)
	f.now = f.now.Add(355 * 24 * time.Hour)
	other, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "other", Lifetime: 2 * 365 * 24 * time.Hour, Now: f.now})
	if err != nil {
		t.Fatal(err)
	}
	f.without(meshapi.InjectorWebhookName)
	f.objects = append(f.objects, &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: meshapi.InjectorWebhookName},
		Webhooks: []admissionv1.MutatingWebhook{{Name: "proxy-injector.meshctl.io", ClientConfig: admissionv1.WebhookClientConfig{
			Service: &admissionv1.ServiceReference{Name: "meshctl-injector", Namespace: ns}, CABundle: other.CertPEM,
		}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Runner{}.Run(ctx, f.env(), Categories(ModePost))
}

func TestRenderGolden(t *testing.T) {
	sum := brokenSummary(t)
	for _, tt := range []struct {
		name  string
		short bool
	}{{"table", false}, {"short", true}} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := &TableWriter{W: &b, Glyphs: output.NewGlyphs(false), Short: tt.short}
			for _, r := range sum.Results {
				w.Observe(r)
			}
			w.Finish(sum)
			golden.Assert(t, "testdata/broken."+tt.name+".golden", b.Bytes())
		})
	}
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteJSON(&b, sum); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, "testdata/broken.json.golden", b.Bytes())
	})
}

func TestHealthyPasses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sum := Runner{}.Run(ctx, newFixture(t).env(), Categories(ModePost))
	if !sum.OK() || sum.Warnings != 0 {
		for _, r := range sum.Results {
			t.Logf("%s %s: %s", r.Code, r.Status, r.Err)
		}
		t.Fatalf("healthy cluster: %d errors, %d warnings", sum.Errors, sum.Warnings)
	}
}

// TestDocsUpToDate: docs/checks.md is generated from the catalogue.
func TestDocsUpToDate(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDocs(&b); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../docs/checks.md")
	if err != nil || !bytes.Equal(have, b.Bytes()) {
		t.Fatalf("docs/checks.md is stale: run `go run ./cmd/meshctl docs --dir docs/cli --checks-file docs/checks.md` (%v)", err)
	}
}

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// checkHint finds one check's outcome, error and hint in `meshctl check -o
// json` output.
func checkHint(t *testing.T, out, code string) (result, message, hint string) {
	t.Helper()
	var rep struct {
		Categories []struct {
			Checks []struct {
				Code   string `json:"code"`
				Result string `json:"result"`
				Error  string `json:"error"`
				Hint   string `json:"hint"`
			} `json:"checks"`
		} `json:"categories"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check -o json printed no JSON: %v\n%s", err, out)
	}
	for _, c := range rep.Categories {
		for _, k := range c.Checks {
			if k.Code == code {
				return k.Result, k.Error, k.Hint
			}
		}
	}
	return "", "", ""
}

func e2eClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// checkCatchesBadIssuer replaces the identity issuer Secret of the control
// plane in namespace ns with (a) an expired issuer and (b) an issuer of a
// foreign root, expects `meshctl check` to fail MESH303 with its hint each
// time, then restores the original Secret and expects check to pass again.
// The identity controller refuses both issuers and keeps the current one,
// so the control plane keeps working meanwhile. The original Secret is
// restored even when an assertion fails.
func checkCatchesBadIssuer(t *testing.T, ns string) {
	t.Helper()
	cs := e2eClient(t)
	secrets := cs.CoreV1().Secrets(ns)
	ctx := context.Background()
	orig, err := secrets.Get(ctx, meshapi.IssuerSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read the issuer secret: %v", err)
	}
	origData := maps.Clone(orig.Data)
	setIssuer := func(t *testing.T, crt, key []byte) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			cur, err := secrets.Get(ctx, meshapi.IssuerSecretName, metav1.GetOptions{})
			if err == nil {
				cur.Data = map[string][]byte{meshapi.TLSCertKey: crt, meshapi.TLSKeyKey: key}
				if _, err = secrets.Update(ctx, cur, metav1.UpdateOptions{}); err == nil {
					return
				}
			}
			if attempt == 5 {
				t.Fatalf("update the issuer secret: %v", err)
			}
			time.Sleep(time.Second)
		}
	}
	restore := func(t *testing.T) {
		t.Helper()
		setIssuer(t, origData[meshapi.TLSCertKey], origData[meshapi.TLSKeyKey])
	}
	t.Cleanup(func() { restore(t) })

	expectMESH303 := func(t *testing.T, want string) {
		t.Helper()
		out, errOut, code := meshctl(t, "check", "-o", "json", "--wait", "30s")
		if code != 1 {
			t.Fatalf("check exited %d, want 1:\n%s\n%s", code, out, errOut)
		}
		result, msg, hint := checkHint(t, out, "MESH303")
		if result != "error" || !strings.Contains(msg, want) || !strings.Contains(hint, "replace the issuer with one signed by the anchors") {
			t.Fatalf("MESH303 = %q %q (hint %q), want an error containing %q and the issuer hint\n%s", result, msg, hint, want, out)
		}
	}

	now := time.Now()
	t.Run("expired issuer", func(t *testing.T) {
		root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "expired-root.e2e", Lifetime: 2 * 365 * 24 * time.Hour, Now: now.Add(-400 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "identity.meshctl.cluster.local", Lifetime: 30 * 24 * time.Hour, Now: now.Add(-400 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		setIssuer(t, iss.CertPEM, iss.KeyPEM)
		expectMESH303(t, "expired")
	})

	t.Run("issuer of a foreign root", func(t *testing.T) {
		root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "foreign-root.e2e", Lifetime: 365 * 24 * time.Hour, Now: now.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "identity.meshctl.cluster.local", Lifetime: 30 * 24 * time.Hour, Now: now.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		setIssuer(t, iss.CertPEM, iss.KeyPEM)
		expectMESH303(t, "does not chain to the trust anchors")
	})

	t.Run("original issuer restored", func(t *testing.T) {
		restore(t)
		out, errOut, code := meshctl(t, "check", "--wait", "2m")
		if code != 0 {
			t.Fatalf("check after restoring the issuer exited %d:\n%s\n%s", code, out, errOut)
		}
	})
}

// checkFixRecreatesWebhook deletes the injector webhook and expects `meshctl
// check --fix --yes` to re-create it (with a fresh serving Secret and an
// injector restart) so that check passes again. It needs no manifest to
// restore from; if the fix fails, the caller's own restore still applies.
func checkFixRecreatesWebhook(t *testing.T, ns string) {
	t.Helper()
	if out, err := kubectl(t, "", "delete", "mutatingwebhookconfiguration", meshapi.InjectorWebhookName); err != nil {
		t.Fatalf("delete webhook: %v\n%s", err, out)
	}
	out, errOut, code := meshctl(t, "check", "--fix", "--dry-run", "--wait", "20s")
	if code != 1 || !strings.Contains(out, "MESH205") || !strings.Contains(out, "create MutatingWebhookConfiguration "+meshapi.InjectorWebhookName) {
		t.Fatalf("check --fix --dry-run exited %d:\n%s\n%s", code, out, errOut)
	}
	if _, err := kubectl(t, "", "get", "mutatingwebhookconfiguration", meshapi.InjectorWebhookName); err == nil {
		t.Fatal("--dry-run re-created the webhook")
	}
	out, errOut, _ = meshctl(t, "check", "--fix", "--yes", "--wait", "20s")
	if !strings.Contains(errOut, "Applied.") {
		t.Fatalf("check --fix --yes did not apply:\n%s\n%s", out, errOut)
	}
	if out, err := kubectl(t, "", "get", "mutatingwebhookconfiguration", meshapi.InjectorWebhookName); err != nil {
		t.Fatalf("webhook not re-created: %v\n%s", err, out)
	}
	_, _ = kubectl(t, "", "-n", ns, "rollout", "status", "deployment/meshctl-injector", "--timeout=2m")
	out, errOut, code = meshctl(t, "check", "--wait", "2m")
	if code != 0 {
		t.Fatalf("check after --fix exited %d:\n%s\n%s", code, out, errOut)
	}
}

//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// checkResult finds one check's outcome in `meshctl check -o json` output.
func checkResult(t *testing.T, out, code string) (result, message string) {
	t.Helper()
	var rep struct {
		Categories []struct {
			Checks []struct {
				Code   string `json:"code"`
				Result string `json:"result"`
				Error  string `json:"error"`
			} `json:"checks"`
		} `json:"categories"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check -o json printed no JSON: %v\n%s", err, out)
	}
	for _, c := range rep.Categories {
		for _, k := range c.Checks {
			if k.Code == code {
				return k.Result, k.Error
			}
		}
	}
	return "", ""
}

// checkCatchesBreakage breaks the installed mesh one way at a time and
// expects the specific check to fail with its code, then repairs it.
func checkCatchesBreakage(t *testing.T, ns, controlPlane string) {
	t.Helper()
	expect := func(t *testing.T, out string, code int, check, want string) {
		t.Helper()
		if code != 1 {
			t.Fatalf("check exited %d, want 1:\n%s", code, out)
		}
		result, msg := checkResult(t, out, check)
		if result != "error" || !strings.Contains(msg, want) {
			t.Fatalf("%s = %q %q, want error containing %q\n%s", check, result, msg, want, out)
		}
	}

	t.Run("RBAC denied to the user", func(t *testing.T) {
		out, _, code := meshctl(t, "check", "--pre", "-o", "json", "--wait", "30s", "--as", "system:serviceaccount:default:default")
		expect(t, out, code, "MESH111", "cannot create")
	})

	t.Run("webhook deleted", func(t *testing.T) {
		if out, err := kubectl(t, "", "delete", "mutatingwebhookconfiguration", "meshctl-proxy-injector"); err != nil {
			t.Fatalf("delete webhook: %v\n%s", err, out)
		}
		out, _, code := meshctl(t, "check", "-o", "json", "--wait", "20s")
		expect(t, out, code, "MESH205", "MutatingWebhookConfiguration meshctl-proxy-injector")
		if out, err := kubectl(t, controlPlane, "apply", "-f", "-"); err != nil {
			t.Fatalf("restore: %v\n%s", err, out)
		}
	})

	t.Run("controller scaled to zero", func(t *testing.T) {
		if out, err := kubectl(t, "", "-n", ns, "scale", "deployment/meshctl-identity", "--replicas=0"); err != nil {
			t.Fatalf("scale: %v\n%s", err, out)
		}
		_, _ = kubectl(t, "", "-n", ns, "wait", "--for=delete", "pod", "-l", "meshctl.io/control-plane-component=identity", "--timeout=60s")
		start := time.Now()
		out, _, code := meshctl(t, "check", "-o", "json", "--wait", "6s")
		if d := time.Since(start); d > 6*time.Second+5*time.Second {
			t.Errorf("check ran %v with --wait 6s", d)
		}
		expect(t, out, code, "MESH206", "deployment meshctl-identity has no ready pod")
		if out, err := kubectl(t, "", "-n", ns, "scale", "deployment/meshctl-identity", "--replicas=1"); err != nil {
			t.Fatalf("scale back: %v\n%s", err, out)
		}
		waitControlPlane(t, ns, 3*time.Minute)
	})

	t.Run("healthy again", func(t *testing.T) {
		out, errOut, code := meshctl(t, "check", "--wait", "2m")
		if code != 0 {
			t.Fatalf("check after repairs:\n%s\n%s", out, errOut)
		}
	})
}

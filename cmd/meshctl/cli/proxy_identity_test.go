package cli

import (
	"strings"
	"testing"
)

func TestIdentityFromEnv(t *testing.T) {
	full := map[string]string{
		envIdentityLocal:   "web.shop.serviceaccount.identity.meshctl.cluster.local",
		envIdentityAnchors: "PEM",
		envIdentityToken:   "/var/run/secrets/tokens/meshctl-identity-token",
		envIdentitySvcAddr: "meshctl-identity.meshctl.svc.cluster.local.:8080",
		envIdentitySvcName: "meshctl-identity.meshctl.serviceaccount.identity.meshctl.cluster.local",
	}
	with := func(changes map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := changes[k]; ok {
				return v
			}
			return full[k]
		}
	}
	tests := []struct {
		name         string
		env          func(string) string
		wantDisabled bool
		wantErr      string
	}{
		{"complete", with(nil), false, ""},
		{"outside a pod", with(map[string]string{envIdentityLocal: ""}), true, ""},
		{"explicitly disabled", with(map[string]string{envIdentityDisabled: "true", envIdentityAnchors: ""}), true, ""},
		{"half configured", with(map[string]string{envIdentityAnchors: "", envIdentityToken: ""}), false,
			envIdentityAnchors + ", " + envIdentityToken + " are missing; set " + envIdentityDisabled + "=true"},
		{"bad boolean", with(map[string]string{envIdentityDisabled: "maybe"}), false, envIdentityDisabled + `="maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := identityFromEnv(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || s.disabled != tt.wantDisabled {
				t.Fatalf("disabled = %v, err = %v; want disabled %v", s.disabled, err, tt.wantDisabled)
			}
		})
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"localhost.:8080": true, "localhost:8080": true, "127.0.0.1:8080": true, "[::1]:8080": true,
		"meshctl-identity.meshctl.svc.cluster.local.:8080": false, "10.0.0.1:8080": false, "garbage": false,
	} {
		if got := isLoopbackAddr(addr); got != want {
			t.Errorf("isLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestProxyRefusesHalfConfiguredIdentity(t *testing.T) {
	t.Setenv(envIdentityLocal, "web.shop.serviceaccount.identity.meshctl.cluster.local")
	r := run(t, "proxy --admin-addr 127.0.0.1:0")
	if r.code != ExitUsage || !strings.Contains(r.stderr, envIdentityAnchors) || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

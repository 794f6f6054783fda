//go:build e2e

package e2e

import (
	"encoding/json"

	"github.com/meshctl/meshctl/pkg/identity"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoIdentity is the identity of the demo's pods (the namespace's default
// ServiceAccount).
const demoIdentity = "default." + demoNamespace + ".serviceaccount.identity.meshctl.cluster.local"

// meshedPodsTalkMTLS checks, from web's own proxy metrics after
// demoTraffic, that its calls to the meshed backend (HTTP/2), quote (gRPC)
// and echo (opaque TCP) left over mTLS to the identity the destination
// controller named, and that its proxy holds a certificate in date.
func meshedPodsTalkMTLS(t *testing.T) {
	t.Helper()
	web := demoPodOf(t, "web").ip
	metrics := scrape(t, web)
	lines := func(prefix string, parts ...string) []string {
		var out []string
	next:
		for _, l := range strings.Split(metrics, "\n") {
			if !strings.HasPrefix(l, prefix) {
				continue
			}
			for _, p := range parts {
				if !strings.Contains(l, p) {
					continue next
				}
			}
			out = append(out, l)
		}
		return out
	}
	secured := `tls="true"`
	server := `server_id="` + demoIdentity + `"`
	for _, port := range []string{":8081\"", ":8082\""} {
		if got := lines("request_total{", `direction="outbound"`, port, secured, server); len(got) == 0 {
			t.Errorf("no outbound request_total over mTLS to %s; outbound series:\n%s", port, strings.Join(lines("request_total{", `direction="outbound"`), "\n"))
		}
	}
	if got := lines("tcp_open_total{", `direction="outbound"`, `peer="dst"`, secured, server); len(got) == 0 {
		t.Errorf("no outbound TCP connection over mTLS; outbound TCP series:\n%s", strings.Join(lines("tcp_open_total{", `direction="outbound"`), "\n"))
	}
	// Requests that found no endpoint (a backend not ready yet) were sent
	// nowhere; every request that was sent must have been over mTLS.
	var plaintext []string
	for _, l := range lines("request_total{", `direction="outbound"`, `tls="no_identity"`) {
		if !strings.Contains(l, `no_tls_reason="no_endpoints"`) {
			plaintext = append(plaintext, l)
		}
	}
	if got := plaintext; len(got) != 0 {
		t.Errorf("outbound requests in plaintext between meshed pods:\n%s", strings.Join(got, "\n"))
	}
	exp := lines("identity_cert_expiration_timestamp_seconds ")
	if len(exp) != 1 {
		t.Fatalf("web's proxy exports no certificate expiry")
	}
	v, err := strconv.ParseFloat(strings.Fields(exp[0])[1], 64)
	if err != nil || time.Unix(int64(v), 0).Before(time.Now().Add(time.Hour)) {
		t.Errorf("certificate expiry %q: want a time more than an hour ahead", exp[0])
	}
}

// identityShowsDemoCertificates runs `meshctl identity` as a user would:
// every demo pod's proxy shows a certificate for the demo's identity.
func identityShowsDemoCertificates(t *testing.T) {
	t.Helper()
	out, errOut, code := meshctl(t, "identity", "-n", demoNamespace, "-o", "json")
	if code != 0 {
		t.Fatalf("meshctl identity: exit %d\n%s\n%s", code, out, errOut)
	}
	var ids []struct {
		Pod      string    `json:"pod"`
		Identity string    `json:"identity"`
		NotAfter time.Time `json:"notAfter"`
		Error    string    `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &ids); err != nil {
		t.Fatalf("meshctl identity -o json: %v\n%s", err, out)
	}
	if len(ids) == 0 {
		t.Fatalf("no pods listed:\n%s", errOut)
	}
	for _, id := range ids {
		if id.Error != "" || id.Identity != demoIdentity || time.Until(id.NotAfter) < time.Hour {
			t.Errorf("pod %s: identity %q, not after %s, error %q", id.Pod, id.Identity, id.NotAfter, id.Error)
		}
	}
	table, _, _ := meshctl(t, "identity", "-n", demoNamespace)
	t.Logf("meshctl identity -n %s:\n%s", demoNamespace, table)

	pemOut, errOut, code := meshctl(t, "diagnostics", "proxy-identity", ids[0].Pod, "-n", demoNamespace)
	if code != 0 {
		t.Fatalf("diagnostics proxy-identity: exit %d\n%s", code, errOut)
	}
	chain, err := identity.ParseCertificates([]byte(pemOut))
	if err != nil || len(chain) < 2 || chain[0].DNSNames[0] != demoIdentity {
		t.Fatalf("diagnostics proxy-identity: %d certificates, %v\n%s", len(chain), err, pemOut)
	}
}

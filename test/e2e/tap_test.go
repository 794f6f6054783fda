//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/cmd/meshctl/cli"
)

// vizTapShowsLiveRequests taps web for a few seconds, with the token
// install generated, and expects the demo's requests: web's inbound
// requests from the load generator and its outbound calls, over mTLS, with
// req, rsp and end events.
func vizTapShowsLiveRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := cli.Execute(ctx, streams, []string{"viz", "tap", "deploy/web", "-n", demoNamespace, "--max-rps", "20", "-o", "json"})
	if code != 0 {
		t.Fatalf("viz tap: exit %d\n%s", code, errOut)
	}
	types := map[string]int{}
	var inboundTLS, outbound int
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var ev struct {
			Type   string `json:"type"`
			Proxy  string `json:"proxy"`
			TLS    string `json:"tls"`
			Method string `json:"method"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("viz tap -o json: a line is not JSON (%v): %q", err, sc.Text())
		}
		types[ev.Type]++
		if ev.Type == "req" && ev.Proxy == "inbound" && ev.TLS == "true" {
			inboundTLS++
		}
		if ev.Type == "req" && ev.Proxy == "outbound" {
			outbound++
		}
	}
	t.Logf("viz tap deploy/web for 8 s: %v; inbound mTLS requests %d, outbound %d", types, inboundTLS, outbound)
	if types["req"] == 0 || types["rsp"] == 0 || types["end"] == 0 {
		t.Fatalf("want req, rsp and end events, got %v:\n%s\n%s", types, out, errOut)
	}
	if inboundTLS == 0 || outbound == 0 {
		t.Fatalf("want web's inbound requests from the meshed load generator over mTLS and its outbound calls (got %d and %d):\n%s", inboundTLS, outbound, out)
	}
}

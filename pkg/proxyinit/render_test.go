package proxyinit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestDryRunGolden compares DryRun's text with testdata/<case>.golden.nft;
// run `go test ./pkg/proxyinit -run TestDryRunGolden -update` to refresh.
func TestDryRunGolden(t *testing.T) {
	gid := uint32(2103)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"skips-ipv6", Config{
			ProxyGID:            &gid,
			SkipInboundPorts:    []PortRange{{22, 22}, {9000, 9100}},
			SkipOutboundPorts:   []PortRange{{25, 25}, {8000, 8100}},
			SkipOutboundSubnets: mustSubnets(t, "10.96.0.0/12,169.254.169.254,fd00:2::/64"),
			IPv6:                true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := DryRun(tt.cfg, &buf); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden.nft")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			norm := func(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }
			if norm(want) != buf.String() {
				t.Errorf("DryRun differs from %s (run with -update to accept):\n%s", golden, buf.String())
			}
		})
	}
}

func TestDryRunRejectsBadConfig(t *testing.T) {
	var buf bytes.Buffer
	err := DryRun(Config{InboundPort: 4191}, &buf)
	if err == nil || !strings.Contains(err.Error(), "4191") {
		t.Fatalf("DryRun() = %v, want an error naming 4191", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("DryRun wrote %q despite the error", buf.String())
	}
}

// TestDryRunDedupesSkippedPorts: the injector lists the proxy's control and
// admin ports among the skipped inbound ports; they appear once.
func TestDryRunDedupesSkippedPorts(t *testing.T) {
	var buf bytes.Buffer
	cfg := Config{
		SkipInboundPorts:  []PortRange{{4190, 4190}, {4191, 4191}, {22, 22}, {22, 22}},
		SkipOutboundPorts: []PortRange{{25, 25}, {25, 25}, {20, 30}},
	}
	if err := DryRun(cfg, &buf); err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]int{
		"tcp dport 4190 return": 1, "tcp dport 4191 return": 1, "tcp dport 22 return": 1,
		"tcp dport 25 return": 1, "tcp dport 20-30 return": 1,
	} {
		if got := strings.Count(buf.String(), line); got != want {
			t.Errorf("%q appears %d times, want %d:\n%s", line, got, want, buf.String())
		}
	}
}

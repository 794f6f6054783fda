package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/bench"
)

func TestParseClosedLoop(t *testing.T) {
	tests := []struct {
		in   string
		want bench.ClosedLoop
		bad  bool
	}{
		{"64x10s", bench.ClosedLoop{Conns: 64, Duration: 10 * time.Second}, false},
		{"8x500ms", bench.ClosedLoop{Conns: 8, Duration: 500 * time.Millisecond}, false},
		{"off", bench.ClosedLoop{}, false},
		{"64", bench.ClosedLoop{}, true},
		{"0x10s", bench.ClosedLoop{}, true},
		{"64x", bench.ClosedLoop{}, true},
		{"ax10s", bench.ClosedLoop{}, true},
	}
	for _, tt := range tests {
		got, err := parseClosedLoop(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseClosedLoop(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

// TestBenchUsageErrors checks that bad flags fail before anything starts.
func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args, want string
	}{
		{"bench --scenario h3", `scenario "h3"`},
		{"bench --reference envoy", `reference "envoy"`},
		{"bench --rate 0", "--rate must be positive"},
		{"bench --duration 0s", "--duration must be positive"},
		{"bench --closed-loop fast", "--closed-loop"},
		{"bench --gate=/nonexistent/gates.yaml", "--gate"},
		{"bench splice --listen 10.1.1.1:80 --target 127.0.0.1:80", "not a loopback address"},
		{"bench splice --listen 127.0.0.1:0 --target 127.0.0.1:80 --tls both", `--tls "both"`},
		{"bench splice --listen 127.0.0.1:0 --target 127.0.0.1:80 --tls client --tls-cert /nonexistent.crt --tls-key /nonexistent.key --tls-ca /nonexistent.pem", "the server name"},
		{"bench splice --listen 127.0.0.1:0 --target 127.0.0.1:80 --tls server --tls-cert /nonexistent.crt --tls-key /nonexistent.key --tls-ca /nonexistent.pem", "floor tls"},
		{"bench splice --listen 127.0.0.1:0 --target 127.0.0.1:80 --tls-ca anchors.pem", "need --tls"},
		{"bench --mtls --rate 0", "--rate must be positive"},
		{"bench --build /tmp/meshctl", "want NAME=PATH"},
		{"bench --build before=/nonexistent/meshctl", "--build before=/nonexistent/meshctl: stat /nonexistent/meshctl"},
		{"bench --build before=" + notExecutable(t), "not an executable file"},
		{"bench --build Before=/bin/sh", `build name "Before"`},
		{"bench --build a=/bin/sh --build a=/bin/true", `"a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("code %d, stderr %q; want %d and %q", r.code, r.stderr, ExitUsage, tt.want)
			}
		})
	}
}

// notExecutable is a regular file no one may execute.
func notExecutable(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meshctl")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

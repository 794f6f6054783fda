package cli

import (
	"strings"
	"testing"
)

func TestVizInstallCLI(t *testing.T) {
	tests := []struct {
		name, args   string
		code         int
		stdout, errs string
	}{
		{"install", "viz install", 0, "kind: Deployment", ""},
		{"set", "viz install --set prometheus.retention=1d", 0, "--storage.tsdb.retention.time=1d", ""},
		{"typo", "viz install --set prometheus.retension=1d", ExitFailure, "", `unknown field "retension"`},
		{"missing values file", "viz install -f /nonexistent.yaml", ExitFailure, "", "read values file"},
		{"uninstall", "viz uninstall", 0, "kind: Namespace\nmetadata:\n  name: meshctl-viz\n", ""},
		{"args", "viz install extra", ExitUsage, "", "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.args)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.errs) {
				t.Fatalf("meshctl %s: code %d (want %d), stderr %q (want %q), stdout has %q: %v", tc.args, r.code, tc.code, r.stderr, tc.errs, tc.stdout, strings.Contains(r.stdout, tc.stdout))
			}
			if tc.code != 0 && r.stdout != "" {
				t.Errorf("stdout written on failure: %q", r.stdout)
			}
		})
	}
}

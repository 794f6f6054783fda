//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestInjectedGoldensDryRun sends every injected golden output of
// inject/testdata to the real API server with a server-side dry run: the
// sidecar inject writes must be valid Kubernetes, schema and all.
func TestInjectedGoldensDryRun(t *testing.T) {
	requireCluster(t)
	goldens, err := filepath.Glob("../../inject/testdata/*.golden.yaml")
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no goldens found: %v", err)
	}
	// Namespaced objects need their namespace to exist, even in a dry run.
	for _, ns := range []string{"shop", "batch", "data", "monitoring"} {
		if out, err := kubectl(t, "", "create", "namespace", ns); err != nil && !strings.Contains(out, "AlreadyExists") {
			t.Fatalf("create namespace %s: %v\n%s", ns, err, out)
		}
		t.Cleanup(func() { _, _ = kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	}
	for _, g := range goldens {
		t.Run(filepath.Base(g), func(t *testing.T) {
			if out, err := kubectl(t, "", "apply", "--dry-run=server", "-f", g); err != nil {
				t.Fatalf("the API server rejects the injected output: %v\n%s", err, out)
			}
		})
	}
}

//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// invalidMarker, in the header comment of an inject case, says the case is
// about an object no cluster takes (an unknown kind, a document without
// apiVersion): "# e2e: not a valid cluster object (reason)". The comment
// survives into the golden output.
const invalidMarker = "# e2e: not a valid cluster object ("

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
			data, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			if reason, ok := invalidReason(data); ok {
				if reason == "" {
					t.Fatalf("%q marker without a reason", invalidMarker)
				}
				t.Skipf("not a valid cluster object by design: %s", reason)
			}
			n, err := countObjects(data)
			if err != nil {
				t.Fatalf("golden is not YAML: %v", err)
			}
			if n == 0 {
				// inject refused the input (the error is in the .report), or
				// an empty List: kubectl has nothing to apply.
				t.Skip("no objects in the golden: inject refused the input (see the .report) or the List is empty")
			}
			if out, err := kubectl(t, "", "apply", "--dry-run=server", "-f", g); err != nil {
				t.Fatalf("the API server rejects the injected output: %v\n%s", err, out)
			}
		})
	}
}

// invalidReason finds invalidMarker in the file's header comment (the
// comment lines before its first content line) and returns its reason.
func invalidReason(data []byte) (string, bool) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line == "---":
			continue
		case strings.HasPrefix(line, invalidMarker):
			reason, _ := strings.CutSuffix(strings.TrimPrefix(line, invalidMarker), ")")
			return strings.TrimSpace(reason), true
		case strings.HasPrefix(line, "#"):
			continue
		}
		return "", false
	}
	return "", false
}

// countObjects counts the objects of a YAML stream as kubectl does: empty
// and comment-only documents are none, a List counts its items.
func countObjects(data []byte) (int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n += objects(doc)
	}
}

func objects(doc any) int {
	m, ok := doc.(map[string]any)
	if !ok || len(m) == 0 {
		return 0
	}
	if kind, _ := m["kind"].(string); strings.HasSuffix(kind, "List") {
		if items, ok := m["items"].([]any); ok {
			n := 0
			for _, it := range items {
				n += objects(it)
			}
			return n
		}
	}
	return 1
}

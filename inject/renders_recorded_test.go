//go:build fuzzonly

package inject

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// testRenderer serves the renders recorded in rendersFile. Values no seed
// asked for (a fuzzed config.meshctl.io annotation) fail the render, so
// that input is rejected rather than given a patch helm would not make.
func testRenderer(t testing.TB) sidecar.Renderer {
	renders := loadRenders(t)
	return func(_ fs.FS, chart string, partials []string, release, ns string, values map[string]any) ([]string, error) {
		key, err := renderKey(chart, partials, release, ns, values)
		if err != nil {
			return nil, err
		}
		docs, ok := renders[key]
		if !ok {
			return nil, errors.New("no recorded render for these values (" + rendersFile + ")")
		}
		return docs, nil
	}
}

// loadRenders reads rendersFile: render key to the documents rendered.
func loadRenders(t testing.TB) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(rendersFile)
	if err != nil {
		t.Fatalf("%v (go test ./inject -run TestRecordedRenders -update writes it)", err)
	}
	var m map[string][]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", rendersFile, err)
	}
	return m
}

// TestSeedsRenderFromRecording checks that every seed the fuzz target starts
// from finds its renders in rendersFile, so that fuzzing mutates injected
// output and not only rejections. hack/test.sh runs it before fuzzing.
func TestSeedsRenderFromRecording(t *testing.T) {
	runSeeds(t, testOptions(t), func(s seed, manual bool, err error) {
		if err != nil && strings.Contains(err.Error(), "no recorded render") {
			t.Errorf("%s (manual %v): %v; run go test ./inject -run TestRecordedRenders -update", s.path, manual, err)
		}
	})
}

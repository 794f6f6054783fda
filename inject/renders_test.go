package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// rendersFile holds the patch renders the fuzz target's seeds need, made by
// helm's engine (TestRecordedRenders keeps it current; -update rewrites
// it). Built with -tags fuzzonly, as hack/test.sh fuzzes, the tests render
// from it instead of linking helm: the fuzzing build instruments every
// package the test binary links, and helm with client-go's scheme doubles
// that count (533 packages against 293; 377 CPU-s against 188 to build
// cold, measured).
const rendersFile = "testdata/renders.json"

// renderKey names one render: a digest of everything a Renderer is given
// except the charts' files, which the build embeds.
func renderKey(chart string, partials []string, release, namespace string, values map[string]any) (string, error) {
	b, err := json.Marshal(struct {
		Chart, Release, Namespace string
		Partials                  []string
		Values                    map[string]any
	}{chart, release, namespace, partials, values})
	if err != nil {
		return "", fmt.Errorf("render key: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// seed is one of the fuzz target's starting inputs.
type seed struct {
	path string
	data []byte
}

// seeds reads the fuzz target's seeds: every golden input.
func seeds(t testing.TB) []seed {
	t.Helper()
	paths, err := filepath.Glob("testdata/*.input.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	out := make([]seed, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, seed{p, data})
	}
	return out
}

// runSeeds injects every seed with o in both of the fuzz target's modes
// and hands each outcome to check.
func runSeeds(t testing.TB, o Options, check func(s seed, manual bool, err error)) {
	t.Helper()
	for _, s := range seeds(t) {
		for _, manual := range []bool{false, true} {
			o.Manual = manual
			_, err := Run([]Source{{Name: filepath.Base(s.path), Data: s.data}}, o)
			check(s, manual, err)
		}
	}
}

package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

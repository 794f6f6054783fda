//go:build !fuzzonly

package inject

import (
	"encoding/json"
	"io/fs"
	"sync"
	"testing"

	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/pkg/sidecar"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// testRenderer is the renderer meshctl uses: helm's engine.
func testRenderer(testing.TB) sidecar.Renderer { return render.Contents }

// TestRecordedRenders checks that rendersFile holds what helm renders for
// every render the fuzz target's seeds ask for, in both of its modes, so
// that fuzzing with -tags fuzzonly exercises the real patch.
func TestRecordedRenders(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	record := func(fsys fs.FS, chart string, partials []string, release, ns string, values map[string]any) ([]string, error) {
		docs, err := render.Contents(fsys, chart, partials, release, ns, values)
		if err != nil {
			return nil, err
		}
		key, err := renderKey(chart, partials, release, ns, values)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		got[key] = docs
		mu.Unlock()
		return docs, nil
	}
	o := testOptions(t)
	o.Injector = sidecar.New(sidecar.Options{Version: "v0.0.0-test", Render: record})
	runSeeds(t, o, func(seed, bool, error) {}) // rejected seeds render nothing
	if len(got) == 0 {
		t.Fatal("no seed rendered a patch")
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, rendersFile, append(b, '\n'))
}

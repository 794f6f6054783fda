package cli

import (
	"bytes"
	"runtime/debug"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/inject"
)

func TestHeapLimit(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want int64
	}{
		{0, 48 << 20},
		{5 << 20, 48 << 20},
		{15 << 20, 48 << 20},
		{20 << 20, 62 << 20},
		{40 << 20, 124 << 20},
		{64 << 20, (64 << 20) * 31 / 10},
	} {
		if got := heapLimit(tc.in); got != tc.want {
			t.Errorf("heapLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestLimitHeapSetsAndRestores(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	srcs := []inject.Source{{Data: make([]byte, 30<<20)}, {Data: make([]byte, 10<<20)}}
	restore := limitHeap(srcs, func(string) string { return "" })
	if got := debug.SetMemoryLimit(-1); got != 124<<20 {
		t.Errorf("limit while transforming = %d, want %d", got, 124<<20)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after = %d, want the previous %d", got, before)
	}
}

func TestLimitHeapHonoursGOMEMLIMIT(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	srcs := []inject.Source{{Data: make([]byte, 40<<20)}}
	restore := limitHeap(srcs, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	})
	defer restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit = %d, want the user's (unchanged) %d", got, before)
	}
}

// limitWriter records the Go memory limit in force when the output is
// written.
type limitWriter struct {
	bytes.Buffer
	limit int64
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.limit == 0 {
		w.limit = debug.SetMemoryLimit(-1)
	}
	return w.Buffer.Write(p)
}

// The streamed output of `meshctl inject` is written under the limit for
// its input, and the previous limit is back afterwards.
func TestInjectStreamsUnderTheHeapLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	p := writeInput(t, injectInput)
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	out := &limitWriter{}
	streams.Out = out
	r := runWith(t, streams, &out.Buffer, errOut, "inject --ignore-cluster "+p, WithGetenv(func(string) string { return "" }))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := heapLimit(int64(len(injectInput))); out.limit != want {
		t.Errorf("limit while writing = %d, want %d", out.limit, want)
	}
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after = %d, want the previous %d", got, before)
	}
}

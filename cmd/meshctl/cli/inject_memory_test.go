package cli

import (
	"runtime/debug"
	"testing"

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

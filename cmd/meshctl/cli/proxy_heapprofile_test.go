package cli

import "testing"

func TestHeapProfileRate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pprof   bool
		current int
		want    int
	}{
		{"no endpoint, no sampling", false, 512 << 10, 0},
		{"the endpoint keeps the rate", true, 512 << 10, 512 << 10},
		{"the endpoint keeps a rate set by GODEBUG", true, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := heapProfileRate(tc.pprof, tc.current); got != tc.want {
				t.Errorf("heapProfileRate(%v, %d) = %d, want %d", tc.pprof, tc.current, got, tc.want)
			}
		})
	}
}

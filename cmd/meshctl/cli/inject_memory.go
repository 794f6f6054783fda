package cli

import (
	"runtime/debug"

	"github.com/meshctl/meshctl/inject"
)

// minHeapLimit is the smallest soft memory limit limitHeap sets: below it
// the limit would only make the collector work harder on small inputs,
// whose peak is the binary's start-up anyway.
const minHeapLimit = 48 << 20

// heapLimit returns the soft memory limit for streaming inputs of n bytes
// in all: 3.1 times their size, and at least minHeapLimit. Streaming holds
// the input, a record per resource and the documents in flight: about 1.7
// times the input at the end of a collection cycle. Under the collector's
// default goal of twice that, a 21 MB manifest peaked at 95-98 MB resident
// in 1.81-1.84 s; under this limit (62 MiB) at 76-77 MB in 1.83-1.87 s.
// At 2.75 times (55 MiB) it was 69-71 MB, but the collector's extra work
// took it to 2.03-2.11 s.
func heapLimit(n int64) int64 {
	return max(minHeapLimit, n*31/10)
}

// limitHeap sets the Go runtime's soft memory limit for transforming srcs,
// unless the user set GOMEMLIMIT, and returns the function that restores
// the previous limit. The limit is soft: were the live heap ever above it,
// the collector would spend more CPU (at most about half), never fail.
func limitHeap(srcs []inject.Source, getenv func(string) string) (restore func()) {
	if getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	var n int64
	for _, s := range srcs {
		n += int64(len(s.Data))
	}
	prev := debug.SetMemoryLimit(heapLimit(n))
	return func() { debug.SetMemoryLimit(prev) }
}

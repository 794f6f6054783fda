package h2frame

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestBodyBufferKeepsOrder: whatever the sizes of the appends and the
// reads, the bytes come out as they went in, and Len follows.
func TestBodyBufferKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s Spares
	var q BodyBuffer
	var model bytes.Buffer
	next := byte(0)
	for step := range 5000 {
		if rng.IntN(2) == 0 {
			p := make([]byte, rng.IntN(40<<10))
			for i := range p {
				p[i] = next
				next++
			}
			q.Append(&s, p)
			model.Write(p)
		} else {
			p := make([]byte, rng.IntN(20<<10)+1)
			n := q.Read(&s, p)
			want := model.Next(len(p))
			if !bytes.Equal(p[:n], want) {
				t.Fatalf("step %d: read %d bytes that differ from the %d written", step, n, len(want))
			}
		}
		if q.Len() != model.Len() {
			t.Fatalf("step %d: Len %d, want %d", step, q.Len(), model.Len())
		}
		if rng.IntN(500) == 0 {
			if n := q.Drop(&s); n != model.Len() {
				t.Fatalf("step %d: Drop returned %d, want %d", step, n, model.Len())
			}
			model.Reset()
		}
	}
}

// TestBodyBufferReusesChunks: once a connection has chunks to spare, a
// body of a few KiB, or a long one read as it arrives, allocates nothing;
// and what the connection keeps is bounded.
func TestBodyBufferReusesChunks(t *testing.T) {
	var s Spares
	small, frame := make([]byte, 1024), make([]byte, 16<<10)
	p := make([]byte, 32<<10)
	// The buffers live in their streams, on the heap; only what they
	// take and give back is counted.
	q, long := new(BodyBuffer), new(BodyBuffer)
	cycle := func() {
		q.Append(&s, small)
		for q.Len() > 0 {
			q.Read(&s, p)
		}
		for range 3 { // three frames ahead of its reader, then read
			long.Append(&s, frame)
		}
		for range 50 {
			long.Append(&s, frame)
			long.Read(&s, p[:16<<10])
		}
		long.Drop(&s)
	}
	cycle()
	if allocs := testing.AllocsPerRun(20, cycle); allocs != 0 {
		t.Errorf("%.1f allocations per cycle once warm, want 0", allocs)
	}

	var many [3 * maxSparesPerSize]BodyBuffer
	for i := range many {
		many[i].Append(&s, frame)
	}
	for i := range many {
		many[i].Drop(&s)
	}
	for i, f := range s.free {
		if len(f) > maxSparesPerSize {
			t.Errorf("%d spare chunks of %d bytes kept, at most %d", len(f), minChunk<<i, maxSparesPerSize)
		}
	}
}

package h2frame

// BodyBuffer holds the DATA a stream received until its reader takes it,
// as a queue of chunks. Chunks come from the connection's Spares and go
// back there as soon as the reader has taken them, so that a long body
// streams through a few chunks instead of growing (and copying) one slice
// for every burst, and the connection's next streams reuse them. Guarded
// by the connection's mutex, as its Spares are.
type BodyBuffer struct {
	chunks [][]byte // chunks[head:] wait for the reader
	head   int
	off    int // what the reader already took of chunks[head]
	n      int // bytes waiting
	// inline holds the queue of a body that fits a few chunks, which is
	// most, without an array of its own.
	inline [4][]byte
}

// Len is the number of bytes waiting for the reader.
func (q *BodyBuffer) Len() int { return q.n }

// Append adds received data.
func (q *BodyBuffer) Append(s *Spares, p []byte) {
	q.n += len(p)
	if last := len(q.chunks) - 1; last >= q.head {
		c := q.chunks[last]
		k := copy(c[len(c):cap(c)], p)
		q.chunks[last] = c[:len(c)+k]
		p = p[k:]
	}
	for len(p) > 0 {
		if q.chunks == nil {
			q.chunks = q.inline[:0]
		} else if q.head > 0 && len(q.chunks) == cap(q.chunks) {
			// Move the waiting chunks down rather than grow the queue.
			k := copy(q.chunks, q.chunks[q.head:])
			clear(q.chunks[k:])
			q.chunks, q.head = q.chunks[:k], 0
		}
		c := s.get(len(p))
		k := copy(c[:cap(c)], p)
		q.chunks = append(q.chunks, c[:k])
		p = p[k:]
	}
}

// Read moves waiting bytes into p and returns how many.
func (q *BodyBuffer) Read(s *Spares, p []byte) int {
	n := 0
	for n < len(p) && q.head < len(q.chunks) {
		c := q.chunks[q.head]
		k := copy(p[n:], c[q.off:])
		n += k
		q.off += k
		if q.off == len(c) {
			q.popChunk(s)
		}
	}
	q.n -= n
	return n
}

// Drop discards what is waiting (nobody will read it) and returns how
// many bytes that was, for the flow-control windows.
func (q *BodyBuffer) Drop(s *Spares) int {
	n := q.n
	for q.head < len(q.chunks) {
		q.popChunk(s)
	}
	q.n = 0
	return n
}

func (q *BodyBuffer) popChunk(s *Spares) {
	s.put(q.chunks[q.head])
	q.chunks[q.head] = nil
	q.head++
	q.off = 0
	if q.head == len(q.chunks) {
		// Empty: back to inline, or an array of its own let go.
		q.chunks, q.head = nil, 0
	}
}

const (
	// Chunks come in chunkClasses sizes, doubling from minChunk: a small
	// body takes a small chunk, and the largest is a default DATA frame.
	minChunk     = 1 << 10
	chunkClasses = 5
	// maxSparesPerSize bounds what a connection keeps once its bodies
	// are read: 4 chunks of each size, 124 KiB at most.
	maxSparesPerSize = 4
)

// Spares are a connection's chunks that no body holds, kept for its next
// bodies.
type Spares struct {
	free [chunkClasses][][]byte
}

// get returns an empty chunk for n bytes: the smallest class that holds
// them, or the largest.
func (s *Spares) get(n int) []byte {
	i := 0
	for i < chunkClasses-1 && minChunk<<i < n {
		i++
	}
	if f := s.free[i]; len(f) > 0 {
		c := f[len(f)-1]
		f[len(f)-1] = nil
		s.free[i] = f[:len(f)-1]
		return c[:0]
	}
	return make([]byte, 0, minChunk<<i)
}

func (s *Spares) put(c []byte) {
	for i := range chunkClasses {
		if cap(c) == minChunk<<i {
			if len(s.free[i]) < maxSparesPerSize {
				s.free[i] = append(s.free[i], c[:0])
			}
			return
		}
	}
}

package h2frame

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingConn records each write it is given.
type countingConn struct {
	net.Conn // nil: only Write, SetWriteDeadline and Close are called
	mu       sync.Mutex
	writes   [][]byte
	err      error
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *countingConn) SetWriteDeadline(time.Time) error { return nil }
func (c *countingConn) Close() error                     { return nil }

func (c *countingConn) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n []int
	for _, w := range c.writes {
		n = append(n, len(w))
	}
	return n
}

func TestBatchConn(t *testing.T) {
	rec := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	tests := []struct {
		name  string
		run   func(c *BatchConn)
		sizes []int
	}{
		{"outside a batch each write goes through", func(c *BatchConn) {
			_, _ = c.Write(rec(10, 'a'))
			_, _ = c.Write(rec(20, 'b'))
		}, []int{10, 20}},
		{"a batch leaves in one write", func(c *BatchConn) {
			c.BeginBatch()
			_, _ = c.Write(rec(16384, 'a'))
			_, _ = c.Write(rec(9, 'b'))
			_ = c.EndBatch()
		}, []int{16393}},
		{"nested batches leave at the outermost end", func(c *BatchConn) {
			c.BeginBatch()
			_, _ = c.Write(rec(5, 'a'))
			c.BeginBatch()
			_, _ = c.Write(rec(6, 'b'))
			_ = c.EndBatch()
			_, _ = c.Write(rec(7, 'c'))
			_ = c.EndBatch()
		}, []int{18}},
		{"past the bound what is held goes first", func(c *BatchConn) {
			c.BeginBatch()
			for range 5 {
				_, _ = c.Write(rec(16384, 'a'))
			}
			_ = c.EndBatch()
		}, []int{4 * 16384, 16384}},
		{"a write larger than the bound goes straight through, after what is held", func(c *BatchConn) {
			c.BeginBatch()
			_, _ = c.Write(rec(100, 'a'))
			_, _ = c.Write(rec(maxBatch+1, 'b'))
			_, _ = c.Write(rec(3, 'c'))
			_ = c.EndBatch()
		}, []int{100, maxBatch + 1, 3}},
		{"an empty batch writes nothing", func(c *BatchConn) {
			c.BeginBatch()
			_ = c.EndBatch()
			_ = c.EndBatch() // unbalanced: ignored
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			under := &countingConn{}
			c := NewBatchConn(under, NewBatchBuffers())
			tt.run(c)
			got := under.sizes()
			if len(got) != len(tt.sizes) {
				t.Fatalf("writes %v, want %v", got, tt.sizes)
			}
			for i := range got {
				if got[i] != tt.sizes[i] {
					t.Fatalf("writes %v, want %v", got, tt.sizes)
				}
			}
		})
	}
}

// TestBatchConnKeepsOrderAndBytes: what a batch holds is what was
// written, in order, and a buffer given back is not reused before its
// bytes left.
func TestBatchConnKeepsOrderAndBytes(t *testing.T) {
	under := &countingConn{}
	bufs := NewBatchBuffers()
	c := NewBatchConn(under, bufs)
	var want bytes.Buffer
	for i := range 3 {
		c.BeginBatch()
		for j := range 4 {
			p := bytes.Repeat([]byte{byte('a' + i*4 + j)}, 1000*(j+1))
			want.Write(p)
			_, _ = c.Write(p)
		}
		_ = c.EndBatch()
	}
	if got := bytes.Join(under.writes, nil); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("bytes differ: %d written, %d sent", len(got), want.Len())
	}
	if n := len(under.writes); n != 3 {
		t.Errorf("%d writes, want one per batch", n)
	}
}

func TestBatchConnReportsTheWriteError(t *testing.T) {
	broken := errors.New("connection reset")
	under := &countingConn{err: broken}
	c := NewBatchConn(under, NewBatchBuffers())
	c.BeginBatch()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatalf("a held write failed: %v", err)
	}
	if err := c.EndBatch(); !errors.Is(err, broken) {
		t.Fatalf("EndBatch() = %v, want the connection's error", err)
	}
}

// namedConn wraps a connection and names it, as tls.Conn does.
type namedConn struct{ net.Conn }

func (c namedConn) NetConn() net.Conn { return c.Conn }

func TestFindBatcher(t *testing.T) {
	bc := NewBatchConn(&countingConn{}, NewBatchBuffers())
	if findBatcher(namedConn{namedConn{bc}}) != bc {
		t.Error("no batcher found under two named connections")
	}
	if findBatcher(namedConn{&countingConn{}}) != nil {
		t.Error("a batcher found where there is none")
	}
}

// TestWriterBatchesItsFlushes: a Writer over a BatchConn sends what one
// Write or WriteUnflushed call writes to the connection in one write.
func TestWriterBatchesItsFlushes(t *testing.T) {
	under := &countingConn{}
	w := NewWriter(namedConn{NewBatchConn(under, NewBatchBuffers())}, strings.NewReader(""), time.Second)
	data := bytes.Repeat([]byte{'x'}, 16384)
	if err := w.Write(func() error {
		if err := w.Framer.WriteData(1, false, data); err != nil {
			return err
		}
		return w.Framer.WriteData(1, false, data)
	}); err != nil {
		t.Fatal(err)
	}
	if got := under.sizes(); len(got) != 1 || got[0] != 2*(9+16384) {
		t.Fatalf("Write: writes %v, want one of %d bytes", got, 2*(9+16384))
	}
	if err := w.WriteUnflushed(func() error {
		for range 3 {
			if err := w.Framer.WriteData(1, false, data); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Each frame, larger than the empty buffer, went past it to the
	// connection (under TLS: a full record and a 9-byte one); the three
	// left in one write.
	if got := under.sizes(); len(got) != 2 || got[1] != 3*(9+16384) {
		t.Fatalf("WriteUnflushed: writes %v, want a second write of %d bytes", got, 3*(9+16384))
	}
}

package h2frame

import (
	"net"
	"sync"
)

// maxBatch bounds what a BatchConn holds before it writes: four TLS
// records of the largest size.
const maxBatch = 64 << 10

// BatchConn is the connection under a TLS session, holding the records
// the session writes during a batch (BeginBatch to EndBatch) and writing
// them to the connection at once. crypto/tls writes each record with a
// write of its own: a long body, 16 KiB a record, went out in one system
// call per record, and a DATA frame one byte longer than a record's
// payload in two. Outside a batch, writes go straight through.
type BatchConn struct {
	net.Conn
	bufs  *BatchBuffers
	mu    sync.Mutex
	depth int
	buf   *[]byte // from bufs while a batch holds bytes
}

// BatchBuffers lend the BatchConns of a proxy their buffers for the
// length of a batch, so that an idle connection holds none.
type BatchBuffers struct{ pool sync.Pool }

// NewBatchBuffers returns an empty set of batch buffers. A buffer starts
// at one record's size (most batches are a response's head and a short
// body) and grows, up to maxBatch, with the batches that need more.
func NewBatchBuffers() *BatchBuffers {
	return &BatchBuffers{pool: sync.Pool{New: func() any {
		b := make([]byte, 0, 16<<10)
		return &b
	}}}
}

// NewBatchConn returns c with batches, borrowing from bufs.
func NewBatchConn(c net.Conn, bufs *BatchBuffers) *BatchConn {
	return &BatchConn{Conn: c, bufs: bufs}
}

// NetConn is the connection underneath.
func (c *BatchConn) NetConn() net.Conn { return c.Conn }

// BeginBatch starts holding writes (batches nest).
func (c *BatchConn) BeginBatch() {
	c.mu.Lock()
	c.depth++
	c.mu.Unlock()
}

// EndBatch ends a batch and, ending the outermost, writes what it held.
// Its error is a write error of the connection: the records it held were
// reported written.
func (c *BatchConn) EndBatch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.depth > 0 {
		c.depth--
	}
	if c.depth > 0 {
		return nil
	}
	return c.flushLocked()
}

// Write writes p, or holds a copy of it during a batch. A write that
// would take the held bytes past maxBatch writes them first. The lock is
// held across the write: the TLS session serializes its records anyway,
// and what it writes outside a batch must not overtake what a batch holds.
func (c *BatchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.depth == 0 {
		return c.Conn.Write(p)
	}
	if c.buf != nil && len(*c.buf)+len(p) > maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > maxBatch {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = c.bufs.pool.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// flushLocked writes what the batch holds and gives its buffer back.
func (c *BatchConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	c.bufs.pool.Put(c.buf)
	c.buf = nil
	return err
}

// CloseWrite half-closes the connection underneath, when it can.
func (c *BatchConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// batcher is what the Writer finds under its connection to batch a
// flush's records.
type batcher interface {
	BeginBatch()
	EndBatch() error
}

// findBatcher looks for a BatchConn under nc, through the connections
// that name the one they wrap (NetConn, as tls.Conn does); nil when none.
func findBatcher(nc net.Conn) batcher {
	for range 8 {
		if b, ok := nc.(batcher); ok {
			return b
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
	}
	return nil
}

// Package h2frame is the write side of an HTTP/2 connection that many
// goroutines write to, shared by the proxy's HTTP/2 server (h2server) and
// client (h2client): frames go into one buffer under one lock, and the
// last of the writers waiting to flush flushes for all, so that frames
// written together leave in one system call. It also keeps the two's
// receive windows (Inflow), which decide when credit is granted back.
package h2frame

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ErrNotWritten, wrapped in the error a write function returns, says the
// function wrote nothing: the connection stays usable.
var ErrNotWritten = errors.New("h2frame: nothing written")

// Writer writes frames to a connection. Framer reads too: its reading
// side belongs to the connection's read loop, its writing side to whoever
// holds the Writer's lock (inside Write and WriteUnflushed).
type Writer struct {
	Framer *http2.Framer
	// PeerMaxFrame is the peer's SETTINGS_MAX_FRAME_SIZE (16 KiB until
	// it says otherwise); header blocks are cut to it.
	PeerMaxFrame atomic.Uint32

	nc       net.Conn
	batch    batcher // nil: no BatchConn under nc
	mu       sync.Mutex
	bw       *bufio.Writer
	henc     *hpack.Encoder
	hbuf     bytes.Buffer
	flushers atomic.Int32
	err      error
}

// NewWriter returns the writer of nc, whose Framer reads from r; every
// write to nc gets timeout as its deadline.
func NewWriter(nc net.Conn, r io.Reader, timeout time.Duration) *Writer {
	w := &Writer{nc: nc, batch: findBatcher(nc)}
	w.bw = bufio.NewWriterSize(deadlineWriter{nc, timeout}, 16<<10)
	w.Framer = http2.NewFramer(w.bw, r)
	w.henc = hpack.NewEncoder(&w.hbuf)
	w.PeerMaxFrame.Store(16 << 10)
	return w
}

// deadlineWriter gives every write to the connection its own deadline, so
// that the buffer's own flushes are bounded too.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	_ = w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.nc.Write(p)
}

// Write runs write under the lock, then flushes, unless another writer
// waits to write and will flush after it. A write error breaks the
// writer (every later write returns it) and closes the connection, which
// ends its read loop; an error wrapping ErrNotWritten does neither.
//
// Under TLS with a BatchConn beneath, the records the lock's holder
// writes (the buffer's flushes as it fills, then the last) leave in one
// system call, up to maxBatch.
func (w *Writer) Write(write func() error) error {
	w.flushers.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.beginBatch()
	err := w.err
	if err == nil {
		err = write()
		w.fail(err)
	}
	// The last writer flushes for those that left it to them, even when
	// its own function wrote nothing.
	if w.flushers.Add(-1) == 0 && w.err == nil && w.bw.Buffered() > 0 {
		if ferr := w.bw.Flush(); ferr != nil {
			w.fail(ferr)
			err = ferr
		}
	}
	return w.endBatch(err)
}

// WriteUnflushed runs write under the lock; its frames leave with the
// next flush, or when the buffer fills.
func (w *Writer) WriteUnflushed(write func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.beginBatch()
	err := write()
	w.fail(err)
	return w.endBatch(err)
}

// beginBatch starts holding the TLS records written under the lock, when
// a BatchConn is beneath; the lock is held.
func (w *Writer) beginBatch() {
	if w.batch != nil {
		w.batch.BeginBatch()
	}
}

// endBatch writes what the batch held. Its write error breaks the writer
// and is returned in place of err; the lock is held.
func (w *Writer) endBatch(err error) error {
	if w.batch != nil {
		if berr := w.batch.EndBatch(); berr != nil && w.err == nil {
			w.fail(berr)
			return berr
		}
	}
	return err
}

// fail breaks the writer on a write error; the lock is held.
func (w *Writer) fail(err error) {
	if err != nil && w.err == nil && !errors.Is(err, ErrNotWritten) {
		w.err = err
		_ = w.nc.Close()
	}
}

// Err is the error that broke the writer, if any; the lock is held (call
// it from a write function).
func (w *Writer) Err() error { return w.err }

// WriteBytes writes p as it is (the client preface); the lock is held.
func (w *Writer) WriteBytes(p []byte) error {
	_, err := w.bw.Write(p)
	return err
}

// Encode adds a field to the header block being built; the lock is held.
func (w *Writer) Encode(name, value string) {
	_ = w.henc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// ResetBlock starts a new header block; the lock is held.
func (w *Writer) ResetBlock() { w.hbuf.Reset() }

// SetMaxDynamicTableSize applies the peer's SETTINGS_HEADER_TABLE_SIZE;
// the lock is held.
func (w *Writer) SetMaxDynamicTableSize(v uint32) { w.henc.SetMaxDynamicTableSizeLimit(v) }

// WriteBlock writes the header block built since ResetBlock as a HEADERS
// frame and, past the peer's frame size, CONTINUATION frames; the lock is
// held.
func (w *Writer) WriteBlock(id uint32, endStream bool) error {
	block := w.hbuf.Bytes()
	maxFrame := int(w.PeerMaxFrame.Load())
	first := block[:min(len(block), maxFrame)]
	block = block[len(first):]
	if err := w.Framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(block) == 0}); err != nil {
		return err
	}
	for len(block) > 0 {
		frag := block[:min(len(block), maxFrame)]
		block = block[len(frag):]
		if err := w.Framer.WriteContinuation(id, len(block) == 0, frag); err != nil {
			return err
		}
	}
	return nil
}

// WriteWindowUpdates grants the peer conn more bytes on the connection
// and stream more on stream id (a zero grant is not sent), then flushes.
func (w *Writer) WriteWindowUpdates(conn, id, stream uint32) error {
	if conn == 0 && stream == 0 {
		return nil
	}
	return w.Write(func() error {
		if conn > 0 {
			if err := w.Framer.WriteWindowUpdate(0, conn); err != nil {
				return err
			}
		}
		if stream > 0 {
			return w.Framer.WriteWindowUpdate(id, stream)
		}
		return nil
	})
}

// AckSettings acknowledges the peer's SETTINGS: the header table size it
// set (when haveTableSize) applies to the next header block, and apply
// runs, under the lock, once the ACK is written. What apply opens (send
// windows) therefore never lets a DATA frame overtake the ACK: a peer may
// take what comes before it as sent under the old settings (h2spec does).
func (w *Writer) AckSettings(tableSize uint32, haveTableSize bool, apply func()) error {
	return w.Write(func() error {
		if haveTableSize {
			w.SetMaxDynamicTableSize(tableSize)
		}
		if err := w.Framer.WriteSettingsAck(); err != nil {
			return err
		}
		apply()
		return nil
	})
}

// ConnectionSpecific reports the fields HTTP/2 does not carry (RFC 9113
// section 8.2.2), by their http.Header key.
func ConnectionSpecific(key string) bool {
	switch key {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

package h2frame

import (
	"iter"

	"golang.org/x/net/http2"
)

// maxWindow is the largest a flow-control window may grow (RFC 9113
// section 6.9.1).
const maxWindow = 1<<31 - 1

// Outflow is one send flow-control window, a connection's or a stream's:
// what the peer lets this side send. It may go negative when the peer
// lowers its initial window under data already sent. Its owner serialises
// access.
type Outflow struct{ avail int64 }

// Init sets the window to n bytes.
func (f *Outflow) Init(n int64) { f.avail = n }

// CanAdd reports whether n more bytes (a WINDOW_UPDATE's increment, or a
// change of the initial window, which may be negative) keep the window
// within its maximum.
func (f *Outflow) CanAdd(n int64) bool { return f.avail+n <= maxWindow }

// Add widens the window by n bytes. It reports false, and changes
// nothing, when that would take the window past its maximum: a
// flow-control error.
func (f *Outflow) Add(n int64) bool {
	if !f.CanAdd(n) {
		return false
	}
	f.avail += n
	return true
}

// Reserve takes up to want bytes, no more than one frame of maxFrame,
// from both the connection's window and the stream's, and returns how many
// it took: zero when either window is closed.
func Reserve(conn, stream *Outflow, want, maxFrame int64) int64 {
	n := min(want, conn.avail, stream.avail, maxFrame)
	if n <= 0 {
		return 0
	}
	conn.avail -= n
	stream.avail -= n
	return n
}

// ApplyWindowUpdate applies a WINDOW_UPDATE's increment to the
// connection's window (stream 0) or to the stream's (stream is nil when
// that stream is no longer open, and the update is then ignored). It
// returns the flow-control error to answer with, nil otherwise.
func ApplyWindowUpdate(f *http2.WindowUpdateFrame, conn, stream *Outflow) error {
	switch {
	case f.StreamID == 0:
		if !conn.Add(int64(f.Increment)) {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	case stream != nil:
		if !stream.Add(int64(f.Increment)) {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
		}
	}
	return nil
}

// InitialWindow is the send window the peer's
// SETTINGS_INITIAL_WINDOW_SIZE gives each stream. A change moves the open
// streams' windows by as much, so it is checked when the SETTINGS frame
// arrives and applied once it is acknowledged (RFC 9113 section 6.9.2).
type InitialWindow struct{ v int64 }

// Init sets the window before any setting.
func (w *InitialWindow) Init(v int64) { w.v = v }

// Size is the window a new stream starts with.
func (w *InitialWindow) Size() int64 { return w.v }

// Check returns the flow-control error a change to v would cause by
// taking one of the open streams' windows past the maximum.
func (w *InitialWindow) Check(v int64, open iter.Seq[*Outflow]) error {
	for f := range open {
		if !f.CanAdd(v - w.v) {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	}
	return nil
}

// Apply changes the window to v, moving the open streams' windows by the
// difference (checked by Check before).
func (w *InitialWindow) Apply(v int64, open iter.Seq[*Outflow]) {
	for f := range open {
		f.avail += v - w.v
	}
	w.v = v
}

// Windows yields the send window of each of a connection's open streams,
// as window finds it in the stream.
func Windows[S any](open map[uint32]S, window func(S) *Outflow) iter.Seq[*Outflow] {
	return func(yield func(*Outflow) bool) {
		for _, s := range open {
			if !yield(window(s)) {
				return
			}
		}
	}
}

package h2frame

// Inflow is one receive flow-control window, a connection's or a
// stream's: what the peer may still send, and what was consumed (read out
// or dropped) but not yet granted back. Credit goes back in batches of a
// quarter of the window rather than per frame, because each grant is a
// WINDOW_UPDATE written to the peer. Its owner serialises access.
type Inflow struct {
	avail  int64 // what the peer may still send
	credit int64 // consumed, not yet granted back
	batch  int64 // the credit worth a grant
}

// Init opens the window at avail bytes; size is the window this side
// keeps open once started, whose quarter is the batch granted back.
func (f *Inflow) Init(avail, size int64) {
	*f = Inflow{avail: avail, batch: size / 4}
}

// Open widens the window by n bytes granted outside Grant (the
// connection's first WINDOW_UPDATE, sent with the settings).
func (f *Inflow) Open(n int64) { f.avail += n }

// Take accounts for n bytes received, padding included. It reports false,
// and takes nothing, when the peer sent more than the window allowed: a
// flow-control error.
func (f *Inflow) Take(n int64) bool {
	if n > f.avail {
		return false
	}
	f.avail -= n
	return true
}

// TakeStreamData accounts a DATA frame of n bytes (padding included)
// carrying data bytes of data, already taken from the connection's window,
// in its stream's window. Padding is nobody's to read, so it is consumed
// at once. It reports false when the frame exceeds the stream's window (a
// stream flow-control error); the frame is then consumed on the
// connection, whose window it did not exceed.
func TakeStreamData(conn, stream *Inflow, n, data int64) bool {
	if !stream.Take(n) {
		conn.Consumed(n)
		return false
	}
	conn.Consumed(n - data)
	stream.Consumed(n - data)
	return true
}

// Consumed marks n received bytes as consumed: read by their reader, or
// dropped because nobody will read them.
func (f *Inflow) Consumed(n int64) { f.credit += n }

// Grant returns the credit to grant the peer now, zero until a batch has
// built up, and reopens the window by as much.
func (f *Inflow) Grant() uint32 {
	if f.credit < f.batch || f.credit == 0 {
		return 0
	}
	g := f.credit
	f.credit = 0
	f.avail += g
	return uint32(g)
}

package h2client

import (
	"bufio"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	// initialWindow is the protocol's window before any setting.
	initialWindow = 65535
	// maxStreamID is the largest stream identifier (31 bits).
	maxStreamID = 1<<31 - 1
	// streamWindow and connWindow are what the client grants the server
	// for response bodies not yet read: per stream, and over all.
	streamWindow = 4 << 20
	connWindow   = 16 << 20
	// defaultMaxStreams is assumed until the server's SETTINGS say.
	defaultMaxStreams = 100
	writeTimeout      = 30 * time.Second
)

var (
	errConnClosed  = errors.New("h2client: connection closed")
	errStreamReset = errors.New("h2client: stream reset by the server")
)

// clientConn is one connection to a server. Its read loop (readLoop) acts
// on every frame under mu; requests write their frames under wmu. Lock
// order: wmu before mu.
type clientConn struct {
	t    *Transport
	addr string
	nc   net.Conn
	br   *bufio.Reader
	fr   *http2.Framer

	// w is the write side (its lock is "wmu" in comments).
	w        *h2frame.Writer
	lastRead atomic.Int64 // unix nanoseconds of the last frame read

	mu            sync.Mutex
	flow          sync.Cond
	streams       map[uint32]*clientStream
	nextID        uint32
	reserved      int // streams promised to callers, not yet opened
	maxStreams    uint32
	outflow       h2frame.Outflow
	initialWindow h2frame.InitialWindow
	inflow        h2frame.Inflow
	spares        h2frame.Spares // response bodies' buffers
	goingAway     bool
	goAwayLast    uint32
	closed        bool
	closeErr      error
	idleSince     time.Time
	pingSent      bool
	canon         map[string]string // read loop only
	timer         *time.Timer       // keep-alive and idle checks
}

func newClientConn(t *Transport, addr string, nc net.Conn) (*clientConn, error) {
	cc := &clientConn{
		t:          t,
		addr:       addr,
		nc:         nc,
		streams:    map[uint32]*clientStream{},
		nextID:     1,
		maxStreams: defaultMaxStreams,
		idleSince:  time.Now(),
		canon:      map[string]string{},
	}
	cc.inflow.Init(connWindow, connWindow)
	cc.outflow.Init(initialWindow)
	cc.initialWindow.Init(initialWindow)
	cc.flow.L = &cc.mu
	cc.lastRead.Store(time.Now().UnixNano())
	cc.br = bufio.NewReaderSize(nc, 16<<10)
	cc.w = h2frame.NewWriter(nc, cc.br, writeTimeout)
	cc.fr = cc.w.Framer
	cc.fr.SetReuseFrames()
	cc.fr.SetMaxReadFrameSize(1 << 20)
	maxList := t.MaxHeaderListSize
	if maxList == 0 {
		maxList = 64 << 10
	}
	cc.fr.MaxHeaderListSize = maxList
	cc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	cc.fr.ReadMetaHeaders.SetMaxStringLength(int(maxList))
	err := cc.writeFrames(func() error {
		if err := cc.w.WriteBytes([]byte(clientPreface)); err != nil {
			return err
		}
		if err := cc.fr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
			http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: maxList},
		); err != nil {
			return err
		}
		return cc.fr.WriteWindowUpdate(0, connWindow-initialWindow)
	})
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("h2client: start the connection to %s: %w", addr, err)
	}
	cc.timer = time.AfterFunc(cc.checkEvery(), cc.check)
	go cc.readLoop()
	return cc, nil
}

// reserveStream promises the caller a stream on cc, if it has one free.
func (cc *clientConn) reserveStream() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed || cc.goingAway || uint32(len(cc.streams)+cc.reserved) >= cc.maxStreams || cc.nextID > maxStreamID-2 {
		return false
	}
	cc.reserved++
	return true
}

func (cc *clientConn) idle() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return len(cc.streams) == 0 && cc.reserved == 0
}

// writeFrames runs write under the write lock, then flushes (unless
// another writer waiting will).
func (cc *clientConn) writeFrames(write func() error) error { return cc.w.Write(write) }

// close ends the connection: every stream fails with err.
func (cc *clientConn) close(err error) {
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return
	}
	cc.closed = true
	cc.closeErr = err
	for _, cs := range cc.streams {
		cs.failLocked(err)
	}
	cc.flow.Broadcast()
	cc.mu.Unlock()
	if cc.timer != nil {
		cc.timer.Stop()
	}
	_ = cc.nc.Close()
	cc.t.forget(cc)
}

// checkEvery is how often the keep-alive and idle checks run.
func (cc *clientConn) checkEvery() time.Duration {
	return min(orDefault(cc.t.ReadIdleTimeout, 30*time.Second), orDefault(cc.t.IdleConnTimeout, 90*time.Second)) / 2
}

// check closes an idle connection, pings a silent one, and closes one
// whose ping went unanswered.
func (cc *clientConn) check() {
	now := time.Now()
	silent := now.Sub(time.Unix(0, cc.lastRead.Load()))
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return
	}
	idle := len(cc.streams) == 0 && cc.reserved == 0 && now.Sub(cc.idleSince) >= orDefault(cc.t.IdleConnTimeout, 90*time.Second)
	unanswered := cc.pingSent && silent >= orDefault(cc.t.PingTimeout, 10*time.Second)
	ping := !cc.pingSent && silent >= orDefault(cc.t.ReadIdleTimeout, 30*time.Second)
	if ping {
		cc.pingSent = true
	}
	cc.mu.Unlock()
	switch {
	case idle:
		cc.close(errors.New("h2client: idle connection closed"))
		return
	case unanswered:
		cc.close(errors.New("h2client: the server did not answer a ping"))
		return
	case ping:
		_ = cc.writeFrames(func() error { return cc.fr.WritePing(false, [8]byte{'m', 'e', 's', 'h'}) })
	}
	next := cc.checkEvery()
	if cc.pingSent {
		next = min(next, orDefault(cc.t.PingTimeout, 10*time.Second))
	}
	cc.timer.Reset(next)
}

// readLoop reads and acts on the server's frames until the connection
// ends.
func (cc *clientConn) readLoop() {
	err := cc.readFrames()
	cc.t.log("http2 connection ended", "addr", cc.addr, "error", err)
	cc.close(fmt.Errorf("%w: %w", errConnClosed, err))
}

func (cc *clientConn) readFrames() error {
	for {
		f, err := cc.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				cc.resetStream(se.StreamID, se.Code, errStreamReset)
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				cc.goAway(http2.ErrCode(ce))
			}
			return err
		}
		cc.lastRead.Store(time.Now().UnixNano())
		if err := cc.process(f); err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				cc.resetStream(se.StreamID, se.Code, fmt.Errorf("%w: %w", errStreamReset, err))
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				cc.goAway(http2.ErrCode(ce))
			}
			return err
		}
	}
}

func (cc *clientConn) goAway(code http2.ErrCode) {
	_ = cc.writeFrames(func() error { return cc.fr.WriteGoAway(0, code, nil) })
}

func (cc *clientConn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return cc.processHeaders(f)
	case *http2.DataFrame:
		return cc.processData(f)
	case *http2.SettingsFrame:
		return cc.processSettings(f)
	case *http2.WindowUpdateFrame:
		return cc.processWindowUpdate(f)
	case *http2.RSTStreamFrame:
		err := fmt.Errorf("%w (%v)", errStreamReset, f.ErrCode)
		if f.ErrCode == http2.ErrCodeRefusedStream {
			err = fmt.Errorf("%w: stream refused", errUnprocessed)
		}
		cc.mu.Lock()
		if cs := cc.streams[f.StreamID]; cs != nil {
			if f.ErrCode == http2.ErrCodeNo && cs.gotFinal {
				// The response is whole: the server asks the rest of the
				// request not to be sent (RFC 9113 section 8.1).
				cs.stopBodyLocked()
			} else {
				cs.failLocked(err)
			}
		}
		cc.mu.Unlock()
		return nil
	case *http2.PingFrame:
		if f.IsAck() {
			cc.mu.Lock()
			cc.pingSent = false
			cc.mu.Unlock()
			return nil
		}
		return cc.writeFrames(func() error { return cc.fr.WritePing(true, f.Data) })
	case *http2.GoAwayFrame:
		cc.mu.Lock()
		cc.goingAway = true
		cc.goAwayLast = f.LastStreamID
		for id, cs := range cc.streams {
			if id > f.LastStreamID {
				cs.failLocked(fmt.Errorf("%w: above the server's GOAWAY", errUnprocessed))
			}
		}
		done := len(cc.streams) == 0
		cc.mu.Unlock()
		cc.t.forget(cc)
		if done {
			return errors.New("h2client: server going away")
		}
		return nil
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // push is off
	}
	return nil
}

func (cc *clientConn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	tableSize, haveTableSize := uint32(0), false
	window := int64(-1)
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingMaxConcurrentStreams:
			cc.mu.Lock()
			cc.maxStreams = s.Val
			cc.mu.Unlock()
		case http2.SettingInitialWindowSize:
			window = int64(s.Val)
		case http2.SettingMaxFrameSize:
			cc.w.PeerMaxFrame.Store(s.Val)
		case http2.SettingHeaderTableSize:
			tableSize, haveTableSize = s.Val, true
		}
		return nil
	})
	if err == nil && window >= 0 {
		cc.mu.Lock()
		err = cc.initialWindow.Check(window, cc.sendWindowsLocked())
		cc.mu.Unlock()
	}
	if err != nil {
		return err
	}
	return cc.w.AckSettings(tableSize, haveTableSize, func() {
		if window < 0 {
			return
		}
		cc.mu.Lock()
		cc.initialWindow.Apply(window, cc.sendWindowsLocked())
		cc.flow.Broadcast()
		cc.mu.Unlock()
	})
}

func (cc *clientConn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var stream *h2frame.Outflow
	if cs := cc.streams[f.StreamID]; cs != nil {
		stream = &cs.outflow
	}
	if err := h2frame.ApplyWindowUpdate(f, &cc.outflow, stream); err != nil {
		return err
	}
	cc.flow.Broadcast()
	return nil
}

// processHeaders takes a response head (1xx or final) or trailers.
func (cc *clientConn) processHeaders(f *http2.MetaHeadersFrame) error {
	cc.mu.Lock()
	cs := cc.streams[f.StreamID]
	cc.mu.Unlock()
	if cs == nil {
		if f.StreamID%2 == 0 || f.StreamID >= cc.peekNextID() {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		return nil // a stream this side already ended
	}
	if cs.gotFinalUnlocked() {
		return cc.processTrailers(cs, f)
	}
	status := f.PseudoValue("status")
	code, err := strconv.Atoi(status)
	if err != nil || len(status) != 3 || code < 100 {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
	}
	if f.Truncated {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
	}
	regular := f.RegularFields()
	header := make(http.Header, len(regular))
	values := make([]string, len(regular))
	for i, hf := range regular {
		key := cc.canonical(hf.Name)
		if vv, ok := header[key]; ok {
			header[key] = append(vv, hf.Value)
			continue
		}
		values[i] = hf.Value
		header[key] = values[i : i+1 : i+1]
	}
	if code < 200 {
		if f.StreamEnded() {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return cs.informational(code, header)
	}
	return cs.final(code, header, f.StreamEnded())
}

func (cc *clientConn) peekNextID() uint32 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.nextID
}

// canonical is the http.Header key of a received field name (read loop
// only), cached for the connection.
func (cc *clientConn) canonical(name string) string {
	if k, ok := cc.canon[name]; ok {
		return k
	}
	k := http.CanonicalHeaderKey(name)
	if len(cc.canon) < 256 {
		cc.canon[name] = k
	}
	return k
}

func (cc *clientConn) processTrailers(cs *clientStream, f *http2.MetaHeadersFrame) error {
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
	}
	trailer := http.Header{}
	for _, hf := range f.RegularFields() {
		key := cc.canonical(hf.Name)
		trailer[key] = append(trailer[key], hf.Value)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cs.trailer = trailer
	cs.endResponseLocked()
	return nil
}

func (cc *clientConn) processData(f *http2.DataFrame) error {
	n := int64(f.Header().Length)
	data := f.Data()
	cc.mu.Lock()
	if !cc.inflow.Take(n) {
		cc.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	cs := cc.streams[f.StreamID]
	if cs == nil || !cs.gotFinal || cs.respEnded || cs.err != nil {
		cc.inflow.Consumed(n)
		grant := cc.takeConnGrantLocked()
		var err error
		if cs != nil && !cs.gotFinal {
			err = http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		cc.mu.Unlock()
		cc.sendGrants(grant, 0, 0)
		return err
	}
	if !h2frame.TakeStreamData(&cc.inflow, &cs.inflow, n, int64(len(data))) {
		grant := cc.takeConnGrantLocked()
		cc.mu.Unlock()
		cc.sendGrants(grant, 0, 0)
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	if len(data) > 0 {
		if cs.bodyClosed {
			cc.inflow.Consumed(int64(len(data)))
		} else {
			cs.buf.Append(&cc.spares, data)
			cs.cond.Broadcast()
		}
	}
	if f.StreamEnded() {
		cs.endResponseLocked()
	}
	grant := cc.takeConnGrantLocked()
	sid, sgrant := cs.takeGrantLocked()
	cc.mu.Unlock()
	cc.sendGrants(grant, sid, sgrant)
	return nil
}

func (cc *clientConn) takeConnGrantLocked() uint32 {
	if cc.closed {
		return 0
	}
	return cc.inflow.Grant()
}

func (cc *clientConn) sendGrants(conn, id, stream uint32) {
	_ = cc.w.WriteWindowUpdates(conn, id, stream)
}

// resetStream sends RST_STREAM for id and fails the stream with err.
func (cc *clientConn) resetStream(id uint32, code http2.ErrCode, err error) {
	cc.mu.Lock()
	if cs := cc.streams[id]; cs != nil {
		cs.failLocked(err)
	}
	cc.mu.Unlock()
	_ = cc.writeFrames(func() error { return cc.fr.WriteRSTStream(id, code) })
}

// sendWindowsLocked yields the open streams' send windows.
func (cc *clientConn) sendWindowsLocked() iter.Seq[*h2frame.Outflow] {
	return h2frame.Windows(cc.streams, func(cs *clientStream) *h2frame.Outflow { return &cs.outflow })
}

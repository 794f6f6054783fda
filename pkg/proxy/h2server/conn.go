package h2server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// clientPreface is what every HTTP/2 connection starts with (RFC 9113
// section 3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// initialWindow is the protocol's initial flow-control window, before any
// setting or WINDOW_UPDATE (RFC 9113 section 6.9.2).
const initialWindow = 65535

var (
	errConnClosed  = errors.New("h2server: connection closed")
	errClientReset = errors.New("h2server: client reset the stream")
	errStreamReset = errors.New("h2server: stream reset")
	// errResetNotWritten fails a write to a reset stream without
	// breaking the connection's writer.
	errResetNotWritten = fmt.Errorf("%w (%w)", errStreamReset, h2frame.ErrNotWritten)
	errBodyClosed      = errors.New("h2server: request body closed")
	// errWindowStalled fails a response the client granted no window
	// for within the write timeout.
	errWindowStalled = errors.New("h2server: the client granted no flow-control window within the write timeout")
	// errClientGoingAway ends the read loop once a client that sent
	// GOAWAY has no stream left.
	errClientGoingAway = errors.New("h2server: client going away")
)

// conn is one served connection. Its goroutine (serve) reads every frame
// and updates the state under mu; handlers write frames under wmu. Lock
// order: wmu before mu, and nothing blocks while holding mu.
type conn struct {
	srv          *Server
	nc           net.Conn
	ctx          context.Context
	cancel       context.CancelFunc
	br           *bufio.Reader
	fr           *http2.Framer
	remoteAddr   string
	maxStreams   uint32
	idleTimeout  time.Duration
	writeTimeout time.Duration

	// w is the write side (its lock is "wmu" in comments); names
	// converts field names, its wire half under that lock.
	w     *h2frame.Writer
	names nameCache

	mu              sync.Mutex
	flow            sync.Cond // waiters for send window
	streams         map[uint32]*stream
	maxClientID     uint32
	handlers        int       // running handlers, reset streams' included
	queued          []*stream // streams waiting for a handler slot
	idle            []idleWorker
	workerIdle      time.Duration
	outflow         h2frame.Outflow
	initialWindow   h2frame.InitialWindow // the client's, for new streams
	inflow          h2frame.Inflow        // what the client may send, all streams
	spares          h2frame.Spares        // request bodies' buffers
	settingsAcked   bool
	goingAway       bool // GOAWAY sent: no new streams
	clientGoingAway bool
	closed          bool
	closeOnce       sync.Once
}

func newConn(ctx context.Context, s *Server, nc net.Conn) *conn {
	c := &conn{
		srv:          s,
		nc:           nc,
		remoteAddr:   nc.RemoteAddr().String(),
		maxStreams:   s.maxStreams(),
		idleTimeout:  orDefault(s.IdleTimeout, defaultIdleTimeout),
		writeTimeout: orDefault(s.WriteTimeout, defaultWriteTimeout),
		workerIdle:   orDefault(s.workerIdle, workerIdleTimeout),
		streams:      map[uint32]*stream{},
	}
	c.inflow.Init(initialWindow, connWindow)
	c.outflow.Init(initialWindow)
	c.initialWindow.Init(initialWindow)
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.flow.L = &c.mu
	c.br = bufio.NewReaderSize(nc, 16<<10)
	c.w = h2frame.NewWriter(nc, c.br, c.writeTimeout)
	c.fr = c.w.Framer
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(maxFrameSize)
	c.fr.MaxHeaderListSize = s.maxHeaderBytes()
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.ReadMetaHeaders.SetMaxStringLength(int(s.maxHeaderBytes()))
	return c
}

// serve reads and acts on the connection's frames until it ends.
func (c *conn) serve() error {
	defer c.closeConn()
	_ = c.nc.SetReadDeadline(time.Now().Add(orDefault(c.srv.PrefaceTimeout, defaultPrefaceTimeout)))
	var preface [len(clientPreface)]byte
	if _, err := io.ReadFull(c.br, preface[:]); err != nil {
		return fmt.Errorf("read the client preface: %w", err)
	}
	if string(preface[:]) != clientPreface {
		return errors.New("h2server: not the HTTP/2 client preface")
	}
	err := c.writeFrames(func() error {
		if err := c.fr.WriteSettings(
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.maxStreams},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.srv.maxHeaderBytes()},
		); err != nil {
			return err
		}
		return c.fr.WriteWindowUpdate(0, connWindow-initialWindow)
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.inflow.Open(connWindow - initialWindow)
	c.mu.Unlock()
	for first := true; ; first = false {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if c.readErrorIsTransient(err) {
				continue
			}
			return err
		}
		if first {
			if _, ok := f.(*http2.SettingsFrame); !ok {
				c.goAway(http2.ErrCodeProtocol)
				return errors.New("h2server: the client's first frame is not SETTINGS")
			}
			c.mu.Lock()
			c.setIdleDeadlineLocked()
			c.mu.Unlock()
		}
		if err := c.process(f); err != nil {
			if !c.frameErrorIsTransient(err) {
				return err
			}
		}
	}
}

// readErrorIsTransient handles an error from reading a frame, and reports
// whether the connection goes on.
func (c *conn) readErrorIsTransient(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.mu.Lock()
		if se.StreamID%2 == 1 && se.StreamID > c.maxClientID {
			c.maxClientID = se.StreamID
		}
		c.mu.Unlock()
		c.resetStream(se.StreamID, se.Code)
		return true
	}
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		c.srv.debug("http2 connection error", "peer", c.remoteAddr, "code", http2.ErrCode(ce).String(), "detail", c.fr.ErrorDetail())
		c.goAway(http2.ErrCode(ce))
		return false
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAway(http2.ErrCodeFrameSize)
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The read deadline is armed only while the connection has no
		// stream (and for the preface): the idle timeout. The cut read
		// may have ended mid-frame, so the connection cannot go on
		// either way.
		c.goAway(http2.ErrCodeNo)
	}
	return false
}

// frameErrorIsTransient handles an error from acting on a frame, and
// reports whether the connection goes on.
func (c *conn) frameErrorIsTransient(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.resetStream(se.StreamID, se.Code)
		return true
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.srv.debug("http2 connection error", "peer", c.remoteAddr, "code", http2.ErrCode(ce).String())
		c.goAway(http2.ErrCode(ce))
	}
	return false
}

// process acts on one frame.
func (c *conn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return c.processSettings(f)
	case *http2.MetaHeadersFrame:
		return c.processHeaders(f)
	case *http2.DataFrame:
		return c.processData(f)
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.processReset(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return c.writeFrames(func() error { return c.fr.WritePing(true, f.Data) })
	case *http2.GoAwayFrame:
		c.mu.Lock()
		c.clientGoingAway = true
		done := len(c.streams) == 0 && c.handlers == 0
		c.mu.Unlock()
		if done {
			return errClientGoingAway
		}
		return nil
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil
	case *http2.PushPromiseFrame:
		// Only servers push.
		return http2.ConnectionError(http2.ErrCodeProtocol)
	default:
		// Unknown frame types are ignored (RFC 9113 section 5.5).
		return nil
	}
}

func (c *conn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		c.mu.Lock()
		c.settingsAcked = true
		c.mu.Unlock()
		return nil
	}
	tableSize, haveTableSize := uint32(0), false
	window := int64(-1)
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingHeaderTableSize:
			tableSize, haveTableSize = s.Val, true
		case http2.SettingInitialWindowSize:
			window = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.w.PeerMaxFrame.Store(s.Val)
		}
		return nil
	})
	if err == nil && window >= 0 {
		err = c.checkInitialWindow(window)
	}
	if err != nil {
		return err
	}
	return c.w.AckSettings(tableSize, haveTableSize, func() {
		if window >= 0 {
			c.setInitialWindow(window)
		}
	})
}

// checkInitialWindow refuses a SETTINGS_INITIAL_WINDOW_SIZE that would
// take an open stream's send window past the maximum (RFC 9113 section
// 6.9.2).
func (c *conn) checkInitialWindow(v int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.initialWindow.Check(v, c.sendWindowsLocked())
}

// setInitialWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to every
// open stream's send window.
func (c *conn) setInitialWindow(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.initialWindow.Apply(v, c.sendWindowsLocked())
	c.flow.Broadcast()
}

func (c *conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var stream *h2frame.Outflow
	if f.StreamID != 0 {
		s := c.streams[f.StreamID]
		if s == nil {
			if f.StreamID > c.maxClientID {
				return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
			}
			return nil
		}
		stream = &s.outflow
	}
	if err := h2frame.ApplyWindowUpdate(f, &c.outflow, stream); err != nil {
		return err
	}
	c.flow.Broadcast()
	return nil
}

func (c *conn) processReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil {
		if f.StreamID > c.maxClientID {
			return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
		}
		return nil
	}
	c.closeStreamLocked(s, errClientReset)
	return nil
}

// resetStream sends RST_STREAM for id and closes the stream.
func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.closeStreamLocked(s, errStreamReset)
	}
	c.mu.Unlock()
	c.srv.debug("http2 stream reset", "peer", c.remoteAddr, "stream", id, "code", code.String())
	_ = c.writeFrames(func() error { return c.fr.WriteRSTStream(id, code) })
}

// goAway tells the client that no stream after the last it opened will
// be served.
func (c *conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	c.goingAway = true
	last := c.maxClientID
	c.mu.Unlock()
	_ = c.writeFrames(func() error { return c.fr.WriteGoAway(last, code, nil) })
}

// startGracefulShutdown sends GOAWAY and closes the connection once its
// streams are done.
func (c *conn) startGracefulShutdown() {
	c.goAway(http2.ErrCodeNo)
	c.mu.Lock()
	done := len(c.streams) == 0 && c.handlers == 0
	c.mu.Unlock()
	if done {
		c.closeConn()
	}
}

// closeConn ends the connection: every stream fails, waiters wake, the
// socket closes (which ends the read loop).
func (c *conn) closeConn() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		for _, s := range c.streams {
			c.closeStreamLocked(s, errConnClosed)
		}
		for _, s := range c.queued {
			s.cancel()
		}
		c.queued = nil
		c.retireIdleLocked(len(c.idle))
		c.flow.Broadcast()
		c.mu.Unlock()
		c.cancel()
		_ = c.nc.Close()
	})
}

// setIdleDeadlineLocked arms the idle timeout when no stream is open.
func (c *conn) setIdleDeadlineLocked() {
	if len(c.streams) == 0 && c.handlers == 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.idleTimeout))
	} else {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
}

// writeFrames runs write under the write lock, then flushes (unless
// another writer waiting will).
func (c *conn) writeFrames(write func() error) error { return c.w.Write(write) }

// writeUnflushed runs write under the write lock; the frames leave with
// the next flush (or when the buffer fills).
func (c *conn) writeUnflushed(write func() error) error { return c.w.WriteUnflushed(write) }

// handlerFor picks the handler of a new stream's request.
func (c *conn) handlerFor(truncated bool) http.Handler {
	if truncated {
		return http.HandlerFunc(headerListTooLong)
	}
	return c.srv.Handler
}

func headerListTooLong(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	_, _ = io.WriteString(w, "request header fields too large\n")
}

// sendWindowsLocked yields the open streams' send windows.
func (c *conn) sendWindowsLocked() iter.Seq[*h2frame.Outflow] {
	return h2frame.Windows(c.streams, func(s *stream) *h2frame.Outflow { return &s.outflow })
}

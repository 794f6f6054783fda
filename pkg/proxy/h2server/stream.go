package h2server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// stream is one request and its response. The fields below the first
// group are guarded by the connection's mu.
type stream struct {
	c       *conn
	id      uint32
	ctx     context.Context
	cancel  context.CancelFunc
	req     *http.Request
	w       *responseWriter
	handler http.Handler

	outflow      h2frame.Outflow
	inflow       h2frame.Inflow // what the client may send on this stream
	remoteClosed bool           // the client ended its side (END_STREAM)
	localClosed  bool           // the response ended (END_STREAM sent)
	removed      bool           // gone from the connection's streams
	// err, once set, fails the handler's writes and its body's reads.
	err        error
	body       *requestBody // nil for a request without body
	declLen    int64        // the request's Content-Length, -1 without
	gotLen     int64
	reqTrailer http.Header // the trailers the request declared, to fill in
}

// processHeaders opens a stream, or ends one's request with trailers.
func (c *conn) processHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 != 1 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.mu.Unlock()
		return c.processTrailers(s, f)
	}
	if id <= c.maxClientID {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.maxClientID = id
	if c.goingAway {
		// Past the GOAWAY's last stream: ignored (RFC 9113 section 6.8).
		c.mu.Unlock()
		return nil
	}
	if uint32(len(c.streams)) >= c.maxStreams {
		code := http2.ErrCodeProtocol
		if !c.settingsAcked {
			// The client may not have seen the limit yet.
			code = http2.ErrCodeRefusedStream
		}
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: code}
	}
	c.mu.Unlock()
	if f.HasPriority() && f.Priority.StreamDep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	s := &stream{c: c, id: id, declLen: -1}
	s.ctx, s.cancel = context.WithCancel(c.ctx)
	req, err := c.newRequest(s, f)
	if err != nil {
		s.cancel()
		c.srv.debug("http2 request refused", "peer", c.remoteAddr, "stream", id, "error", err)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	s.req = req
	s.w = newResponseWriter(s)
	s.handler = c.handlerFor(f.Truncated)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.cancel()
		return nil
	}
	s.outflow.Init(c.initialWindow.Size())
	s.inflow.Init(streamWindow, streamWindow)
	s.remoteClosed = f.StreamEnded()
	c.streams[id] = s
	if len(c.streams) == 1 && c.handlers == 0 {
		c.setIdleDeadlineLocked()
	}
	// Rapid reset (CVE-2023-44487): a reset stream leaves the stream
	// count at once but its handler runs until it returns, so handlers
	// are counted apart; streams beyond the limit wait for a slot, and
	// a client that keeps resetting them loses the connection.
	if uint32(c.handlers) < c.maxStreams {
		c.handlers++
		c.startHandlerLocked(s)
		return nil
	}
	if len(c.queued) > 4*int(c.maxStreams) {
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	c.queued = append(c.queued, s)
	return nil
}

// processTrailers ends a request with its trailer section.
func (c *conn) processTrailers(s *stream, f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	remoteClosed := s.remoteClosed
	c.mu.Unlock()
	if remoteClosed {
		return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeStreamClosed}
	}
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol}
	}
	var trailer http.Header
	for _, hf := range f.RegularFields() {
		key := c.names.canonical(hf.Name)
		if !httpguts.ValidTrailerHeader(key) {
			return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol}
		}
		if trailer == nil {
			trailer = http.Header{}
		}
		trailer[key] = append(trailer[key], hf.Value)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.declLen >= 0 && s.gotLen != s.declLen {
		return http2.StreamError{StreamID: s.id, Code: http2.ErrCodeProtocol}
	}
	// The handler's body read that meets the end fills them in: the
	// handler owns the request's Trailer map.
	s.body.trailer = trailer
	c.endRequestLocked(s)
	return nil
}

// processData takes a DATA frame: flow control first, then the bytes
// into the stream's body.
func (c *conn) processData(f *http2.DataFrame) error {
	id := f.StreamID
	n := int64(f.Header().Length)
	data := f.Data()
	c.mu.Lock()
	if !c.inflow.Take(n) {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	s := c.streams[id]
	if s == nil || s.remoteClosed || s.err != nil {
		// Nobody reads it: the connection's window gets it back now.
		c.inflow.Consumed(n)
		grant := c.takeConnGrantLocked()
		var err error = http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
		if s == nil && id > c.maxClientID {
			err = http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
		}
		c.mu.Unlock()
		c.sendGrants(grant, 0, 0)
		return err
	}
	if !h2frame.TakeStreamData(&c.inflow, &s.inflow, n, int64(len(data))) {
		grant := c.takeConnGrantLocked()
		c.mu.Unlock()
		c.sendGrants(grant, 0, 0)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	s.gotLen += int64(len(data))
	if s.declLen >= 0 && (s.gotLen > s.declLen || f.StreamEnded() && s.gotLen != s.declLen) {
		c.inflow.Consumed(int64(len(data)))
		grant := c.takeConnGrantLocked()
		c.mu.Unlock()
		c.sendGrants(grant, 0, 0)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if len(data) > 0 {
		if s.body.closed {
			c.inflow.Consumed(int64(len(data)))
		} else {
			s.body.buf.Append(&c.spares, data)
			s.body.cond.Signal()
		}
	}
	if f.StreamEnded() {
		c.endRequestLocked(s)
	}
	grant := c.takeConnGrantLocked()
	sid, sgrant := s.takeGrantLocked()
	c.mu.Unlock()
	c.sendGrants(grant, sid, sgrant)
	return nil
}

// endRequestLocked ends the client's side of s: its body reads EOF.
func (c *conn) endRequestLocked(s *stream) {
	s.remoteClosed = true
	if s.body != nil && s.body.err == nil {
		s.body.err = io.EOF
		s.body.cond.Broadcast()
	}
	if s.localClosed {
		c.closeStreamLocked(s, nil)
	}
}

// closeStreamLocked removes s from the connection; err (nil when both
// sides ended normally) fails its pending reads and writes.
func (c *conn) closeStreamLocked(s *stream, err error) {
	if err != nil && s.err == nil {
		s.err = err
		if s.body != nil {
			if s.body.err == nil || s.body.err == io.EOF && s.body.buf.Len() > 0 {
				s.body.err = err
			}
			s.body.cond.Broadcast()
		}
		s.cancel()
		c.flow.Broadcast()
	}
	if s.removed {
		return
	}
	s.removed = true
	delete(c.streams, s.id)
	if s.body != nil && err != nil {
		// What the handler will not read goes back to the connection.
		c.inflow.Consumed(int64(s.body.buf.Drop(&c.spares)))
	}
	if len(c.streams) == 0 && c.handlers == 0 {
		c.setIdleDeadlineLocked()
	}
}

// takeConnGrantLocked returns the connection-level credit to grant back
// now, if enough has built up.
func (c *conn) takeConnGrantLocked() uint32 {
	if c.closed {
		return 0
	}
	return c.inflow.Grant()
}

// takeGrantLocked returns the stream-level credit to grant back now.
func (s *stream) takeGrantLocked() (uint32, uint32) {
	if s.remoteClosed || s.err != nil {
		return 0, 0
	}
	return s.id, s.inflow.Grant()
}

// sendGrants writes the WINDOW_UPDATE frames for the credits given.
func (c *conn) sendGrants(conn uint32, id, stream uint32) {
	_ = c.w.WriteWindowUpdates(conn, id, stream)
}

// runHandler serves s, then starts the handlers waiting for its slot.
func (c *conn) runHandler(s *stream) {
	defer c.handlerDone(s)
	defer func() {
		if e := recover(); e != nil {
			if e != http.ErrAbortHandler && c.srv.Log != nil {
				// A handler's bug: the stream is reset, the connection
				// and the server go on.
				c.srv.Log.Warn("http2 handler panicked", "peer", c.remoteAddr, "stream", s.id, "panic", fmt.Sprint(e))
			}
			c.resetStream(s.id, http2.ErrCodeInternal)
		}
	}()
	s.handler.ServeHTTP(s.w, s.req)
	s.w.finish()
}

func (c *conn) handlerDone(s *stream) {
	s.cancel()
	if s.body != nil {
		_ = s.body.Close()
	}
	c.mu.Lock()
	c.handlers--
	for len(c.queued) > 0 && uint32(c.handlers) < c.maxStreams {
		next := c.queued[0]
		c.queued[0] = nil
		c.queued = c.queued[1:]
		if next.removed {
			next.cancel()
			continue
		}
		c.handlers++
		c.startHandlerLocked(next)
	}
	done := len(c.streams) == 0 && c.handlers == 0
	if done {
		c.setIdleDeadlineLocked()
	}
	closing := done && (c.goingAway || c.clientGoingAway)
	c.mu.Unlock()
	if closing {
		c.closeConn()
	}
}

// requestBody is a stream's request body: DATA frames land in buf, the
// handler reads them out, and what it read is granted back to the client.
type requestBody struct {
	s *stream
	// Guarded by the connection's mu; cond's lock.
	cond          sync.Cond
	buf           h2frame.BodyBuffer
	err           error       // io.EOF once the client ended the stream
	trailer       http.Header // received, for the read that meets EOF
	closed        bool
	needsContinue bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c := b.s.c
	c.mu.Lock()
	if b.needsContinue {
		b.needsContinue = false
		if b.err == nil {
			c.mu.Unlock()
			b.s.w.writeContinue()
			c.mu.Lock()
		}
	}
	for b.buf.Len() == 0 && b.err == nil && !b.closed {
		b.cond.Wait()
	}
	if b.closed {
		c.mu.Unlock()
		return 0, errBodyClosed
	}
	if b.buf.Len() == 0 {
		err, trailer := b.err, b.trailer
		b.trailer = nil
		c.mu.Unlock()
		if err == io.EOF {
			// Only declared trailers reach the request, as with
			// net/http.
			for k, vv := range trailer {
				if _, ok := b.s.reqTrailer[k]; ok {
					b.s.reqTrailer[k] = vv
				}
			}
		}
		return 0, err
	}
	n := b.buf.Read(&c.spares, p)
	c.inflow.Consumed(int64(n))
	b.s.inflow.Consumed(int64(n))
	grant := c.takeConnGrantLocked()
	sid, sgrant := b.s.takeGrantLocked()
	c.mu.Unlock()
	c.sendGrants(grant, sid, sgrant)
	return n, nil
}

// Close stops the body: what is buffered and what still arrives is
// dropped, its window given back to the connection.
func (b *requestBody) Close() error {
	c := b.s.c
	c.mu.Lock()
	if b.closed {
		c.mu.Unlock()
		return nil
	}
	b.closed = true
	c.inflow.Consumed(int64(b.buf.Drop(&c.spares)))
	b.cond.Broadcast()
	grant := c.takeConnGrantLocked()
	c.mu.Unlock()
	c.sendGrants(grant, 0, 0)
	return nil
}

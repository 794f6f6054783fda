package h2client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

var (
	errBodyClosed     = errors.New("h2client: response body closed")
	errMissingBody    = errors.New("h2client: response ended before the body its content-length declared")
	errLengthMismatch = errors.New("h2client: response body length differs from its content-length")
)

// clientStream is one request and its response. Fields after the first
// group are guarded by the connection's mu.
type clientStream struct {
	cc    *clientConn
	id    uint32
	req   *http.Request
	trace *httptrace.ClientTrace
	// expect: the request waits for 100 Continue before its body.
	expect bool
	// continued, made only when the request expects 100 Continue, is
	// closed once the body may go: 100 Continue, a final response, or the
	// end of the stream.
	continued chan struct{}

	cond         sync.Cond
	outflow      h2frame.Outflow
	inflow       h2frame.Inflow
	gotFinal     bool
	continueDone bool
	res          *http.Response
	respEnded    bool
	gotBytes     int64
	buf          h2frame.BodyBuffer
	trailer      http.Header
	err          error
	bodyClosed   bool // the caller closed the response body
	bodyStopped  bool // the request body is not (or no longer) to be sent
	localEnded   bool // END_STREAM sent
	removed      bool
}

// roundTrip sends req on a stream of cc (reserved by the caller).
func (cc *clientConn) roundTrip(req *http.Request, body *sentBody) (*http.Response, error) {
	hasBody := !body.none()
	contentLength := req.ContentLength
	if !hasBody {
		contentLength = 0
	} else if contentLength == 0 {
		contentLength = -1 // a body of unknown length
	}
	cs := &clientStream{cc: cc, req: req, trace: httptrace.ContextClientTrace(req.Context())}
	cs.cond.L = &cc.mu
	expect := hasBody && httpguts.HeaderValuesContainsToken(req.Header["Expect"], "100-continue")
	cs.expect = expect
	if expect {
		cs.continued = make(chan struct{})
	}
	if err := checkRequest(req); err != nil {
		cc.unreserve()
		return nil, err
	}

	// HEADERS leave in stream-id order: the id is taken under wmu.
	ran := false
	err := cc.w.Write(func() error {
		ran = true
		cc.mu.Lock()
		cc.reserved--
		if cc.closed || cc.goingAway {
			cc.mu.Unlock()
			return h2frame.ErrNotWritten
		}
		cs.id = cc.nextID
		cc.nextID += 2
		cs.outflow.Init(cc.initialWindow.Size())
		cs.inflow.Init(streamWindow, streamWindow)
		cc.streams[cs.id] = cs
		cc.mu.Unlock()
		return cc.writeRequestHeadersLocked(req, cs.id, !hasBody, contentLength)
	})
	if !ran {
		cc.unreserve()
	}
	if err != nil {
		if !ran || errors.Is(err, h2frame.ErrNotWritten) {
			return nil, fmt.Errorf("%w: connection no longer usable", errUnprocessed)
		}
		cc.mu.Lock()
		cs.failLocked(fmt.Errorf("%w: writing the request: %w", errUnprocessed, err))
		cc.mu.Unlock()
		return nil, cs.err
	}

	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { cs.cancel(ctx.Err()) })
	if hasBody {
		body.handed = true
		go cs.writeBody(body, expect, contentLength)
	} else {
		cc.mu.Lock()
		cs.localEnded = true
		cs.bodyStopped = true
		cc.mu.Unlock()
	}

	cc.mu.Lock()
	for !cs.gotFinal && cs.err == nil {
		cs.cond.Wait()
	}
	if !cs.gotFinal {
		err := cs.err
		cc.mu.Unlock()
		stop()
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, err
	}
	res := cs.res
	ended := cs.respEnded
	cc.mu.Unlock()
	if ended {
		stop()
	} else {
		res.Body.(*responseBody).stop = stop
	}
	return res, nil
}

func (cc *clientConn) unreserve() {
	cc.mu.Lock()
	cc.reserved--
	cc.mu.Unlock()
}

func (b *sentBody) close() {
	if !b.none() {
		_ = b.rc.Close()
	}
}

// cancel ends the stream for its request's context: RST_STREAM CANCEL.
func (cs *clientStream) cancel(err error) {
	cc := cs.cc
	cc.mu.Lock()
	done := cs.removed
	cs.failLocked(err)
	cc.mu.Unlock()
	if !done {
		_ = cc.writeFrames(func() error { return cc.fr.WriteRSTStream(cs.id, http2.ErrCodeCancel) })
	}
}

// failLocked ends the stream with err: waiters wake, the body reads it.
func (cs *clientStream) failLocked(err error) {
	if cs.err == nil && !(cs.respEnded && cs.localEnded) {
		cs.err = err
	}
	cs.bodyStopped = true
	cs.closeContinuedLocked()
	cs.cond.Broadcast()
	cs.cc.flow.Broadcast()
	cs.removeLocked()
}

// stopBodyLocked stops sending the request body: the response is whole
// and the server said so.
func (cs *clientStream) stopBodyLocked() {
	cs.bodyStopped = true
	cs.closeContinuedLocked()
	cs.cc.flow.Broadcast()
	if cs.respEnded {
		cs.localEnded = true
		cs.removeLocked()
	}
}

func (cs *clientStream) closeContinuedLocked() {
	if !cs.continueDone {
		cs.continueDone = true
		if cs.continued != nil {
			close(cs.continued)
		}
	}
}

// removeLocked takes the stream off the connection.
func (cs *clientStream) removeLocked() {
	if cs.removed {
		return
	}
	cs.removed = true
	cc := cs.cc
	delete(cc.streams, cs.id)
	if len(cc.streams) == 0 {
		cc.idleSince = time.Now()
		if cc.goingAway && !cc.closed {
			go cc.close(errors.New("h2client: server went away"))
		}
	}
}

func (cs *clientStream) gotFinalUnlocked() bool {
	cs.cc.mu.Lock()
	defer cs.cc.mu.Unlock()
	return cs.gotFinal
}

// informational takes a 1xx response head.
func (cs *clientStream) informational(code int, header http.Header) error {
	if code == http.StatusContinue {
		if cs.trace != nil && cs.trace.Got100Continue != nil {
			cs.trace.Got100Continue()
		}
		cs.cc.mu.Lock()
		cs.closeContinuedLocked()
		cs.cc.mu.Unlock()
	}
	if cs.trace != nil && cs.trace.Got1xxResponse != nil {
		if err := cs.trace.Got1xxResponse(code, textproto.MIMEHeader(header)); err != nil {
			return http2.StreamError{StreamID: cs.id, Code: http2.ErrCodeCancel, Cause: err}
		}
	}
	return nil
}

// statusLine is a response's Status, "200 OK": constant for the codes
// most responses carry, built for the rest.
func statusLine(code int) string {
	switch code {
	case http.StatusOK:
		return "200 OK"
	case http.StatusNoContent:
		return "204 No Content"
	case http.StatusNotModified:
		return "304 Not Modified"
	case http.StatusNotFound:
		return "404 Not Found"
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// final takes the final response head.
func (cs *clientStream) final(code int, header http.Header, ended bool) error {
	res := &http.Response{
		Status:        statusLine(code),
		StatusCode:    code,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        header,
		ContentLength: -1,
		Request:       cs.req,
	}
	if vv := header["Content-Length"]; len(vv) == 1 {
		if n, err := strconv.ParseInt(vv[0], 10, 64); err == nil && n >= 0 {
			res.ContentLength = n
		}
	}
	for _, v := range header["Trailer"] {
		for _, k := range splitList(v) {
			if res.Trailer == nil {
				res.Trailer = http.Header{}
			}
			res.Trailer[http.CanonicalHeaderKey(k)] = nil
		}
	}
	head := cs.req.Method == http.MethodHead
	switch {
	case head || ended && res.ContentLength <= 0:
		res.Body = http.NoBody
		if !head {
			res.ContentLength = 0
		}
	case ended:
		res.Body = failingBody{errMissingBody}
	default:
		res.Body = &responseBody{cs: cs}
	}
	cc := cs.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cs.gotFinal = true
	cs.res = res
	// A final response before the 100 Continue a request waits for: its
	// body is not wanted. (Any other request keeps sending: a server may
	// answer while it reads.)
	if cs.expect && !cs.continueDone {
		cs.bodyStopped = true
	}
	cs.closeContinuedLocked()
	if ended || head {
		cs.endResponseLocked()
	}
	cs.cond.Broadcast()
	return nil
}

// endResponseLocked ends the response: its body reads EOF once drained,
// its trailers are set.
func (cs *clientStream) endResponseLocked() {
	cs.respEnded = true
	cs.cond.Broadcast()
	if cs.localEnded || cs.bodyStopped {
		cs.localEnded = true
		cs.removeLocked()
	}
}

func (cs *clientStream) takeGrantLocked() (uint32, uint32) {
	if cs.respEnded || cs.err != nil {
		return 0, 0
	}
	return cs.id, cs.inflow.Grant()
}

// responseBody is a response's body, read from what the read loop
// buffered.
type responseBody struct {
	cs   *clientStream
	stop func() bool // the request context's watch
}

// Ready reports whether some of the body, its end or its failure has
// arrived, so that a Read returns without waiting for the server.
func (b *responseBody) Ready() bool {
	cc := b.cs.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return b.cs.buf.Len() > 0 || b.cs.respEnded || b.cs.err != nil || b.cs.bodyClosed
}

func (b *responseBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	cs, cc := b.cs, b.cs.cc
	cc.mu.Lock()
	for cs.buf.Len() == 0 && !cs.respEnded && cs.err == nil && !cs.bodyClosed {
		cs.cond.Wait()
	}
	switch {
	case cs.bodyClosed:
		cc.mu.Unlock()
		return 0, errBodyClosed
	case cs.buf.Len() > 0:
		n := cs.buf.Read(&cc.spares, p)
		cs.gotBytes += int64(n)
		cc.inflow.Consumed(int64(n))
		cs.inflow.Consumed(int64(n))
		grant := cc.takeConnGrantLocked()
		sid, sgrant := cs.takeGrantLocked()
		cc.mu.Unlock()
		cc.sendGrants(grant, sid, sgrant)
		return n, nil
	case !cs.respEnded:
		err := cs.err
		cc.mu.Unlock()
		return 0, err
	}
	// The response ended and everything was read. Its trailers reach the
	// response here, on the goroutine that owns it (the read loop only
	// kept them).
	cl, got, trailer := cs.res.ContentLength, cs.gotBytes, cs.trailer
	cs.trailer = nil
	cc.mu.Unlock()
	if cl >= 0 && got != cl {
		return 0, errLengthMismatch
	}
	if len(trailer) > 0 {
		if cs.res.Trailer == nil {
			cs.res.Trailer = http.Header{}
		}
		for k, vv := range trailer {
			cs.res.Trailer[k] = vv
		}
	}
	return 0, io.EOF
}

// Close ends the body; a response not read to its end is cancelled
// (RST_STREAM CANCEL).
func (b *responseBody) Close() error {
	cs, cc := b.cs, b.cs.cc
	if b.stop != nil {
		b.stop()
	}
	cc.mu.Lock()
	if cs.bodyClosed {
		cc.mu.Unlock()
		return nil
	}
	cs.bodyClosed = true
	unfinished := !cs.respEnded && cs.err == nil
	cs.cond.Broadcast()
	if unfinished {
		cs.failLocked(errBodyClosed)
	} else if n := cs.buf.Drop(&cc.spares); n > 0 {
		cc.inflow.Consumed(int64(n))
	}
	grant := cc.takeConnGrantLocked()
	cc.mu.Unlock()
	if unfinished {
		_ = cc.writeFrames(func() error { return cc.fr.WriteRSTStream(cs.id, http2.ErrCodeCancel) })
	}
	cc.sendGrants(grant, 0, 0)
	return nil
}

type failingBody struct{ err error }

func (b failingBody) Read([]byte) (int, error) { return 0, b.err }
func (b failingBody) Close() error             { return nil }

// writeBody sends the request body (after 100 Continue, when the request
// waits for it) and the trailers, on its own goroutine: the response may
// arrive meanwhile.
func (cs *clientStream) writeBody(body *sentBody, expect bool, contentLength int64) {
	defer body.close()
	cc := cs.cc
	if expect {
		t := time.NewTimer(orDefault(cc.t.ExpectContinueTimeout, time.Second))
		select {
		case <-cs.continued:
		case <-t.C:
		}
		t.Stop()
	}
	buf := make([]byte, 16<<10)
	var sent int64
	for {
		cc.mu.Lock()
		stopped := cs.bodyStopped
		cc.mu.Unlock()
		if stopped {
			cs.abandonBody()
			return
		}
		n, rerr := body.Read(buf)
		for off := 0; off < n; {
			k, err := cc.reserve(cs, n-off)
			if errors.Is(err, errBodyClosed) {
				cs.abandonBody()
				return
			}
			if err != nil {
				return
			}
			chunk := buf[off : off+k]
			if err := cc.writeUnflushed(func() error { return cc.fr.WriteData(cs.id, false, chunk) }); err != nil {
				return
			}
			off += k
		}
		sent += int64(n)
		if rerr != nil && rerr != io.EOF {
			cc.resetStream(cs.id, http2.ErrCodeCancel, fmt.Errorf("h2client: reading the request body: %w", rerr))
			return
		}
		if rerr == io.EOF {
			break
		}
		if contentLength < 0 || sent < contentLength {
			// A stream's next piece may be a while: this one goes now.
			_ = cc.writeFrames(func() error { return nil })
		}
	}
	if contentLength >= 0 && sent != contentLength {
		cc.resetStream(cs.id, http2.ErrCodeCancel, fmt.Errorf("h2client: request body of %d bytes, content-length %d", sent, contentLength))
		return
	}
	trailers := cs.req.Trailer
	_ = cc.writeFrames(func() error {
		if hasValues(trailers) {
			return cc.writeTrailersLocked(cs.id, trailers)
		}
		return cc.fr.WriteData(cs.id, true, nil)
	})
	cc.mu.Lock()
	cs.localEnded = true
	if cs.respEnded {
		cs.removeLocked()
	}
	cc.mu.Unlock()
}

// abandonBody ends a request whose body is not to be sent: the server
// answered without it.
func (cs *clientStream) abandonBody() {
	cc := cs.cc
	cc.mu.Lock()
	ended := cs.localEnded || cs.err != nil
	cs.localEnded = true
	if cs.respEnded {
		cs.removeLocked()
	}
	cc.mu.Unlock()
	if !ended {
		_ = cc.writeFrames(func() error { return cc.fr.WriteRSTStream(cs.id, http2.ErrCodeCancel) })
	}
}

func hasValues(h http.Header) bool {
	for _, vv := range h {
		if len(vv) > 0 {
			return true
		}
	}
	return false
}

// reserve takes up to want bytes of send window for cs.
func (cc *clientConn) reserve(cs *clientStream, want int) (int, error) {
	maxFrame := int64(cc.w.PeerMaxFrame.Load())
	cc.mu.Lock()
	defer cc.mu.Unlock()
	flushed := false
	for {
		if cs.err != nil {
			return 0, cs.err
		}
		if cs.bodyStopped {
			return 0, errBodyClosed
		}
		if n := h2frame.Reserve(&cc.outflow, &cs.outflow, int64(want), maxFrame); n > 0 {
			return int(n), nil
		}
		if !flushed {
			flushed = true
			cc.mu.Unlock()
			_ = cc.writeFrames(func() error { return nil })
			cc.mu.Lock()
			continue
		}
		cc.flow.Wait()
	}
}

func (cc *clientConn) writeUnflushed(write func() error) error { return cc.w.WriteUnflushed(write) }

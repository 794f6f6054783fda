package h2server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// responseWriter is a stream's http.ResponseWriter. Its HEADERS frame is
// written when the status is (no flush); body writes become DATA frames
// within the flow-control windows; the response ends, and the connection
// is flushed, when the handler returns or flushes.
type responseWriter struct {
	s           *stream
	header      http.Header
	status      int
	wroteHeader bool // the final status is out
	bodyAllowed bool
	head        bool
	// trailers are the names the head declared in its Trailer field.
	trailers []string
	// sentHead is set once any head went out, 1xx included, and sent100
	// once a 100 Continue did: there is one per request, whether the
	// handler forwards its upstream's or its first body read asks for
	// one (net/http sends both when they cross). Both under wmu.
	sentHead, sent100 bool
}

func newResponseWriter(s *stream) *responseWriter {
	return &responseWriter{s: s, header: make(http.Header, 8), head: s.req.Method == http.MethodHead}
}

// Header is the response's header map; after WriteHeader, changes reach
// the client only as declared trailers.
func (w *responseWriter) Header() http.Header { return w.header }

// ReplaceHeader makes h the response's header map, before WriteHeader: a
// proxy hands on its upstream's without copying it.
func (w *responseWriter) ReplaceHeader(h http.Header) { w.header = h }

// WriteHeader sends the response's status and header fields; an
// informational status (1xx) is sent at once and may be followed by more.
func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		if code == http.StatusSwitchingProtocols {
			// HTTP/2 has no protocol switch (RFC 9113 section 8.6):
			// the response cannot be given, and the client learns it
			// from a reset rather than a head it must refuse.
			w.s.c.resetStream(w.s.id, http2.ErrCodeInternal)
			return
		}
		w.writeInformational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	w.bodyAllowed = bodyAllowedForStatus(code) && !w.head
	for _, v := range w.header["Trailer"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = http.CanonicalHeaderKey(strings.TrimSpace(name)); name != "" {
				w.trailers = append(w.trailers, name)
			}
		}
	}
	c := w.s.c
	closeAfter := httpguts.HeaderValuesContainsToken(w.header["Connection"], "close")
	_ = c.writeUnflushed(func() error {
		if w.s.failed() {
			return nil
		}
		w.sentHead = true
		return c.writeHeadersLocked(w.s.id, code, w.header, false)
	})
	if closeAfter {
		// As net/http: a handler asking to close the connection gets a
		// GOAWAY, and the streams in flight finish.
		go c.startGracefulShutdown()
	}
}

// writeInformational sends a 1xx response head now, as net/http does,
// without the fields that describe a body.
func (w *responseWriter) writeInformational(code int) {
	h := w.header
	if _, ok := h["Content-Length"]; ok {
		h = h.Clone()
		delete(h, "Content-Length")
	}
	c := w.s.c
	_ = c.writeFrames(func() error {
		if w.s.failed() || code == http.StatusContinue && w.sent100 {
			return nil
		}
		w.sentHead = true
		w.sent100 = w.sent100 || code == http.StatusContinue
		return c.writeHeadersLocked(w.s.id, code, h, false)
	})
}

// writeContinue answers a request's Expect: 100-continue when its handler
// first reads the body.
func (w *responseWriter) writeContinue() {
	c := w.s.c
	_ = c.writeFrames(func() error {
		if w.s.failed() || w.sentHead {
			return nil
		}
		w.sentHead, w.sent100 = true, true
		return c.writeHeadersLocked(w.s.id, http.StatusContinue, nil, false)
	})
}

// Write sends p as DATA, waiting for flow-control window as needed.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed {
		if w.head {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	c := w.s.c
	written := 0
	for written < len(p) {
		n, err := c.reserve(w.s, len(p)-written)
		if err != nil {
			return written, err
		}
		chunk := p[written : written+n]
		if err := c.writeUnflushed(func() error {
			if w.s.failed() {
				// This stream's end, not the connection's.
				return errResetNotWritten
			}
			return c.fr.WriteData(w.s.id, false, chunk)
		}); err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}

// WriteString is Write for a string.
func (w *responseWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Flush sends what was written so far.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError sends what was written so far, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if err := w.s.c.writeFrames(func() error { return nil }); err != nil {
		return err
	}
	if w.s.failed() {
		return errStreamReset
	}
	return nil
}

// EnableFullDuplex is there for http.ResponseController: an HTTP/2 stream
// reads its request and writes its response at once anyway.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// finish ends the response once the handler has returned: the trailers,
// or an empty DATA frame, carries END_STREAM. A request the client has
// not finished sending is then reset with NO_ERROR (RFC 9113 section
// 8.1), its response being complete.
func (w *responseWriter) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	trailers := w.trailerFields()
	s, c := w.s, w.s.c
	// The stream is closed on this side before its last frame leaves: a
	// frame the client sends on it once it has that one is then one on a
	// closed stream (a connection error), never one on a live stream.
	c.mu.Lock()
	failed := s.err != nil
	remoteOpen := !s.remoteClosed
	s.localClosed = true
	if !failed {
		var err error
		if remoteOpen {
			err = errStreamReset
		}
		c.closeStreamLocked(s, err)
	}
	c.mu.Unlock()
	if failed {
		return
	}
	_ = c.writeFrames(func() error {
		var err error
		if len(trailers) > 0 {
			err = c.writeHeadersLocked(s.id, 0, trailers, true)
		} else {
			err = c.fr.WriteData(s.id, true, nil)
		}
		if err == nil && remoteOpen {
			err = c.fr.WriteRSTStream(s.id, http2.ErrCodeNo)
		}
		return err
	})
}

// trailerFields collects the trailers to send: the declared names' values
// as the handler left them, and any field set under http.TrailerPrefix.
func (w *responseWriter) trailerFields() http.Header {
	var t http.Header
	for _, k := range w.trailers {
		if vv := w.header[k]; len(vv) > 0 {
			if t == nil {
				t = http.Header{}
			}
			t[k] = vv
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && len(vv) > 0 {
			if t == nil {
				t = http.Header{}
			}
			t[http.CanonicalHeaderKey(name)] = vv
		}
	}
	return t
}

// failed reports whether the stream was reset or its connection closed.
func (s *stream) failed() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err != nil
}

// reserve takes up to want bytes of send window for s, waiting until the
// client grants some, for at most the write timeout: a client that opens
// streams and never grants their responses a window would otherwise hold
// their handlers (and their upstream connections) for as long as it likes.
// Past it the stream is reset (CANCEL).
func (c *conn) reserve(s *stream, want int) (int, error) {
	maxFrame := int64(c.w.PeerMaxFrame.Load())
	c.mu.Lock()
	defer c.mu.Unlock()
	flushed := false
	var expiry *time.Timer
	expired := false
	defer func() {
		if expiry != nil {
			expiry.Stop()
		}
	}()
	for {
		if s.err != nil {
			return 0, s.err
		}
		if c.closed {
			return 0, errConnClosed
		}
		if n := h2frame.Reserve(&c.outflow, &s.outflow, int64(want), maxFrame); n > 0 {
			return int(n), nil
		}
		if !flushed {
			// What is written leaves before the wait: the client may
			// grant more only once it has read it.
			flushed = true
			c.mu.Unlock()
			_ = c.writeFrames(func() error { return nil })
			c.mu.Lock()
			continue
		}
		if expired {
			c.mu.Unlock()
			c.srv.debug("http2 response stalled on a closed window", "peer", c.remoteAddr, "stream", s.id)
			c.resetStream(s.id, http2.ErrCodeCancel)
			c.mu.Lock()
			return 0, errWindowStalled
		}
		if expiry == nil {
			expiry = time.AfterFunc(c.writeTimeout, func() {
				c.mu.Lock()
				expired = true
				c.flow.Broadcast()
				c.mu.Unlock()
			})
		}
		c.flow.Wait()
	}
}

// writeHeadersLocked encodes a header section (a response head with its
// status, or trailers when status is 0) and writes it as HEADERS and, past
// the client's frame size, CONTINUATION frames. The caller holds wmu.
func (c *conn) writeHeadersLocked(id uint32, status int, h http.Header, endStream bool) error {
	c.w.ResetBlock()
	if status != 0 {
		c.w.Encode(":status", statusText(status))
	}
	hasDate := false
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) || strings.HasPrefix(k, http.TrailerPrefix) || h2frame.ConnectionSpecific(k) || k == "Te" {
			continue
		}
		if k == "Date" {
			hasDate = true
		}
		name := c.names.lower(k)
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				c.w.Encode(name, v)
			}
		}
	}
	if status >= 200 && !hasDate {
		c.w.Encode("date", time.Now().UTC().Format(http.TimeFormat))
	}
	return c.w.WriteBlock(id, endStream)
}

// statusText is the :status value of code, without allocating for the
// common ones.
func statusText(code int) string {
	switch code {
	case 100:
		return "100"
	case 200:
		return "200"
	case 201:
		return "201"
	case 204:
		return "204"
	case 206:
		return "206"
	case 301:
		return "301"
	case 302:
		return "302"
	case 304:
		return "304"
	case 400:
		return "400"
	case 403:
		return "403"
	case 404:
		return "404"
	case 500:
		return "500"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(code)
}

// bodyAllowedForStatus reports whether a response of this status may
// have a body (RFC 9110 section 6.4.1).
func bodyAllowedForStatus(code int) bool {
	switch {
	case code >= 100 && code <= 199, code == http.StatusNoContent, code == http.StatusNotModified:
		return false
	}
	return true
}

package proxy

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Response is the http.ResponseWriter of the HTTP/1.1 loop. A response
// of known length (a Content-Length, or none allowed) is framed when its
// head is written; one of unknown length is held up to h1HoldBytes, so
// that a short one (the proxy's own error pages) still gets a
// Content-Length, and is chunked past it, when flushed, or when it has
// trailers. Informational (1xx) responses are written at once.
type h1Response struct {
	sc  *h1ServerConn
	req *http.Request

	header      http.Header
	keys        []string // reused to sort the header's keys
	status      int
	wroteHeader bool
	committed   bool
	chunked     bool
	bodyAllowed bool // by the status; a HEAD response's body is dropped
	head        bool // the request is HEAD
	length      int64
	written     int64
	// headBytes is the status line and header fields, without framing,
	// as they were when WriteHeader was called.
	headBytes []byte
	held      []byte
	trailers  []string // declared in the Trailer header
	// closeAfter ends the connection after this response.
	closeAfter bool
	err        error
}

// h1HoldBytes is how much of a body of unknown length is held before the
// response is chunked (net/http's server holds 2 KiB the same way).
const h1HoldBytes = 2 << 10

// reset readies w for the next request on sc.
func (w *h1Response) reset(sc *h1ServerConn, r *http.Request, closeAfter bool) {
	if w.header == nil {
		w.header = http.Header{}
	} else {
		clear(w.header)
	}
	*w = h1Response{
		sc:         sc,
		req:        r,
		header:     w.header,
		keys:       w.keys[:0],
		headBytes:  w.headBytes[:0],
		held:       w.held[:0],
		trailers:   w.trailers[:0],
		head:       r.Method == http.MethodHead,
		closeAfter: closeAfter,
		length:     -1,
	}
}

// Header returns the header map to set before WriteHeader.
func (w *h1Response) Header() http.Header { return w.header }

// ReplaceHeader makes h the header map, for forward (which hands on an
// upstream's); the next request's reset clears it for reuse.
func (w *h1Response) ReplaceHeader(h http.Header) { w.header = h }

// EnableFullDuplex is a no-op: the loop never reads ahead of the handler,
// so the request body can be read while the response is written.
func (w *h1Response) EnableFullDuplex() error { return nil }

// WriteHeader writes an informational response at once and records the
// final one's head.
func (w *h1Response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		code = http.StatusInternalServerError
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	w.bodyAllowed = code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
	if httpguts.HeaderValuesContainsToken(w.header["Connection"], "close") {
		w.closeAfter = true
	}
	if cl := w.header.Get("Content-Length"); cl != "" && code != http.StatusNoContent {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.length = n
		}
	}
	w.trailers = appendDeclaredTrailers(w.trailers, w.header)
	w.headBytes = appendStatusLine(w.headBytes, code)
	w.headBytes = w.appendFields(w.headBytes, w.header, true)
	if _, ok := w.header["Date"]; !ok {
		w.headBytes = append(w.headBytes, "Date: "...)
		w.headBytes = time.Now().UTC().AppendFormat(w.headBytes, http.TimeFormat)
		w.headBytes = append(w.headBytes, "\r\n"...)
	}
	forgetHeadValuesOfTrailers(w.header, w.trailers)
	if w.length >= 0 || !w.bodyAllowed || w.head {
		w.commit(false)
	}
}

// writeInformational writes a 1xx response with the current header.
func (w *h1Response) writeInformational(code int) {
	removeHopByHop(w.header) // an upstream's 1xx, passed on: its hop's fields stay
	b := appendStatusLine(w.headBytes[:0], code)
	b = w.appendFields(b, w.header, true)
	b = append(b, "\r\n"...)
	w.headBytes = b[:0]
	if _, err := w.sc.bw.Write(b); err == nil {
		_ = w.sc.bw.Flush()
	}
}

// Write writes body bytes, writing the head first when needed.
func (w *h1Response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyAllowed {
		return 0, http.ErrBodyNotAllowed
	}
	if w.head {
		return len(p), nil
	}
	if w.length >= 0 {
		if w.written+int64(len(p)) > w.length {
			w.err = http.ErrContentLength
			return 0, w.err
		}
		n, err := w.sc.bw.Write(p)
		w.written += int64(n)
		if err == nil && w.written < w.length {
			// More is coming, at the upstream's pace: what arrived
			// goes now (the write that ends the body leaves with
			// finish's flush, in one system call with a short head).
			err = w.sc.bw.Flush()
		}
		w.err = err
		return n, err
	}
	if !w.committed {
		if len(w.held)+len(p) <= h1HoldBytes {
			w.held = append(w.held, p...)
			w.written += int64(len(p))
			return len(p), nil
		}
		w.commit(true)
	}
	if err := w.writeChunk(p); err != nil {
		return 0, err
	}
	w.written += int64(len(p))
	return len(p), nil
}

// Flush writes what is buffered to the client; a body of unknown length is
// chunked from here on.
func (w *h1Response) Flush() { _ = w.FlushError() }

// FlushError is Flush, reporting a failed write.
func (w *h1Response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(w.bodyAllowed && !w.head)
	}
	if w.err == nil {
		w.err = w.sc.bw.Flush()
	}
	return w.err
}

// commit writes the head with its framing: chunked, or a Content-Length
// (the declared one, or the held body's).
func (w *h1Response) commit(chunked bool) {
	bw := w.sc.bw
	b := w.headBytes
	switch {
	case chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case w.length >= 0 && (w.bodyAllowed || w.status == http.StatusNotModified):
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.length, 10)
		b = append(b, "\r\n"...)
	}
	if w.closeAfter {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	w.headBytes = b
	w.committed = true
	if _, err := bw.Write(b); err != nil && w.err == nil {
		w.err = err
	}
	if chunked {
		w.chunked = true
		if len(w.held) > 0 {
			_ = w.writeChunk(w.held)
			w.held = w.held[:0]
		}
	}
}

func (w *h1Response) writeChunk(p []byte) error {
	if len(p) == 0 || w.err != nil {
		return w.err
	}
	bw := w.sc.bw
	var size [16]byte
	_, _ = bw.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
	_, _ = bw.WriteString("\r\n")
	_, _ = bw.Write(p)
	_, err := bw.WriteString("\r\n")
	w.err = err
	return err
}

// finish completes the response once the handler returned; it reports
// whether the connection can carry another request.
func (w *h1Response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		if w.bodyAllowed && !w.head && !w.hasTrailers() {
			w.length = int64(len(w.held))
			w.commit(false)
			_, _ = w.sc.bw.Write(w.held)
		} else {
			w.commit(w.bodyAllowed && !w.head)
		}
	}
	if w.chunked && w.err == nil {
		b := append(w.headBytes[:0], "0\r\n"...)
		b = w.appendTrailers(b)
		b = append(b, "\r\n"...)
		w.headBytes = b
		_, w.err = w.sc.bw.Write(b)
	}
	if w.length >= 0 && w.bodyAllowed && !w.head && w.written < w.length {
		// The client waits for bytes that will not come: only closing
		// tells it the response ended.
		w.closeAfter = true
	}
	if w.err == nil {
		w.err = w.sc.bw.Flush()
	}
	return w.err == nil && !w.closeAfter
}

// hasTrailers reports whether the handler set trailer values.
func (w *h1Response) hasTrailers() bool {
	for _, k := range w.trailers {
		if len(w.header[k]) > 0 {
			return true
		}
	}
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// appendTrailers appends the declared trailers' values and those set with
// http.TrailerPrefix.
func (w *h1Response) appendTrailers(b []byte) []byte {
	t := http.Header{}
	for _, k := range w.trailers {
		if vv := w.header[k]; len(vv) > 0 {
			t[k] = vv
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && name != "" {
			t[http.CanonicalHeaderKey(name)] = vv
		}
	}
	return w.appendFields(b, t, false)
}

// appendFields appends h's fields in key order; framing is the
// connection's, so Content-Length, Transfer-Encoding and Connection are
// left out, and so is the Trailer header within trailers.
func (w *h1Response) appendFields(b []byte, h http.Header, head bool) []byte {
	keys := w.keys[:0]
	for k := range h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue
		case "Trailer":
			if !head {
				continue
			}
		}
		if head && strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendFieldValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	w.keys = keys[:0]
	return b
}

// appendFieldValue appends v with any CR or LF turned into a space, as
// net/http does, so that no value can end the head early.
func appendFieldValue(b []byte, v string) []byte {
	if !strings.ContainsAny(v, "\r\n") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// appendStatusLine appends "HTTP/1.1 <code> <reason>\r\n".
func appendStatusLine(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

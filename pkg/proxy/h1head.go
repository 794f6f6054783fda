package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The loop and the upstream client parse the heads they see most (a
// bodiless HTTP/1.1 request, a response with a Content-Length) here
// rather than with http.ReadRequest and http.ReadResponse. Those read
// every line through textproto, which copies each value into a string of
// its own and costs about a dozen allocations per head: together, a third
// of the proxy's user-space CPU in a closed-loop profile. Here the head is
// copied into one string once, and the method, target, status and every
// name and value are slices of it.
//
// The result is what net/http would have produced, field for field (the
// differential fuzz targets in h1head_test.go hold it to that). Any head
// outside the simple form (obs-fold, bare LF, a name with a space, an
// invalid byte, Transfer-Encoding, Pragma, several or unparsable
// Content-Lengths, a 1xx, a response framed by the connection's close)
// is left untouched in the buffer for net/http's parser, which reads it
// as before and reports what is wrong with it.

// maxSimpleFields bounds the fields of a head parsed here: a map hint and
// a values array sized by it stay small. A head with more goes to
// net/http.
const maxSimpleFields = 64

// headEnd ends a head: the blank line after the last field.
const headEnd = "\r\n\r\n"

// bufferedHead returns the length of the head at the front of br, reading
// until its blank line is buffered; 0 when it cannot be had from the
// buffer (longer than the buffer, or the connection failed first, in
// which case net/http's parser reads the same bytes and meets the same
// error).
func bufferedHead(br *bufio.Reader) int {
	from := 0
	for {
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b[from:], []byte(headEnd)); i >= 0 {
			return from + i + len(headEnd)
		}
		if len(b) == br.Size() {
			return 0
		}
		from = max(0, len(b)-len(headEnd)+1)
		if _, err := br.Peek(len(b) + 1); err != nil {
			return 0
		}
	}
}

// parseFields parses the field lines of a head (each ending in CRLF, the
// blank line excluded) as textproto.Reader.ReadMIMEHeader would, or
// reports that they are not in the simple form.
func parseFields(block string) (http.Header, bool) {
	n := strings.Count(block, "\r\n")
	if n > maxSimpleFields {
		return nil, false
	}
	h := make(http.Header, n)
	values := make([]string, n)
	for block != "" {
		line, rest, _ := strings.Cut(block, "\r\n")
		block = rest
		name, value, ok := strings.Cut(line, ":")
		// A name with white space fails here too: that is how a line
		// of obs-fold, or a first field line starting with a space,
		// leaves the simple form.
		if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return nil, false
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		value = textproto.TrimString(value)
		if vv, seen := h[key]; seen {
			h[key] = append(vv, value)
			continue
		}
		vv := values[:1:1]
		values = values[1:]
		vv[0] = value
		h[key] = vv
	}
	return h, true
}

// headLines splits a head into its first line and its field lines, each
// field line ending in CRLF; false when the first line holds a LF without
// its CR, where net/http would end it. (In a field line such a LF is a
// control byte, which parseFields refuses.)
func headLines(head string) (first, fields string, ok bool) {
	first, fields, _ = strings.Cut(head[:len(head)-2], "\r\n") // less the blank line's CRLF
	return first, fields, !strings.Contains(first, "\n")
}

// contentLength parses a message's single Content-Length; false when
// there are several or the one is not plain digits (net/http's parser
// decides those).
func contentLength(h http.Header) (n int64, present, ok bool) {
	vv, present := h["Content-Length"]
	if !present {
		return -1, false, true
	}
	if len(vv) != 1 || vv[0] == "" || len(vv[0]) > 18 {
		return 0, true, false
	}
	for i := 0; i < len(vv[0]); i++ {
		c := vv[0][i]
		if c < '0' || c > '9' {
			return 0, true, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true, true
}

// simpleResponse is a response parsed here and its body, allocated
// together.
type simpleResponse struct {
	resp http.Response
	body contentBody
}

// readSimpleResponse reads the head of the response to req at the front
// of br when it is an HTTP/1.1 final response in the simple form framed
// by a Content-Length (or bodiless by its status or req's method), and
// returns it as http.ReadResponse would; otherwise it returns nil and
// leaves br as it was.
func readSimpleResponse(br *bufio.Reader, req *http.Request) *http.Response {
	n := bufferedHead(br)
	if n == 0 {
		return nil
	}
	peeked, _ := br.Peek(n)
	if !bytes.HasPrefix(peeked, []byte("HTTP/1.1 ")) {
		return nil
	}
	head := string(peeked)
	first, fields, ok := headLines(head)
	if !ok {
		return nil
	}
	status := first[len("HTTP/1.1 "):]
	code, ok := statusCode(status)
	if !ok || code < 200 {
		return nil
	}
	h, ok := parseFields(fields)
	if !ok || has(h, "Transfer-Encoding") || has(h, "Pragma") {
		return nil
	}
	length, present, ok := contentLength(h)
	if !ok {
		return nil
	}
	headOnly := req != nil && req.Method == http.MethodHead
	bodiless := headOnly || code == http.StatusNoContent || code == http.StatusNotModified
	if !present && !bodiless {
		return nil // delimited by the connection's close
	}
	sr := &simpleResponse{resp: http.Response{
		Status:     status,
		StatusCode: code,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Request:    req,
		Body:       http.NoBody,
	}}
	r := &sr.resp
	if httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		r.Close = true
		delete(h, "Connection")
	}
	switch {
	case headOnly:
		r.ContentLength = length
	case bodiless:
		r.ContentLength = 0
	default:
		r.ContentLength = length
		if length > 0 {
			sr.body = contentBody{r: br, left: length}
			r.Body = &sr.body
		}
	}
	_, _ = br.Discard(n)
	return r
}

// statusCode parses the three digits a status starts with, followed by
// the end or a space.
func statusCode(status string) (int, bool) {
	if len(status) < 3 || (len(status) > 3 && status[3] != ' ') {
		return 0, false
	}
	code := 0
	for i := range 3 {
		c := status[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, true
}

// has reports whether h holds the field key (canonical), with or without
// values.
func has(h http.Header, key string) bool {
	_, ok := h[key]
	return ok
}

// readSimpleRequest reads the request whose n-byte head is buffered at
// the front of br when the head is in the simple form and announces no
// body, and returns it as http.ReadRequest would; otherwise it returns
// nil and leaves br as it was. The loop's framing checks (fastPathHead)
// have passed: HTTP/1.1, origin form, one Host, no Transfer-Encoding.
func readSimpleRequest(br *bufio.Reader, n int) *http.Request {
	peeked, _ := br.Peek(n)
	head := string(peeked)
	first, fields, ok := headLines(head)
	if !ok {
		return nil
	}
	method, rest, ok1 := strings.Cut(first, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !httpguts.ValidHeaderFieldName(method) || method == http.MethodConnect {
		return nil
	}
	h, ok := parseFields(fields)
	if !ok || len(h["Host"]) != 1 || has(h, "Transfer-Encoding") || has(h, "Pragma") {
		return nil
	}
	if length, _, ok := contentLength(h); !ok || length > 0 {
		return nil
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil // net/http's parser says what is wrong with it
	}
	r := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      proto,
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       u.Host,
		Close:      httpguts.HeaderValuesContainsToken(h["Connection"], "close"),
		RequestURI: target,
	}
	if r.Host == "" {
		r.Host = h["Host"][0]
	}
	delete(h, "Host")
	_, _ = br.Discard(n)
	return r
}

// contentBody is a response body of known, positive length, read from the
// connection's buffer as net/http's body reads one (an io.LimitedReader
// in its body): the end of the body comes with its last bytes, and the
// connection's end before it is io.ErrUnexpectedEOF.
type contentBody struct {
	r      *bufio.Reader
	left   int64
	sawEOF bool
}

func (b *contentBody) Read(p []byte) (int, error) {
	if b.sawEOF || b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		b.sawEOF = true
		if b.left > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil && n > 0 && b.left == 0 {
		err = io.EOF
		b.sawEOF = true
	}
	return n, err
}

// Close leaves the rest of the body unread; the connection is the
// caller's to settle.
func (b *contentBody) Close() error { return nil }

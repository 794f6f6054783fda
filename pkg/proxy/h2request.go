package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// checkH2Request refuses what net/http's HTTP/2 server lets through to
// the handler of a request RFC 9113 makes malformed, which an intermediary
// must not forward (section 8.1.1), or which the HTTP/1.1 upstream would
// read differently from the proxy (a :path that is not a path is
// checkTarget's, as an HTTP/1 target's):
//   - a content-length that is not one decimal length, the same in every
//     field, and 0 when HEADERS ended the stream: the server takes the
//     first field's number, or 0 for one it cannot parse, and checks the
//     DATA against that alone;
//   - a declared length of 0 on a stream still open: the reverse proxy
//     sends such a request on at once without a body, so DATA the client
//     sends after it would be dropped from a request already complete
//     upstream; the stream's end is awaited first;
//   - a declared length the stream then exceeds, or ends short of, or
//     ends with malformed trailers: the last byte of the body is held back
//     until the stream has ended as declared (h2LengthBody), so that the
//     upstream never has the request whole (the server's own check comes
//     at the DATA frame past the length, after the transport has sent the
//     length whole);
//   - a :method that is not a token (RFC 9110 section 9.1): the server
//     takes any, and the upstream transport refused it as if the upstream
//     could not be reached (a 502);
//   - inbound, a CONNECT marked as carried HTTP/1 (no proxy marks one,
//     carriesOverH2): downgraded, its DATA would follow the HTTP/1.1
//     CONNECT head before any answer, a request of its own to an
//     application that refuses the tunnel.
func (hp *httpProxy) checkH2Request(r *http.Request) error {
	if r.ProtoMajor != 2 {
		return nil
	}
	if !httpguts.ValidHeaderFieldName(r.Method) {
		return fmt.Errorf("method %q is not a token", r.Method)
	}
	if r.Host != "" && !httpguts.ValidHostHeader(r.Host) {
		return fmt.Errorf("authority %q is not a host", r.Host)
	}
	for k, vv := range r.Header {
		for _, v := range vv {
			if k == "Cookie" {
				v = withoutEmptyCrumbs(v)
			}
			if edgeWhitespace(v) {
				return fmt.Errorf("field %s has whitespace at the edge of its value", k)
			}
		}
	}
	if r.Method == http.MethodConnect && hp.s.direction == Inbound && r.Header.Get(keyOrigProto) != "" {
		return errors.New("CONNECT cannot be carried as HTTP/1")
	}
	cls := r.Header["Content-Length"]
	if len(cls) == 0 {
		return nil
	}
	want := uint64(r.ContentLength)
	if r.Body == nil || r.Body == http.NoBody {
		want = 0
	}
	for _, v := range cls {
		if n, err := strconv.ParseUint(v, 10, 63); err != nil || n != want {
			return fmt.Errorf("content-length %q does not match the request", v)
		}
	}
	if want > 0 {
		r.Body = &h2LengthBody{rc: r.Body, left: int64(want)}
		return nil
	}
	if r.Body != nil && r.Body != http.NoBody {
		var b [1]byte
		n, err := r.Body.Read(b[:])
		if n > 0 {
			return errors.New("DATA on a stream of content-length 0")
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("request body: %w", err)
		}
		if len(r.Trailer) == 0 {
			r.Body = http.NoBody
		}
		// else the ended body stays: the trailers that ended the
		// stream go on after it (forwardedTrailers).
	}
	return nil
}

// h2LengthBody is the body of an HTTP/2 request of declared length: it
// returns the last byte only once the stream has ended right after it.
type h2LengthBody struct {
	rc   io.ReadCloser
	left int64 // of the declared length, bytes not yet returned
}

func (b *h2LengthBody) Read(p []byte) (int, error) {
	switch {
	case len(p) == 0:
		return 0, nil
	case b.left == 0:
		return 0, io.EOF
	case b.left > 1:
		p = p[:min(int64(len(p)), b.left-1)]
		n, err := b.rc.Read(p)
		b.left -= int64(n)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the server reports a short body first
		}
		return n, err
	}
	var last [1]byte
	if _, err := io.ReadFull(b.rc, last[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	var more [1]byte
	n, err := b.rc.Read(more[:])
	for n == 0 && err == nil {
		n, err = b.rc.Read(more[:])
	}
	if n > 0 {
		return 0, errors.New("request body longer than its content-length")
	}
	if !errors.Is(err, io.EOF) {
		return 0, err
	}
	p[0], b.left = last[0], 0
	return 1, io.EOF
}

func (b *h2LengthBody) Close() error { return b.rc.Close() }

// edgeWhitespace reports whether v starts or ends with SP or HTAB, which
// RFC 9113 section 8.2.1 makes malformed: net/http's server lets it through.
func edgeWhitespace(v string) bool {
	return v != "" && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t')
}

// withoutEmptyCrumbs removes from the end of a Cookie value the "; "
// separators net/http's HTTP/2 server put there when it joined the
// request's cookie fields (RFC 9113 section 8.2.3) and the last were
// empty: an empty crumb is no malformed field (an HTTP/2 transport makes
// one of an HTTP/1 "Cookie: ;"), though the joined value then ends in a
// space.
func withoutEmptyCrumbs(v string) string {
	for strings.HasSuffix(v, "; ") {
		v = v[:len(v)-2]
	}
	return v
}

// checkH2Trailers refuses, when an HTTP/2 request's body has ended, the
// trailers RFC 9113 makes malformed that net/http's server lets through: a
// value with whitespace at either end (section 8.2.1; a header's is
// refused by checkH2Request) and a connection-specific field (section
// 8.2.2; forwardedTrailers would drop it, but the request is malformed).
func checkH2Trailers(t http.Header) error {
	for k, vv := range t {
		if len(vv) == 0 {
			continue // declared, not sent
		}
		if connectionSpecific(k) {
			return fmt.Errorf("trailer %s is connection-specific", k)
		}
		for _, v := range vv {
			if edgeWhitespace(v) {
				return fmt.Errorf("trailer %s has whitespace at the edge of its value", k)
			}
		}
	}
	return nil
}

// connectionSpecific reports whether the field named name is one RFC 9113
// section 8.2.2 makes malformed in an HTTP/2 message (te aside, which may
// say "trailers").
func connectionSpecific(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

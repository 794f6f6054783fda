package h2server

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

// newRequest builds the http.Request of a new stream from its header
// section, with the rules of net/http's HTTP/2 server (RFC 9113 section
// 8.3), except that a connection-specific field is a malformed request
// (a stream error, section 8.2.2) rather than a 400.
func (c *conn) newRequest(s *stream, f *http2.MetaHeadersFrame) (*http.Request, error) {
	method := f.PseudoValue("method")
	scheme := f.PseudoValue("scheme")
	authority := f.PseudoValue("authority")
	path := f.PseudoValue("path")
	if f.PseudoValue("protocol") != "" {
		// Extended CONNECT (RFC 8441) is not offered.
		return nil, errors.New("unexpected :protocol")
	}
	isConnect := method == http.MethodConnect
	if isConnect {
		if path != "" || scheme != "" || authority == "" {
			return nil, errors.New("CONNECT takes :authority only")
		}
	} else if method == "" || path == "" || (scheme != "http" && scheme != "https") {
		return nil, errors.New("missing or invalid :method, :path or :scheme")
	}
	regular := f.RegularFields()
	header := make(http.Header, len(regular))
	// One backing array for every field's first value, as net/textproto
	// does: a slice per field was an allocation each.
	values := make([]string, len(regular))
	for i, hf := range regular {
		key := c.names.canonical(hf.Name)
		if vv, ok := header[key]; ok {
			header[key] = append(vv, hf.Value)
			continue
		}
		values[i] = hf.Value
		header[key] = values[i : i+1 : i+1]
	}
	if err := checkConnectionSpecific(header); err != nil {
		return nil, err
	}
	if authority == "" {
		authority = header.Get("Host")
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return nil, errors.New("userinfo in :authority")
	}
	needsContinue := httpguts.HeaderValuesContainsToken(header["Expect"], "100-continue")
	if needsContinue {
		delete(header, "Expect")
	}
	if cookies := header["Cookie"]; len(cookies) > 1 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	trailer := declaredTrailers(header)
	delete(header, "Trailer")

	var u *url.URL
	requestURI := path
	if isConnect {
		u = &url.URL{Host: authority}
		requestURI = authority
	} else {
		// A request target has no white space or control bytes (RFC 9112
		// section 3.2): such a :path could not be sent on as HTTP/1.1
		// without becoming another request line.
		if i := strings.IndexFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
			return nil, fmt.Errorf("bad :path: byte %#x at %d", path[i], i)
		}
		var err error
		if u, err = url.ParseRequestURI(path); err != nil {
			return nil, fmt.Errorf("bad :path: %w", err)
		}
	}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Body:       http.NoBody,
		Host:       authority,
		RemoteAddr: c.remoteAddr,
		RequestURI: requestURI,
		Trailer:    trailer,
	}
	if !f.StreamEnded() {
		req.ContentLength = -1
		if vv, ok := header["Content-Length"]; ok {
			req.ContentLength = 0
			if n, err := strconv.ParseUint(vv[0], 10, 63); err == nil {
				req.ContentLength = int64(n)
				s.declLen = int64(n)
			}
		}
		s.body = &requestBody{s: s, needsContinue: needsContinue}
		s.body.cond.L = &c.mu
		req.Body = s.body
	}
	s.reqTrailer = trailer
	return req.WithContext(s.ctx), nil
}

// checkConnectionSpecific refuses the fields HTTP/2 has no place for (RFC
// 9113 section 8.2.2).
func checkConnectionSpecific(h http.Header) error {
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade"} {
		if _, ok := h[k]; ok {
			return fmt.Errorf("connection-specific field %s", k)
		}
	}
	// TE may say "trailers" and nothing else (an empty value says
	// nothing, as net/http reads it).
	if te, ok := h["Te"]; ok && (len(te) != 1 || te[0] != "trailers" && te[0] != "") {
		return errors.New(`te other than "trailers"`)
	}
	return nil
}

// declaredTrailers is the request's Trailer field as a map of the names it
// declares, less those that may not be trailers.
func declaredTrailers(h http.Header) http.Header {
	var trailer http.Header
	for _, v := range h["Trailer"] {
		for key := range strings.SplitSeq(v, ",") {
			key = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(key))
			switch key {
			case "", "Transfer-Encoding", "Trailer", "Content-Length":
			default:
				if trailer == nil {
					trailer = http.Header{}
				}
				trailer[key] = nil
			}
		}
	}
	return trailer
}

// nameCache remembers the canonical form of the lower-case field names a
// connection receives, and the wire form of those it sends, so that the
// common ones are converted once per connection.
type nameCache struct {
	canon map[string]string
	wire  map[string]string
}

// maxCachedNames bounds each map: a client inventing names cannot grow it.
const maxCachedNames = 256

// canonical is the http.Header key of a field name as received. Only the
// read loop calls it.
func (n *nameCache) canonical(name string) string {
	if k, ok := n.canon[name]; ok {
		return k
	}
	k := textproto.CanonicalMIMEHeaderKey(name)
	if n.canon == nil {
		n.canon = make(map[string]string, 32)
	}
	if len(n.canon) < maxCachedNames {
		n.canon[name] = k
	}
	return k
}

// lower is the wire (lower-case) form of an http.Header key. Callers hold
// the connection's write lock.
func (n *nameCache) lower(key string) string {
	if k, ok := n.wire[key]; ok {
		return k
	}
	k := strings.ToLower(key)
	if n.wire == nil {
		n.wire = make(map[string]string, 32)
	}
	if len(n.wire) < maxCachedNames {
		n.wire[key] = k
	}
	return k
}

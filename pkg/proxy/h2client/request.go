package h2client

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/meshctl/meshctl/pkg/proxy/internal/h2frame"
)

// checkRequest refuses, before anything is sent, a request HTTP/2 cannot
// carry as it is.
func checkRequest(req *http.Request) error {
	if req.URL == nil {
		return errors.New("h2client: request without a URL")
	}
	if req.Method != "" && !httpguts.ValidHeaderFieldName(req.Method) {
		return fmt.Errorf("h2client: invalid method %q", req.Method)
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("h2client: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("h2client: invalid value for header field %q", k)
			}
		}
	}
	for k := range req.Trailer {
		if !httpguts.ValidTrailerHeader(k) {
			return fmt.Errorf("h2client: invalid trailer name %q", k)
		}
	}
	return nil
}

// writeRequestHeadersLocked encodes req's head and writes it as HEADERS
// (and CONTINUATION) frames on stream id. The caller holds wmu.
func (cc *clientConn) writeRequestHeadersLocked(req *http.Request, id uint32, endStream bool, contentLength int64) error {
	cc.w.ResetBlock()
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	cc.w.Encode(":authority", host)
	cc.w.Encode(":method", method)
	if method != http.MethodConnect {
		path := req.URL.RequestURI()
		if req.URL.Opaque == "" && req.URL.Path == "" && req.URL.RawPath == "" {
			path = "/" + strings.TrimPrefix(path, "/")
		}
		scheme := req.URL.Scheme
		if scheme == "" {
			scheme = "http"
		}
		cc.w.Encode(":path", path)
		cc.w.Encode(":scheme", scheme)
	}
	if len(req.Trailer) > 0 {
		keys := make([]string, 0, len(req.Trailer))
		for k := range req.Trailer {
			keys = append(keys, strings.ToLower(k))
		}
		slices.Sort(keys)
		cc.w.Encode("trailer", strings.Join(keys, ","))
	}
	for k, vv := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Trailer" || h2frame.ConnectionSpecific(k) {
			continue
		}
		name := lowerName(k)
		for _, v := range vv {
			switch {
			case name == "user-agent" && v == "":
				// An explicit empty User-Agent means none.
			case name == "te":
				if v == "trailers" {
					cc.w.Encode(name, v)
				}
			case name == "cookie":
				// One field per cookie-pair (RFC 9113 section 8.2.3):
				// each compresses on its own.
				cookieCrumbs(v, func(c string) { cc.w.Encode(name, c) })
			default:
				cc.w.Encode(name, v)
			}
		}
	}
	if contentLength > 0 || contentLength == 0 && (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch) {
		cc.w.Encode("content-length", strconv.FormatInt(contentLength, 10))
	}
	return cc.w.WriteBlock(id, endStream)
}

// writeTrailersLocked writes a request's trailers, ending the stream.
func (cc *clientConn) writeTrailersLocked(id uint32, trailers http.Header) error {
	cc.w.ResetBlock()
	for k, vv := range trailers {
		name := lowerName(k)
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				cc.w.Encode(name, v)
			}
		}
	}
	return cc.w.WriteBlock(id, true)
}

// lowerName is the wire form of a header key, without allocating for the
// ones a proxy sends on every request.
func lowerName(k string) string {
	switch k {
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept-encoding"
	case "Content-Type":
		return "content-type"
	case "User-Agent":
		return "user-agent"
	case "Meshctl-Orig-Proto":
		return "meshctl-orig-proto"
	case "Meshctl-Client-Id":
		return "meshctl-client-id"
	case "Te":
		return "te"
	case "Cookie":
		return "cookie"
	case "Authorization":
		return "authorization"
	case "Grpc-Timeout":
		return "grpc-timeout"
	}
	return strings.ToLower(k)
}

// splitList splits a comma-separated field value into its trimmed
// elements.
func splitList(v string) []string {
	var out []string
	for e := range strings.SplitSeq(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// cookieCrumbs calls f with the crumbs of a Cookie value: the value cut at
// each "; " (the cookie-pair separator, RFC 6265 section 4.2.1) that has a
// byte other than white space on both sides. The server joins crumbs with
// "; " (RFC 9113 section 8.2.3), so the application gets the value as it
// was sent, byte for byte; and no crumb has white space at its edge, which
// would make the field malformed (section 8.2.1). An empty value has no
// crumbs.
func cookieCrumbs(v string, f func(string)) {
	start := 0
	for i := 1; i+2 < len(v); i++ {
		if v[i] == ';' && v[i+1] == ' ' && !isSpaceOrTab(v[i-1]) && !isSpaceOrTab(v[i+2]) {
			f(v[start:i])
			start = i + 2
			i++
		}
	}
	if start < len(v) {
		f(v[start:])
	}
}

func isSpaceOrTab(b byte) bool { return b == ' ' || b == '\t' }

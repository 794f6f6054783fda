package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// forwardWriter is a response writer of the proxy's own servers, the
// HTTP/1.1 loop's and the HTTP/2 server's, to which forward hands an
// upstream's response header as it is.
type forwardWriter interface {
	http.ResponseWriter
	FlushError() error
	// ReplaceHeader makes h the response's header map, before WriteHeader.
	ReplaceHeader(h http.Header)
}

// forward proxies a bodiless request served by one of the proxy's own
// servers: what httputil.ReverseProxy does for it (the same header rules,
// the same handlers: RoundTrip, modifyResponse, errorHandler), without its
// per-request copies. The reverse proxy clones the request with its header
// map and URL, copies it again for a client trace, parses the response's
// Content-Type to decide on flushing and copies the response header; here
// the server's own request, parsed for this exchange alone, becomes the
// outgoing one, and the response header becomes the writer's.
func (hp *httpProxy) forward(w forwardWriter, in *http.Request, ctx context.Context) {
	ex := ctx.Value(exchangeKey).(*exchange)
	h := in.Header
	keepTE := httpguts.HeaderValuesContainsToken(h["Te"], "trailers")
	removeHopByHop(h)
	if keepTE {
		h["Te"] = []string{"trailers"}
	}
	// As the reverse proxy in Rewrite mode: forwarding headers are not
	// the client's to set.
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-For")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // no Go default
	}
	// Informational responses reach the client as they arrive.
	out := in.WithContext(httptrace.WithClientTrace(ctx, informationalTrace(w)))
	out.RequestURI = ""
	out.Close = false
	out.URL.Scheme = "http"
	out.URL.Host = ex.endpoint.addrText()
	out.Host = requestHost(in, ex)
	out.URL.RawQuery = cleanQuery(out.URL.RawQuery)
	hp.restoreOrigProto(in, out)

	res, err := hp.RoundTrip(out)
	if err == nil && res.StatusCode == http.StatusSwitchingProtocols {
		_ = res.Body.Close()
		err = errors.New("upstream switched protocols without an upgrade")
	}
	if err != nil {
		hp.errorHandler(w, out, err)
		return
	}
	removeHopByHop(res.Header)
	if err := hp.modifyResponse(res); err != nil {
		_ = res.Body.Close()
		hp.errorHandler(w, out, err)
		return
	}
	w.ReplaceHeader(res.Header)
	h = res.Header
	announced := len(res.Trailer)
	var keys []string
	if announced > 0 {
		keys = make([]string, 0, len(res.Trailer))
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if announced > 0 {
		// A declared trailer's value is what the header holds at the
		// end: a head field of the same name must not go out twice.
		forgetHeadValuesOfTrailers(h, keys)
	}
	if announced > 0 || res.ContentLength != 0 && !bodyReady(res.Body) {
		// Trailers need the chunked framing the flush commits to. And a
		// response whose body has not started gets its head now, as
		// hyper sends it: a stream (server-sent events before the first
		// event, a long poll) opens on it, and an upstream that sends
		// its head before it has its body (of known length or not) may
		// be a long time coming. A body that came with its head leaves
		// with it, in one write.
		_ = w.FlushError()
	}
	if err := hp.copyBody(w, res); err != nil {
		_ = res.Body.Close()
		// The head is out: only closing the connection tells the client
		// the body broke off (the loop does, as net/http does).
		panic(http.ErrAbortHandler)
	}
	_ = res.Body.Close()
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			h[k] = vv
		}
		return
	}
	for k, vv := range res.Trailer {
		for _, v := range vv {
			h.Add(http.TrailerPrefix+k, v)
		}
	}
}

// bodyReady reports whether a Read of body returns without waiting for
// the upstream: true unless the body (the proxy's HTTP/1.1 and HTTP/2
// clients') says it has nothing yet.
func bodyReady(body io.Reader) bool {
	r, ok := body.(interface{ Ready() bool })
	return !ok || r.Ready()
}

// copyBody streams the response body to the client as it arrives: a body
// of unknown length (a stream: gRPC, gRPC-Web, server-sent events) is
// flushed at every write, one of known length at every write but the last,
// whose flush comes with the end of the response (h1Response does that
// much itself).
func (hp *httpProxy) copyBody(w forwardWriter, res *http.Response) error {
	buf := hp.rp.BufferPool.Get()
	defer hp.rp.BufferPool.Put(buf)
	_, selfFlushing := w.(*h1Response)
	stream := res.ContentLength < 0
	var written int64
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			written += int64(n)
			if stream || !selfFlushing && written < res.ContentLength {
				if err := w.FlushError(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// removeHopByHop deletes the hop-by-hop fields (RFC 9110 section 7.6.1):
// those the Connection field names, then the fixed list, as
// httputil.ReverseProxy does.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
}

// cleanQuery re-encodes a query that parsers could read differently (a
// semicolon, a malformed escape), as httputil.ReverseProxy does, so that
// the application sees what the proxy's routes matched.
func cleanQuery(s string) string {
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			v, _ := url.ParseQuery(s)
			return v.Encode()
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				v, _ := url.ParseQuery(s)
				return v.Encode()
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// informationalTrace passes the upstream's informational responses to the
// client through w, as the reverse proxy's trace does: the loop keeps one
// per connection, other writers get one per request.
func informationalTrace(w forwardWriter) *httptrace.ClientTrace {
	if lw, ok := w.(*h1Response); ok {
		return lw.sc.clientTrace()
	}
	return &httptrace.ClientTrace{Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
		relayInformational(w, code, header)
		return nil
	}}
}

// relayInformational sends the upstream's informational response through
// w, less its hop's fields, and leaves w's header empty for the final one.
func relayInformational(w http.ResponseWriter, code int, header textproto.MIMEHeader) {
	h := w.Header()
	for k, vv := range header {
		h[k] = vv
	}
	removeHopByHop(h) // the upstream's hop's, not the client's
	w.WriteHeader(code)
	clear(h)
}

// clientTrace passes the upstream's informational responses to the client,
// as the reverse proxy's trace does; one per connection.
func (sc *h1ServerConn) clientTrace() *httptrace.ClientTrace {
	if sc.trace == nil {
		sc.trace = &httptrace.ClientTrace{Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			relayInformational(&sc.resp, code, header)
			return nil
		}}
	}
	return sc.trace
}

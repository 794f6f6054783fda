package proxy

import (
	"io"
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// HeaderOrigProto marks an HTTP/1 request that the client's proxy carried
// to the server's proxy over HTTP/2, so that many requests share one
// connection (and one TLS session) between the two proxies instead of one
// connection each at a time. Its value is the application's protocol,
// "HTTP/1.1" or "HTTP/1.0". The server's proxy removes it and sends the
// request on to its application as HTTP/1.1; on every other hop the
// proxy removes it too, so an application can neither set nor see it.
//
// On the way the request's fields are as HTTP/2 carries them: names in
// lower case (HTTP/1 names are case-insensitive), and Cookie cut by the
// client's proxy into one field per cookie-pair at its "; " separators,
// which the server's proxy joins again with "; " (RFC 9113 section 8.2.3):
// the application gets the value byte for byte.
const HeaderOrigProto = "meshctl-orig-proto"

// HeaderOrigExpect carries a request's "Expect: 100-continue" between the
// two proxies beside HeaderOrigProto: an HTTP/2 server answers that
// expectation itself and removes the field, so without it the application
// behind the server's proxy would never be asked, and could not refuse an
// upload before its body is sent. Like HeaderOrigProto it is removed on
// every hop.
const HeaderOrigExpect = "meshctl-orig-expect"

// The header map keys of the fields only the proxies set: http.Header's
// methods canonicalise a name on every call, which allocates for one in
// lower case, and these are looked up on every request.
const (
	keyClientID   = "Meshctl-Client-Id"
	keyOrigProto  = "Meshctl-Orig-Proto"
	keyOrigExpect = "Meshctl-Orig-Expect"
)

// carriesOverH2 reports whether the outbound request r may travel to ep
// over HTTP/2: an HTTP/1 request to an endpoint whose proxy said it takes
// them. An Upgrade (WebSocket and the like) or CONNECT needs the HTTP/1
// connection itself, so it keeps one.
func (hp *httpProxy) carriesOverH2(r *http.Request, ep Endpoint) bool {
	return hp.s.direction == Outbound && ep.Protocol == EndpointH2 &&
		r.ProtoMajor == 1 && r.Method != http.MethodConnect && r.Header.Get("Upgrade") == ""
}

// overH2 is r marked for carrying over HTTP/2. It is a copy, headers
// included: should the request move to another endpoint after a failed
// connect, that endpoint may not take it.
func overH2(r *http.Request, values *origProtoValues) *http.Request {
	c := r.Clone(r.Context())
	c.Trailer, c.Body = h2Trailers(r)
	values.mark(c.Header, r)
	asH2(c)
	return c
}

// markOverH2 is overH2 for a bodiless request, without the copies: the
// request is copied but shares r's header map, into which the marker goes
// for the round trip, and unmark, called once the round trip has
// returned, takes it out again. The HTTP/2 transport reads the header map
// only while it sends the request's head, and without a body there is
// nothing left to send after it returns. values holds the marker's
// values, one slice per version, shared by every request.
func markOverH2(r *http.Request, values *origProtoValues) (c *http.Request, unmark func()) {
	c = new(http.Request)
	*c = *r
	c.Trailer = nil
	h := r.Header
	prevProto, hadProto := h[keyOrigProto]
	prevExpect, hadExpect := h[keyOrigExpect]
	values.mark(h, r)
	asH2(c)
	return c, func() {
		restoreField(h, keyOrigProto, prevProto, hadProto)
		restoreField(h, keyOrigExpect, prevExpect, hadExpect)
	}
}

// restoreField puts back h's field k as it was: vv if it was there.
func restoreField(h http.Header, k string, vv []string, was bool) {
	if was {
		h[k] = vv
	} else {
		delete(h, k)
	}
}

// origProtoValues are the marker fields' values as header values.
type origProtoValues struct{ http11, http10, continue100 []string }

func newOrigProtoValues() *origProtoValues {
	return &origProtoValues{http11: []string{"HTTP/1.1"}, http10: []string{"HTTP/1.0"}, continue100: []string{"100-continue"}}
}

// mark sets in h the marker fields of r carried over HTTP/2: its
// protocol, HTTP/1.2 and up read as HTTP/1.1 (RFC 9110 section 6.2: the
// server's proxy knows the two versions it sends on), and its Expect:
// 100-continue. The Expect field stays too: the transport then waits for
// the application's 100 Continue before it sends the body.
func (v *origProtoValues) mark(h http.Header, r *http.Request) {
	h[keyOrigProto] = v.http11
	if !r.ProtoAtLeast(1, 1) {
		h[keyOrigProto] = v.http10
	}
	if expectsContinue(r.Header) {
		h[keyOrigExpect] = v.continue100
	}
}

// asH2 turns c's protocol to HTTP/2. Connection: close asks for the end of
// the application's own connection, which the outbound server handles;
// the shared connection between the proxies stays.
func asH2(c *http.Request) {
	c.Proto, c.ProtoMajor, c.ProtoMinor = "HTTP/2.0", 2, 0
	c.Close = false
}

// restoreOrigProto removes HeaderOrigProto from the request going out, and
// inbound turns a request carried over HTTP/2 back into HTTP/1.1 for the
// application.
func (hp *httpProxy) restoreOrigProto(in, out *http.Request) {
	proto := out.Header.Get(keyOrigProto)
	expect := out.Header.Get(keyOrigExpect)
	// Removed whatever their values: an empty one is still a field
	// the application must not see.
	delete(out.Header, keyOrigProto)
	delete(out.Header, keyOrigExpect)
	if proto == "" && expect == "" {
		return
	}
	if hp.s.direction == Inbound && in.ProtoMajor == 2 && (proto == "HTTP/1.1" || proto == "HTTP/1.0") {
		out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
		if expect == "100-continue" {
			// The upstream transport waits for the application's
			// answer before it sends a body, and passes its 100
			// Continue back to the client's proxy.
			out.Header.Set("Expect", "100-continue")
		}
	}
}

// expectsContinue reports whether h asks for 100 Continue before the body.
func expectsContinue(h http.Header) bool {
	return httpguts.HeaderValuesContainsToken(h["Expect"], "100-continue")
}

// send makes one attempt of r to ep, on the transport its protocol needs.
func (hp *httpProxy) send(r *http.Request, ep Endpoint) (*http.Response, error) {
	if hp.carriesOverH2(r, ep) {
		if r.Body == nil || r.Body == http.NoBody {
			c, unmark := markOverH2(r, hp.origProto)
			defer unmark()
			return hp.poolFor(ep.Identity).roundTrip(c)
		}
		r = overH2(r, hp.origProto)
	}
	return hp.poolFor(ep.Identity).roundTrip(r)
}

// h2Trailers returns the trailers and body for r carried over HTTP/2. The
// body fills in r's declared trailers as it ends, after r was copied: the
// copy's trailers take their values then. HTTP/2 resets a request whose
// trailers hold a field it forbids there (Host, Content-Type...): the
// copy does not declare those, so they are dropped, as undeclared
// trailers are (serve already dropped names that are no field names).
func h2Trailers(r *http.Request) (http.Header, io.ReadCloser) {
	if r.Body == nil || r.Body == http.NoBody || len(r.Trailer) == 0 {
		return nil, r.Body
	}
	t := http.Header{}
	for k := range r.Trailer {
		if httpguts.ValidTrailerHeader(k) { // names that are no field names went in serve
			t[k] = nil
		}
	}
	if len(t) == 0 {
		return nil, r.Body
	}
	return t, &trailerBody{ReadCloser: r.Body, from: r.Trailer, to: t}
}

// trailerBody copies the declared trailers of from into to at the end of
// the body, before the transport sends them.
type trailerBody struct {
	io.ReadCloser
	from, to http.Header
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		for k := range b.to {
			b.to[k] = b.from[k]
		}
	}
	return n, err
}

package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// FuzzPairTransparency sends the raw bytes of HTTP/1.1 requests to a
// client proxy (outbound, plain TCP) whose target is a server proxy proven
// over mTLS, so that HTTP/1 travels between the two over HTTP/2
// (origproto.go), and compares what reaches the application behind the
// server proxy with what net/http.ReadRequest reads from the same bytes
// (the direct reading):
//
//   - no panic, no hang: every exchange ends within its deadline;
//   - a request the direct reading refuses (the framing guard's refusals
//     included: h1guard.go documents them) is answered with an error or a
//     closed connection, and never reaches the application whole;
//   - each request it accepts reaches the application exactly once, as
//     the same request: method, origin-form target (absolute-form becomes
//     origin-form, the query cleaned as cleanQuery documents), Host,
//     end-to-end fields in order, body and trailers; no request reaches it
//     that the client did not send;
//   - the client gets the application's response for each.
//
// The application answers each request on a connection of its own
// (Connection: close): a request then never waits on a pooled connection
// that another exchange left behind, and what arrives is attributed to
// the input that sent it.
//
// Inputs whose first request line detection does not take as HTTP/1 are
// proxied as opaque bytes (doc.go), and CONNECT opens a tunnel
// (connect_test.go): both are skipped.
func FuzzPairTransparency(f *testing.F) {
	for _, s := range pairSeeds() {
		f.Add([]byte(s))
	}
	app := newRecordingApp(f)
	outbound := startFuzzPair(f, app.addr, 0)
	var previous []byte
	f.Fuzz(func(t *testing.T, b []byte) {
		if stray := app.take(); len(stray) > 0 {
			t.Fatalf("%d request(s) reached the application after the previous exchange ended (previous input %q): first %s", len(stray), previous, stray[0])
		}
		previous = bytes.Clone(b)
		if len(b) > 16<<10 {
			return
		}
		if p, done := classify(b); !done || p != ProtocolHTTP1 {
			return
		}
		want, refused, skip := readDirect(b)
		if skip {
			return
		}
		// A refusal of the framing guard waits for the requests before
		// it to be answered (h1Guard.park): none is cut short.
		checkPairExchange(t, outbound, app, b, want, refused)
	})
}

// startFuzzPair starts the pair the fuzz targets send through: a client
// proxy whose outbound goes over mTLS (HTTP/1 carried over HTTP/2) to a
// server proxy in front of app, both quick to give up on a stalled head,
// with maxHeaderBytes (0: the default); it returns the outbound address.
func startFuzzPair(f *testing.F, app string, maxHeaderBytes int) string {
	ca := newMeshCA(f)
	_, sls := startMeshed(f, Config{
		InboundTarget: app, MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: 300 * time.Millisecond,
	}, ca.provider(f, serverID, ca))
	_, cls := startMeshed(f, Config{
		OutboundTarget: sls.Inbound.Addr().String(), OutboundTargetIdentity: serverID,
		MaxHeaderBytes: maxHeaderBytes,
		DetectTimeout:  300 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond,
	}, ca.provider(f, clientID, ca))
	return cls.Outbound.Addr().String()
}

// checkPairExchange sends b to the client proxy and checks the invariants
// against the direct reading (want, and whether it refused the rest).
func checkPairExchange(t *testing.T, outbound string, app *recordingApp, b []byte, want []directRequest, refused bool) {
	start := time.Now()
	c, err := net.Dial("tcp", outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = c.Write(b) // the proxy may stop reading a refused input
	}()
	br := bufio.NewReader(c)
	for i, d := range want {
		resp, err := readFinalResponse(br, d.req)
		if err != nil {
			t.Fatalf("request %d of %d (%s %s): no response: %v\ninput %q\napplication got %v", i+1, len(want), d.req.Method, d.req.RequestURI, err, b, app.take())
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("request %d: response body: %v\ninput %q", i+1, err, b)
		}
		wantBody := "ok"
		if d.req.Method == http.MethodHead {
			wantBody = ""
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Upstream") != "fixed" || string(body) != wantBody {
			t.Fatalf("request %d (%s %s): the client got %d %v %q, not the application's response\ninput %q\napplication got %v", i+1, d.req.Method, d.req.RequestURI, resp.StatusCode, resp.Header, body, b, app.take())
		}
	}
	// The direct reading ended: what follows (a refused request, or one
	// after a request that closes the connection) gets an error or the
	// end of the connection, never the application.
	_ = c.(*net.TCPConn).CloseWrite()
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err) {
				break
			}
			t.Fatalf("after %d request(s): %v\ninput %q\napplication got %v", len(want), err, b, app.take())
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode < 400 {
			t.Fatalf("after %d request(s) (refused %v): the client got %d %v, want an error or the end of the connection\ninput %q\napplication got %v", len(want), refused, resp.StatusCode, resp.Header, b, app.take())
		}
	}
	<-wrote
	got := app.take()
	if len(got) != len(want) {
		t.Fatalf("the application got %d request(s), the input has %d (refused after: %v)\ninput %q\nexchange from %s to %s; application got %v", len(got), len(want), refused, b, start.Format("15:04:05.000000"), time.Now().Format("15:04:05.000000"), got)
	}
	for i := range want {
		if diff := compareRequest(want[i], got[i]); diff != "" {
			t.Fatalf("request %d of %d changed on its way: %s\ninput %q\napplication got %s", i+1, len(want), diff, b, got[i])
		}
	}
}

// readFinalResponse reads the response to req, skipping informational
// ones (100 Continue is passed on, once by each proxy).
func readFinalResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for range 8 {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, errors.New("too many informational responses")
}

func isConnReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && strings.Contains(ne.Err.Error(), "reset")
}

// directRequest is a request as the direct reading sees it.
type directRequest struct {
	req     *http.Request
	body    []byte
	trailer http.Header
}

// readDirect reads b as net/http's server would, behind the proxy's
// framing guard: the requests accepted in order, whether the bytes after
// them were refused (as opposed to ending cleanly, or following a request
// that closes the connection, which no server reads), and skip for an
// input the fuzz target does not judge (CONNECT).
func readDirect(b []byte) (reqs []directRequest, refused, skip bool) {
	// A buffer the size of the input lets serverRefuses see the raw head.
	br := bufio.NewReaderSize(newH1Guard(bytes.NewReader(b)), max(len(b), 16))
	lastMethod := ""
	for {
		if lastMethod == http.MethodPost {
			// net/http's tolerance for old clients (server.go).
			peek, _ := br.Peek(4)
			n := 0
			for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
				n++
			}
			_, _ = br.Discard(n)
		}
		if _, err := br.Peek(1); err == io.EOF {
			return reqs, false, false
		}
		rest, _ := br.Peek(br.Size())
		rest = bytes.Clone(rest)
		r, err := http.ReadRequest(br)
		if err != nil {
			return reqs, true, false
		}
		if r.Method == http.MethodConnect {
			return nil, false, true
		}
		// An absolute URI without an authority ("a:0") names no server,
		// one of another scheme ("a:/x") no HTTP resource, and an
		// authority that is no host ("http://\"x") no server either:
		// net/http's server only checks the Host field, but none can be
		// carried over HTTP/2 (":path", ":authority") or taken by an
		// origin server, so each gets an error (checkTarget).
		if serverRefuses(r, rest) || !forwardableTarget(r) || !httpguts.ValidHostHeader(r.Host) || badUpgrade(r.Header) {
			return reqs, true, false
		}
		declared := slices.Collect(maps.Keys(r.Trailer))
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return reqs, true, false
		}
		// Trailers the Trailer field did not announce may be dropped on
		// the way (httputil.ReverseProxy drops them: the outgoing
		// request's trailers are those announced), and so are those
		// HTTP/2 does not take as trailers (h2Trailers).
		trailer := http.Header{}
		for _, k := range declared {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidTrailerHeader(k) {
				continue
			}
			if vv := r.Trailer[k]; len(vv) > 0 {
				trailer[k] = vv
			}
		}
		reqs = append(reqs, directRequest{req: r, body: body, trailer: trailer})
		if r.Close || r.Header.Get("Upgrade") != "" {
			// Nothing after a request that closes the connection is read;
			// after an Upgrade the bytes may be another protocol's.
			return reqs, false, false
		}
		lastMethod = r.Method
	}
}

// forwardableTarget reports whether a request target names an HTTP
// resource the pair can forward (RFC 9112 section 3.2): a path, * for
// OPTIONS, or an http(s) URI with an authority.
func forwardableTarget(r *http.Request) bool {
	switch {
	case strings.HasPrefix(r.RequestURI, "/"):
		return true
	case r.RequestURI == "*":
		return r.Method == http.MethodOptions
	}
	return (r.URL.Scheme == "http" || r.URL.Scheme == "https") && r.URL.Host != "" && r.URL.Opaque == ""
}

// serverRefuses is what net/http's server refuses beyond
// http.ReadRequest (conn.readRequest and the Expect handling of
// conn.serve); raw starts with r's head, whose Host fields
// http.ReadRequest removed.
func serverRefuses(r *http.Request, raw []byte) bool {
	if r.ProtoMajor != 1 {
		return true
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	if _, err := tp.ReadLine(); err != nil {
		return true
	}
	head, err := tp.ReadMIMEHeader()
	if err != nil {
		return true
	}
	hosts, ok := head["Host"]
	if r.ProtoAtLeast(1, 1) && (!ok || len(hosts) == 0) {
		return true
	}
	if len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]) {
		return true
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return true
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return true
			}
		}
	}
	expect := r.Header.Get("Expect")
	return expect != "" && !strings.EqualFold(expect, "100-continue")
}

// badUpgrade reports whether h asks to switch to a protocol that
// httputil.ReverseProxy refuses to name ("client tried to switch to
// invalid protocol"): one that is not printable ASCII.
func badUpgrade(h http.Header) bool {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return false
	}
	for _, c := range []byte(h.Get("Upgrade")) {
		if c < ' ' || c > '~' {
			return true
		}
	}
	return false
}

// appRequest is one request as the application read it.
type appRequest struct {
	method, target, host, proto string
	header, trailer             http.Header
	contentLength               int64
	body                        []byte
	err                         error // the bytes did not parse as a request
	at                          time.Time
}

func (a appRequest) String() string {
	if a.err != nil {
		return "unparsable: " + a.err.Error()
	}
	return fmt.Sprintf("%s %s %s Host=%q %v body=%q trailer=%v (at %s)", a.method, a.target, a.proto, a.host, a.header, a.body, a.trailer, a.at.Format("15:04:05.000000"))
}

// recordingApp is the application behind the server proxy: a raw listener
// that reads one request per connection with http.ReadRequest, records
// it and answers a fixed response with Connection: close.
type recordingApp struct {
	addr string
	mu   sync.Mutex
	got  []appRequest
}

func newRecordingApp(t testing.TB) *recordingApp {
	a := &recordingApp{}
	a.addr = serveEach(t, a.serve)
	return a
}

func (a *recordingApp) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	r, err := http.ReadRequest(br)
	if err != nil {
		if _, peekErr := br.Peek(1); !errors.Is(err, io.EOF) || peekErr == nil {
			// Bytes that are not a request (an idle connection closed
			// unused is not recorded).
			a.record(appRequest{err: err})
		}
		return
	}
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // a body that broke off: the request never arrived whole
	}
	a.record(appRequest{method: r.Method, target: r.RequestURI, host: r.Host, proto: r.Proto, header: r.Header, trailer: r.Trailer, contentLength: r.ContentLength, body: body})
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Upstream: fixed\r\nConnection: close\r\n\r\n"
	if r.Method != http.MethodHead {
		resp += "ok"
	}
	_, _ = io.WriteString(c, resp)
}

func (a *recordingApp) record(r appRequest) {
	r.at = time.Now()
	a.mu.Lock()
	a.got = append(a.got, r)
	a.mu.Unlock()
}

// take returns what arrived since the last call.
func (a *recordingApp) take() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	got := a.got
	a.got = nil
	return got
}

// pairHopByHop are the fields no proxy forwards: RFC 9110 section 7.6.1
// and the rest of httputil.ReverseProxy's list. Te is checked on its own.
var pairHopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// endToEnd is h without its hop-by-hop fields and those the proxies
// document that they remove or set: the framing (Content-Length: the body
// is compared), the forwarding fields (as httputil.ReverseProxy in Rewrite
// mode), HeaderOrigProto and HeaderClientID.
func endToEnd(h http.Header, connection []string) http.Header {
	out := h.Clone()
	for _, v := range connection {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out.Del(f)
			}
		}
	}
	for _, k := range pairHopByHop {
		delete(out, k)
	}
	for _, k := range []string{"Content-Length", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", HeaderOrigProto, HeaderClientID} {
		out.Del(k)
	}
	// Between the proxies the request is HTTP/2: the client proxy's
	// transport cuts Cookie into crumbs at its "; " separators, the
	// server proxy joins them with "; " before HTTP/1.1 (RFC 9113 section
	// 8.2.3). The application gets the request's Cookie fields joined
	// into one, each byte as sent.
	if vv, ok := out["Cookie"]; ok {
		delete(out, "Cookie")
		var values []string
		for _, v := range vv {
			if v != "" {
				values = append(values, v)
			}
		}
		if len(values) > 0 {
			out["Cookie"] = []string{strings.Join(values, "; ")}
		}
	}
	// KNOWN DEFECT: an empty User-Agent does not reach the application
	// (net/http's and x/net's client transports write no User-Agent
	// when its value is empty; a User-Agent beyond the first is dropped
	// too): the first non-empty one does.
	if vv, ok := out["User-Agent"]; ok {
		delete(out, "User-Agent")
		if len(vv) > 0 && vv[0] != "" {
			out["User-Agent"] = vv[:1]
		}
	}
	// 100-continue reaches the application as "100-continue" (the
	// server proxy restores it from HeaderOrigExpect), whatever its case.
	if strings.EqualFold(out.Get("Expect"), "100-continue") {
		out.Set("Expect", "100-continue")
	}
	return out
}

// compareRequest describes how got differs from the direct reading d
// ("" for not at all).
func compareRequest(d directRequest, got appRequest) string {
	r := d.req
	if got.err != nil {
		return "the application could not parse it: " + got.err.Error()
	}
	var diffs []string
	if got.method != r.Method {
		diffs = append(diffs, fmt.Sprintf("method %q, sent %q", got.method, r.Method))
	}
	u := *r.URL
	u.Scheme, u.Host, u.User = "", "", nil
	u.RawQuery = cleanQuery(u.RawQuery)
	if want := u.RequestURI(); got.target != want {
		diffs = append(diffs, fmt.Sprintf("target %q, sent %q (want %q)", got.target, r.RequestURI, want))
	}
	if got.proto != "HTTP/1.1" {
		diffs = append(diffs, fmt.Sprintf("protocol %s", got.proto))
	}
	if r.Host != "" && got.host != r.Host {
		diffs = append(diffs, fmt.Sprintf("Host %q, sent %q", got.host, r.Host))
	}
	if ids := got.header.Values(HeaderClientID); len(ids) != 1 || ids[0] != clientID {
		diffs = append(diffs, fmt.Sprintf("%s %q, want the verified %q", HeaderClientID, ids, clientID))
	}
	if v := got.header.Values(HeaderOrigProto); v != nil {
		diffs = append(diffs, fmt.Sprintf("%s reached the application: %q", HeaderOrigProto, v))
	}
	wantTE := httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers")
	if te := got.header["Te"]; (wantTE && !slices.Equal(te, []string{"trailers"})) || (!wantTE && te != nil) {
		diffs = append(diffs, fmt.Sprintf("Te %q, sent %q", te, r.Header["Te"]))
	}
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := got.header[k]; ok {
			diffs = append(diffs, fmt.Sprintf("%s appeared: %q", k, v))
		}
	}
	want, have := endToEnd(r.Header, r.Header["Connection"]), endToEnd(got.header, nil)
	for _, k := range sortedKeys(want, have) {
		if !slices.Equal(want[k], have[k]) {
			diffs = append(diffs, fmt.Sprintf("field %s %q, sent %q", k, have[k], want[k]))
		}
	}
	if !bytes.Equal(got.body, d.body) {
		diffs = append(diffs, fmt.Sprintf("body %q, sent %q", got.body, d.body))
	}
	if !headersEqual(nonEmpty(got.trailer), d.trailer) {
		diffs = append(diffs, fmt.Sprintf("trailers %v, sent %v", got.trailer, d.trailer))
	}
	return strings.Join(diffs, "; ")
}

// nonEmpty is h without the names declared in a Trailer field but never
// sent (http.ReadRequest keeps them with no value).
func nonEmpty(h http.Header) http.Header {
	out := http.Header{}
	for k, vv := range h {
		if len(vv) > 0 {
			out[k] = vv
		}
	}
	return out
}

func headersEqual(a, b http.Header) bool {
	for _, k := range sortedKeys(a, b) {
		if !slices.Equal(a[k], b[k]) {
			return false
		}
	}
	return true
}

func sortedKeys(hs ...http.Header) []string {
	var keys []string
	for _, h := range hs {
		for k := range h {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// pairSeeds are requests of every shape the proxies handle: each method,
// both body framings, odd targets, Host forms, repeated and hop-by-hop
// fields, and pipelines.
func pairSeeds() []string {
	const h = "Host: web.shop.svc.cluster.local\r\n"
	long := strings.Repeat("v", 6000)
	return []string{
		"GET / HTTP/1.1\r\n" + h + "\r\n",
		"GET /items?page=2&sort=name HTTP/1.1\r\n" + h + "User-Agent: curl/8.5\r\nAccept: */*\r\n\r\n",
		"HEAD /x HTTP/1.1\r\n" + h + "\r\n",
		"OPTIONS * HTTP/1.1\r\n" + h + "\r\n",
		"DELETE /items/7 HTTP/1.1\r\n" + h + "Authorization: Bearer t\r\n\r\n",
		"POST /items HTTP/1.1\r\n" + h + "Content-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"name\":\"item\"}\n",
		"PUT /items/7 HTTP/1.1\r\n" + h + "Content-Length: 0\r\n\r\n",
		"POST /c HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /c HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nTE: trailers\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Checksum: 42\r\n\r\n",
		"POST /c HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Undeclared: 1\r\n\r\n",
		"POST /c HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTrailer: X-A, Host, X-B\r\n\r\n1\r\na\r\n0\r\nX-A: 1\r\nHost: evil\r\nX-B: 2\r\nX-C: 3\r\n\r\n",
		"GET /a%2Fb/%7Euser/../c?q=%zz&x=1;y=2&e=%20+%2B HTTP/1.1\r\n" + h + "\r\n",
		"GET /p?a=1&a=2&b= HTTP/1.1\r\n" + h + "\r\n",
		"GET /p? HTTP/1.1\r\n" + h + "\r\n",
		"GET /\xc3\xa4/x HTTP/1.1\r\n" + h + "\r\n",
		"GET http://web.shop.svc.cluster.local:8080/abs?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
		"GET http://web.shop.svc.cluster.local HTTP/1.1\r\nHost: web.shop.svc.cluster.local\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: web.shop.svc.cluster.local:8080\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: 10.0.0.7:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: [fd00::7]:80\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.1\r\nhOsT: Web.Shop\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "Accept: text/html\r\nX-Order: 1\r\nAccept: application/json\r\nX-Order: 2\r\nX-Order: 3\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "Cookie: a=1\r\nCookie: b=2; c=3\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "X-Spaces:   padded value  \r\nx-lower: v\r\nX-UPPER: V\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "Connection: keep-alive, X-Hop, x-other\r\nX-Hop: 1\r\nX-Other: 2\r\nX-Kept: 3\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers, deflate\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "TE: gzip\r\n\r\n",
		"POST /e HTTP/1.1\r\n" + h + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
		"GET /ws HTTP/1.1\r\n" + h + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "Via: 1.1 edge\r\nForwarded: for=10.0.0.1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "X-Long: " + long + "\r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "X-Empty:\r\nX-Empty-Too: \r\n\r\n",
		"GET / HTTP/1.1\r\n" + h + "meshctl-client-id: forged\r\nmeshctl-orig-proto: HTTP/1.0\r\nl5d-dst-override: x\r\n\r\n",
		"GET /1 HTTP/1.1\r\n" + h + "\r\nGET /2 HTTP/1.1\r\n" + h + "\r\n",
		"POST /1 HTTP/1.1\r\n" + h + "Content-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\n" + h + "\r\n",
		"GET /1 HTTP/1.1\r\n" + h + "Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n" + h + "\r\n",
		"GET /1 HTTP/1.0\r\n" + h + "\r\n",
		"GET /1 HTTP/1.0\r\n" + h + "Connection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\n" + h + "\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\n" + h + "Content-Length: 10\r\n\r\nshort",
		"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET / HTTP/1.1\r\n" + h + "\r\nGET / HTTP/1.1\n" + h + "\r\n",
	}
}

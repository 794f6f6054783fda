package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

// pairResponseHeaderBytes is MaxHeaderBytes on both proxies of
// FuzzPairResponse: the smallest the config takes, so that the bounds on
// a response head (h1Client's, the upstream Transport's, the HTTP/2
// header list between the proxies) are within reach of the inputs.
const pairResponseHeaderBytes = 1 << 10

// pairResponseDeadline bounds each client connection of an iteration:
// an exchange takes milliseconds, so reaching it means a proxy hung.
const pairResponseDeadline = 3 * time.Second

// pairResponseRequests are the requests an input's selector picks from:
// bodiless ones take the loop's forward and h1Client, a body takes the
// reverse proxy and net/http's Transport on both sides.
var pairResponseRequests = [...]struct{ method, body string }{
	{http.MethodGet, ""},
	{http.MethodHead, ""},
	{http.MethodPost, "hello"},
}

// FuzzPairResponse puts an application's raw answer to one request through
// a pair of proxies (client outbound over plain TCP, HTTP/1 carried over
// HTTP/2 with mTLS to the server's inbound, origproto.go) and compares
// what the client reads with the direct reading: what http.ReadResponse
// makes of the same bytes for the same request, as net/http's client
// talking to the application would.
//
// The input is a selector (GET, HEAD or POST with a small body) and every
// byte the application writes after reading the request; it then
// half-closes (so a body framed by the connection's end ends) and closes.
// The client sends its request with keep-alive, so that the connection
// after the response is checked too. What must hold:
//   - no panic, no hang: every read is within pairResponseDeadline;
//   - every head the client gets is strict (readClientExchange);
//   - an answer the direct reading refuses (a parse error, a status below
//     100, a 101 without an upgrade, more than maxInformational 1xx) gets
//     a 502 from a proxy (meshctl-proxy-error) or the end of the
//     connection, after at most a prefix of its 1xx responses;
//   - an answer it accepts arrives with the same 1xx responses (codes
//     and end-to-end fields), the same status, the same end-to-end fields (pairResponseFields says which,
//     and what the proxies may add), the same body (none for HEAD) and
//     the declared trailers that HTTP/2 can carry; a head past the
//     proxies' bounds may get a 502 instead;
//   - a body cut short (fewer bytes than its Content-Length, a broken
//     chunked body) never looks complete: the client gets a prefix and a
//     read error, a 502, or the end of the connection before the head;
//   - a connection still open afterwards has nothing more on it and
//     carries a second request to its own answer: the pair still works.
func FuzzPairResponse(f *testing.F) {
	for _, s := range pairResponseSeeds() {
		f.Add(s.sel, []byte(s.raw))
	}

	// The answers by request path: /<iteration>/1 gets the input,
	// /<iteration>/2 gets secondAnswer.
	var answers sync.Map
	// stale holds the paths of requests that arrived on a connection
	// the application had already half-closed.
	var stale sync.Map
	app := startRawUpstream(f, func(c net.Conn, br *bufio.Reader) {
		_ = c.SetDeadline(time.Now().Add(pairResponseDeadline))
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		// The whole request first: a close with unread bytes would be a
		// reset, and the proxy might lose the answer to it.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		if raw, ok := answers.Load(r.URL.Path); ok {
			_, _ = c.Write(raw.([]byte))
		}
		_ = c.(*net.TCPConn).CloseWrite()
		if r, err := http.ReadRequest(br); err == nil {
			// A proxy pooled the connection and sent a request on it
			// before the half-close reached it.
			stale.Store(r.URL.Path, true)
		}
		_, _ = io.Copy(io.Discard, c)
	})
	outbound := startFuzzPair(f, app.addr, pairResponseHeaderBytes)
	var iteration atomic.Int64

	f.Fuzz(func(t *testing.T, sel byte, raw []byte) {
		if len(raw) > 16<<10 {
			return
		}
		req := pairResponseRequests[int(sel)%len(pairResponseRequests)]
		want := readDirectResponse(raw, req.method)
		prefix := stageAnswers(t, &answers, &iteration, raw)
		c := dialFor(t, outbound, pairResponseDeadline)
		br := bufio.NewReaderSize(c, 64<<10)
		head := fmt.Sprintf("%s %s/1 HTTP/1.1\r\nHost: app\r\n", req.method, prefix)
		if req.body != "" {
			head += "Content-Length: " + strconv.Itoa(len(req.body)) + "\r\n"
		}
		if _, err := io.WriteString(c, head+"\r\n"+req.body); err != nil {
			t.Fatal(err)
		}
		got, interim, err := readPairExchange(br, req.method)
		if err != nil {
			t.Fatalf("%s, application answer %s: %v", req.method, clip(raw), err)
		}
		defer stale.Delete(prefix + "/1")
		for i, h := range interim {
			if i >= len(want.interim) {
				break // compared below
			}
			if diff := compareInterim(want.interim[i], h); diff != "" {
				t.Fatalf("%s, application answer %s: 1xx response %d: %s", req.method, clip(raw), i+1, diff)
			}
		}
		if diff := comparePairResponse(req.method, want, got); diff != "" {
			if got.final != nil && isProxyError(got.final) && waitStale(&stale, prefix+"/1") {
				// The application closes every connection after one
				// answer, whatever its framing says: a request on a
				// pooled one meets the close, and only a bodiless
				// request can be sent again (h1Client.roundTrip;
				// net/http's Transport does not resend a body it
				// read from the client).
				return
			}
			t.Fatalf("%s, application answer %s: %s", req.method, clip(raw), diff)
		}
		if got.final == nil || got.final.Close || got.bodyErr != nil {
			// The connection ends here: the pair is checked on a new one.
			c.Close()
			if c, err = net.Dial("tcp", outbound); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(pairResponseDeadline))
			br = bufio.NewReader(c)
		} else if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			t.Fatalf("%s, application answer %s: %s after the response", req.method, clip(raw), clip(b))
		}
		if _, err := fmt.Fprintf(c, "GET %s/2 HTTP/1.1\r\nHost: app\r\n\r\n", prefix); err != nil {
			t.Fatal(err)
		}
		second, err := readClientExchange(br, http.MethodGet)
		switch {
		case err != nil:
			t.Fatalf("%s, application answer %s: second request: %v", req.method, clip(raw), err)
		case second.final == nil || second.final.StatusCode != http.StatusOK || string(second.body) != "second" || second.bodyErr != nil || len(second.informational) > 0:
			t.Fatalf("%s, application answer %s: second request got %+v, body %s, %v; want 200 %q", req.method, clip(raw), second.final, clip(second.body), second.bodyErr, "second")
		case br.Buffered() > 0:
			b, _ := br.Peek(br.Buffered())
			t.Fatalf("%s, application answer %s: %s after the second response", req.method, clip(raw), clip(b))
		}
	})
}

// waitStale reports whether the request for path arrived on a connection
// the application had half-closed; the application may still be reading
// it when the proxy's 502 reaches the client.
func waitStale(stale *sync.Map, path string) bool {
	for range 20 {
		if _, ok := stale.LoadAndDelete(path); ok {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// directResponse is the direct reading of an application's answer.
type directResponse struct {
	informational []int
	interim       []http.Header // the 1xx responses' fields
	// refused is why net/http's client (or the proxies' documented
	// bounds, which are net/http's too) refuses the answer; "" if not.
	refused string
	final   *http.Response
	body    []byte
	bodyErr error // the body ends before its framing does
	// bounded: a head reaches the proxies' bounds, so a 502 is allowed.
	bounded bool
	// headsEnd is where the final head ends in the answer.
	headsEnd int
}

// readDirectResponse reads raw as net/http's client reads an answer to a
// request with method: 1xx responses (at most maxInformational, as its
// Transport), then the final one, its body and trailers.
func readDirectResponse(raw []byte, method string) directResponse {
	var d directResponse
	cr := &countingReader{r: bytes.NewReader(raw)}
	br := bufio.NewReader(cr)
	req := &http.Request{Method: method}
	for {
		start := cr.n - br.Buffered()
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			d.refused = "head: " + err.Error()
			return d
		}
		// h1Client bounds all heads together, the Transport each one,
		// HTTP/2 the header list with 32 bytes per field on top; half
		// the bound leaves room for what the proxies add (Date, the
		// pseudo-header) without modelling each count.
		if end := cr.n - br.Buffered(); end > pairResponseHeaderBytes/2 || end-start+32*headerFields(resp.Header) > pairResponseHeaderBytes/2 {
			d.bounded = true
		}
		code := resp.StatusCode
		switch {
		case code == http.StatusSwitchingProtocols:
			d.refused = "101 without an upgrade"
			return d
		case code < 100:
			d.refused = "status code " + strconv.Itoa(code)
			return d
		case code < 200:
			if len(d.informational) == maxInformational {
				d.refused = "too many 1xx responses"
				return d
			}
			d.informational = append(d.informational, code)
			d.interim = append(d.interim, resp.Header)
			continue
		}
		d.final = resp
		d.headsEnd = cr.n - br.Buffered()
		d.body, d.bodyErr = io.ReadAll(resp.Body)
		return d
	}
}

// headerFields counts h's field lines.
func headerFields(h http.Header) int {
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	return n
}

// readPairExchange is readClientExchange that also returns the fields of
// the 1xx responses, which it reads itself.
func readPairExchange(br *bufio.Reader, method string) (clientExchange, []http.Header, error) {
	var interim []http.Header
	var codes []int
	for {
		head, err := readStrictHead(br)
		if err != nil {
			break // readClientExchange reports it
		}
		code, _ := strconv.Atoi(string(head[min(9, len(head)):min(12, len(head))]))
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return clientExchange{}, nil, fmt.Errorf("strict head refused by net/http: %w", err)
		}
		codes = append(codes, resp.StatusCode)
		interim = append(interim, resp.Header)
	}
	x, err := readClientExchange(br, method)
	x.informational = append(codes, x.informational...)
	return x, interim, err
}

// compareInterim describes how the fields of a 1xx response the client got
// differ from the application's ("" for not at all), by the rules of
// pairResponseFields.
func compareInterim(want, got http.Header) string {
	wh, _ := pairResponseFields(http.MethodGet, &http.Response{StatusCode: http.StatusContinue, Header: want})
	gh, _ := pairResponseFields(http.MethodGet, &http.Response{StatusCode: http.StatusContinue, Header: got})
	var diffs []string
	for _, k := range sortedKeys(wh, gh) {
		if !slices.Equal(wh[k], gh[k]) {
			diffs = append(diffs, fmt.Sprintf("field %s %q, the application sent %q", k, gh[k], wh[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

// isProxyError reports whether resp is an error page of a proxy.
func isProxyError(resp *http.Response) bool {
	return resp.StatusCode == http.StatusBadGateway && resp.Header.Get("meshctl-proxy-error") != ""
}

// comparePairResponse describes how the client's exchange got differs
// from what the direct reading want calls for ("" for not at all).
func comparePairResponse(method string, want directResponse, got clientExchange) string {
	if len(got.informational) > len(want.informational) || !slices.Equal(got.informational, want.informational[:len(got.informational)]) {
		return fmt.Sprintf("1xx %v, the application sent %v", got.informational, want.informational)
	}
	switch {
	case want.refused != "":
		if got.final != nil && !isProxyError(got.final) {
			return fmt.Sprintf("refused by the direct reading (%s), yet the client got %d %v body %s", want.refused, got.final.StatusCode, got.final.Header, clip(got.body))
		}
		return ""
	case got.final == nil:
		if want.bodyErr != nil {
			return "" // the end before the head: nothing looked complete
		}
		return "the connection ended without a response"
	case isProxyError(got.final) && want.final.StatusCode != http.StatusBadGateway:
		if want.bodyErr != nil || want.bounded {
			return ""
		}
		return fmt.Sprintf("502 %s from a proxy for a well-formed %d", got.final.Header.Get("meshctl-proxy-error"), want.final.StatusCode)
	}
	var diffs []string
	if got.final.StatusCode != want.final.StatusCode {
		diffs = append(diffs, fmt.Sprintf("status %d, the application sent %d", got.final.StatusCode, want.final.StatusCode))
	}
	if !slices.Equal(got.informational, want.informational) {
		diffs = append(diffs, fmt.Sprintf("1xx %v, the application sent %v", got.informational, want.informational))
	}
	if want.bodyErr != nil {
		if !bytes.HasPrefix(want.body, got.body) || got.bodyErr == nil {
			diffs = append(diffs, fmt.Sprintf("body cut off (%v) after %s: the client got %s, %v; want a prefix and an error", want.bodyErr, clip(want.body), clip(got.body), got.bodyErr))
		}
		return strings.Join(diffs, "; ")
	}
	wantBody := want.body
	if method == http.MethodHead {
		wantBody = nil
	}
	if !bytes.Equal(got.body, wantBody) || got.bodyErr != nil {
		diffs = append(diffs, fmt.Sprintf("body %s, %v; the application sent %s", clip(got.body), got.bodyErr, clip(wantBody)))
	}
	wh, wt := pairResponseFields(method, want.final)
	gh, gt := pairResponseFields(method, got.final)
	for _, k := range sortedKeys(wh, gh) {
		if !slices.Equal(wh[k], gh[k]) {
			diffs = append(diffs, fmt.Sprintf("field %s %q, the application sent %q", k, gh[k], wh[k]))
		}
	}
	for _, k := range sortedKeys(wt, gt) {
		if !slices.Equal(wt[k], gt[k]) {
			diffs = append(diffs, fmt.Sprintf("trailer %s %q, the application sent %q", k, gt[k], wt[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

// pairResponseFields returns resp's end-to-end header fields and the
// trailers a client can rely on, as the pair of proxies forwards them:
//   - no hop-by-hop field (RFC 9110 section 7.6.1), nor those the
//     Connection field names (removeHopByHop);
//   - no Content-Length but for HEAD and 304, where it describes the
//     representation (as a number: "000" is "0"); elsewhere it is
//     framing, and the body is compared, and a 204 has none;
//   - no Date: a proxy adds one when the application sent none
//     (h1Response.WriteHeader, net/http's HTTP/2 server), and keeps one;
//   - gRPC's status fields move to trailers (moveGRPCStatusToTrailers):
//     they count as trailers wherever they are;
//   - trailers that HTTP/2 cannot carry (httpguts.ValidTrailerHeader) and
//     those never declared in a Trailer field may be dropped.
func pairResponseFields(method string, resp *http.Response) (header, trailer http.Header) {
	header = resp.Header.Clone()
	removeHopByHop(header)
	for k, vv := range header {
		if !httpguts.ValidHeaderFieldName(k) {
			// A name that is no token ("X-A " before its colon) is
			// dropped by both writers (appendFields, HTTP/2's
			// encodeHeaders) rather than repaired.
			delete(header, k)
			continue
		}
		// Whitespace around a value is not part of it (RFC 9110
		// section 5.5); net/textproto keeps what an obs-fold left at
		// the end, the client's parser trims it.
		for i, v := range vv {
			vv[i] = strings.Trim(v, " \t")
		}
	}
	switch cl := header.Get("Content-Length"); {
	case resp.StatusCode == http.StatusNoContent, method != http.MethodHead && resp.StatusCode != http.StatusNotModified:
		// A 204 has none to send (RFC 9110 section 8.6).
		delete(header, "Content-Length")
	case cl != "":
		// Each hop writes the number it parsed: "000" becomes "0".
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			header["Content-Length"] = []string{strconv.FormatInt(n, 10)}
		}
	}
	delete(header, "Date")
	trailer = http.Header{}
	for k, vv := range resp.Trailer {
		if len(vv) > 0 && httpguts.ValidTrailerHeader(k) {
			trailer[k] = vv
		}
	}
	if strings.HasPrefix(header.Get("Content-Type"), "application/grpc") {
		for _, k := range grpcStatusFields {
			if vv, ok := header[k]; ok {
				trailer[k] = vv
				delete(header, k)
			}
		}
	}
	return header, trailer
}

// grpcStatusFields are the fields moveGRPCStatusToTrailers moves.
var grpcStatusFields = []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}

// pairResponseSeeds are answers of every shape the pair frames differently,
// with the request each answers (0 GET, 1 HEAD, 2 POST).
func pairResponseSeeds() []struct {
	sel byte
	raw string
} {
	return []struct {
		sel byte
		raw string
	}{
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"},
		{2, "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nLocation: /x\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-Other\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Other: a\r\nX-Other: b\r\n\r\n"},
		{2, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nshort"},
		{2, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{0, "HTTP/1.1 204 No Content\r\nX-A: a\r\nContent-Length: 5\r\n\r\nhello"},
		{0, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 5\r\n\r\nhello"},
		{1, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"},
		{1, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"},
		{2, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Fold: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\nContent-Type: text/plain\nX-A: a\nContent-Length: 2\n\nok"},
		{0, "HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 600 High\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: Host, Authorization, X-Ok\r\n\r\n2\r\nok\r\n0\r\nHost: evil\r\nAuthorization: x\r\nX-Ok: 1\r\n\r\n"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Big: " + strings.Repeat("a", 2000) + "\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"},
		{2, "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nGrpc-Status: 0\r\nGrpc-Message: fine\r\nContent-Length: 0\r\n\r\n"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A : a\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>"},
		{2, "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
		{0, "HTTP/1.1 103 Early Hints\r\nConnection: X-Hop\r\nX-Hop: h\r\nKeep-Alive: 5\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"},
		{0, ""},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nGrpc-Status: \xd9\r\nContent-Length: 2\r\n\r\nok"},
		{0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nGrpc-Status: 99999999\r\nContent-Length: 2\r\n\r\nok"},
	}
}

package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstreamFuzzHeaderBytes is the inbound side's MaxHeaderBytes in
// FuzzH1Upstream: the smallest the config takes, so that the response head
// limit (this plus h1BufSize) is within reach of the fuzzer's inputs.
const upstreamFuzzHeaderBytes = 1 << 10

// upstreamFuzzDeadline bounds one iteration's client connection: an
// iteration takes milliseconds, so reaching it means the proxy hung.
const upstreamFuzzDeadline = 2 * time.Second

// secondAnswer is what the upstream answers the second request of an
// iteration, on a connection of its own.
const secondAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"

// upstreamAnswer is what a strict reading of the upstream's bytes expects
// the proxy to make of them (net/http's parser, as h1Client's, plus the
// proxy's own bounds).
type upstreamAnswer struct {
	informational []int // the 1xx codes before the final response
	// malformed is why the proxy must answer 502 ("" when it must not).
	malformed string
	status    int
	body      []byte
	bodyErr   error // the body ends before its framing does
}

// clip shortens raw for a failure message.
func clip(raw []byte) string {
	const most = 400
	if len(raw) <= most {
		return strconv.Quote(string(raw))
	}
	return fmt.Sprintf("%q... (%d bytes)", raw[:most], len(raw))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// readUpstreamAnswer reads raw, the whole of what the upstream sends in
// answer to a request with method before closing, as h1Client does: up to
// maxInformational 1xx responses, no 101, a final head that ends within
// headLimit bytes. A status code below 100 is malformed too: no class of
// RFC 9110 section 15 has it.
func readUpstreamAnswer(raw []byte, method string, headLimit int) upstreamAnswer {
	d := readDirectResponse(raw, method)
	a := upstreamAnswer{informational: d.informational, malformed: d.refused}
	switch {
	case d.final == nil:
	case d.headsEnd > headLimit:
		a.malformed = fmt.Sprintf("heads end at byte %d, past %d", d.headsEnd, headLimit)
	default:
		a.status, a.body, a.bodyErr = d.final.StatusCode, d.body, d.bodyErr
	}
	return a
}

// stageAnswers stores raw as the upstream's answer to the iteration's
// first request and secondAnswer to its second, by path, for the test's
// duration; it returns the iteration's path prefix.
func stageAnswers(t *testing.T, answers *sync.Map, iteration *atomic.Int64, raw []byte) string {
	prefix := "/" + strconv.FormatInt(iteration.Add(1), 10)
	answers.Store(prefix+"/1", raw)
	answers.Store(prefix+"/2", []byte(secondAnswer))
	t.Cleanup(func() {
		answers.Delete(prefix + "/1")
		answers.Delete(prefix + "/2")
	})
	return prefix
}

// dialFor connects to addr for at most d, closed when the test ends.
func dialFor(t *testing.T, addr string, d time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(d))
	return c
}

// readStrictHead returns the next response head on br without consuming
// it, after checking it as a strict parser would: every line ends in CRLF
// and no byte is a control character other than HTAB. io.EOF means the
// connection ended cleanly before the head's first byte.
func readStrictHead(br *bufio.Reader) ([]byte, error) {
	for {
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			head := b[:i+4]
			for j, c := range head {
				switch {
				case c == '\r' && (j+1 == len(head) || head[j+1] != '\n'):
					return nil, fmt.Errorf("bare CR at byte %d of head %s", j, clip(head))
				case c == '\n' && (j == 0 || head[j-1] != '\r'):
					return nil, fmt.Errorf("bare LF at byte %d of head %s", j, clip(head))
				case (c < ' ' && c != '\t' && c != '\r' && c != '\n') || c == 0x7f:
					return nil, fmt.Errorf("control byte %#x at byte %d of head %s", c, j, clip(head))
				}
			}
			return head, nil
		}
		if len(b) == br.Size() {
			return nil, fmt.Errorf("head longer than %d bytes: %s", len(b), clip(b))
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			if len(b) == 0 && errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("head cut off after %s: %w", clip(b), err)
		}
	}
}

// clientExchange is what the client made of the proxy's answer to one
// request.
type clientExchange struct {
	informational []int
	final         *http.Response // nil: the connection ended before it
	body          []byte
	bodyErr       error
}

// readClientExchange reads the proxy's answer to one request: 1xx
// responses, then the final one and its body to its framing's end. An
// error is a broken invariant.
func readClientExchange(br *bufio.Reader, method string) (clientExchange, error) {
	var x clientExchange
	for {
		if _, err := readStrictHead(br); err != nil {
			if errors.Is(err, io.EOF) {
				return x, nil
			}
			return x, err
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return x, fmt.Errorf("strict head refused by net/http: %w", err)
		}
		code := resp.StatusCode
		if code == http.StatusSwitchingProtocols {
			return x, errors.New("proxy sent 101 to a request without an upgrade")
		}
		if code >= 100 && code < 200 {
			x.informational = append(x.informational, code)
			continue
		}
		x.final = resp
		x.body, x.bodyErr = io.ReadAll(resp.Body)
		for k, vv := range resp.Trailer {
			for _, v := range vv {
				if strings.ContainsAny(v, "\r\n\x00") {
					return x, fmt.Errorf("trailer %s: %q", k, v)
				}
			}
		}
		return x, nil
	}
}

// FuzzH1Upstream puts an upstream's raw answer to one request through the
// inbound side's HTTP/1.1 loop (h1Response) and its direct client
// (h1Client): the input is every byte the upstream writes before it
// half-closes. The upstream serves one request per connection: after its
// answer it sends FIN and drains what comes until the proxy closes or
// upstreamFuzzDeadline passes, so that a close-delimited body ends, a
// connection the proxy pooled yields EOF to the next request (which the
// client sends again on a new connection, as designed) unless the answer
// left bytes in it, and an unread request never turns the close into a
// reset.
//
// The client sends a GET (or, with head, a HEAD) and reads the proxy's
// answer with a strict parser. What must hold:
//   - no hang: every read is within upstreamFuzzDeadline;
//   - every head the client gets is whole and strict (CRLF lines, no
//     control bytes in values), and net/http parses it;
//   - an answer a strict reading refuses (readUpstreamAnswer) yields 502;
//   - a well-framed answer arrives with the same 1xx codes, status and
//     body bytes;
//   - a body the upstream cut short arrives as a prefix and then ends in
//     an error the client sees (the head was out: only the close says
//     so, forward.go), or the connection closes before the final head;
//   - the connection that stays open carries nothing more, and a second
//     request on it gets its own answer (no desync, on either side);
//     one that says Connection: close is closed.
func FuzzH1Upstream(f *testing.F) {
	big := strings.Repeat("b", 9000)
	seeds := []struct {
		head bool
		raw  string
	}{
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
		{false, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Late: 1\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\n\r\nuntil the close"},
		{false, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close"},
		{false, "HTTP/1.1 204 No Content\r\n\r\n"},
		{false, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"},
		{false, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"},
		{false, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello"},
		{true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"},
		{true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
		{true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"},
		{false, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{false, strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\nX-A: a\nContent-Length: 2\n\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-A: a\x01b\x7f\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 6000) + "\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 3000) + "\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 2000 OK\r\n\r\n"},
		{false, "HTTP/1.1 000 Zero\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 999 High\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/9.9 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{false, "SSH-2.0-OpenSSH_9.6\r\n"},
		{false, "\r\nHTTP/1.1 200 OK\r\n\r\n"},
		{false, ""},
		{false, "HTTP/1.0 200 OK\r\n\r\nten"},
		{false, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nten"},
		{false, "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big + "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"},
		{true, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"},
		{false, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: a\x00b\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Len"},
		{false, "HTTP/1.1 200 OK\r\n"},
		{false, "HTTP/1.1 200 OK\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{false, "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nGrpc-Status: 0\r\nContent-Length: 0\r\n\r\n"},
	}
	for _, s := range seeds {
		f.Add(s.head, []byte(s.raw))
	}

	// The answers by request path: /<iteration>/1 gets the input,
	// /<iteration>/2 gets secondAnswer.
	var answers sync.Map
	up := startRawUpstream(f, func(c net.Conn, br *bufio.Reader) {
		_ = c.SetDeadline(time.Now().Add(upstreamFuzzDeadline))
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if raw, ok := answers.Load(r.URL.Path); ok {
			_, _ = c.Write(raw.([]byte))
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithCancel(context.Background())
	_, ls, done := startProxyWith(f, ctx, Config{
		InboundTarget:       up.addr,
		MaxHeaderBytes:      upstreamFuzzHeaderBytes,
		ShutdownGracePeriod: time.Second,
		DetectTimeout:       300 * time.Millisecond,
		ReadHeaderTimeout:   300 * time.Millisecond,
	}, Deps{}, Listeners{})
	f.Cleanup(func() { cancel(); <-done })
	addr := ls.Inbound.Addr().String()
	var iteration atomic.Int64

	f.Fuzz(func(t *testing.T, head bool, raw []byte) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		want := readUpstreamAnswer(raw, method, upstreamFuzzHeaderBytes+h1BufSize)
		prefix := stageAnswers(t, &answers, &iteration, raw)
		c := dialFor(t, addr, upstreamFuzzDeadline)
		br := bufio.NewReaderSize(c, 64<<10)
		if _, err := fmt.Fprintf(c, "%s %s/1 HTTP/1.1\r\nHost: app\r\n\r\n", method, prefix); err != nil {
			t.Fatal(err)
		}
		got, err := readClientExchange(br, method)
		if err != nil {
			t.Fatalf("%s, upstream answer %s: %v", method, clip(raw), err)
		}
		if !checkUpstreamExchange(t, method, raw, want, got) {
			return
		}
		if got.final.Close {
			if b, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("%s, upstream answer %s: after a Connection: close response, read %q, %v; want EOF", method, clip(raw), b, err)
			}
			return
		}
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			t.Fatalf("%s, upstream answer %s: %s after the response", method, clip(raw), clip(b))
		}
		if _, err := fmt.Fprintf(c, "GET %s/2 HTTP/1.1\r\nHost: app\r\n\r\n", prefix); err != nil {
			t.Fatal(err)
		}
		second, err := readClientExchange(br, http.MethodGet)
		switch {
		case err != nil:
			t.Fatalf("%s, upstream answer %s: second request: %v", method, clip(raw), err)
		case second.final == nil || second.final.StatusCode != http.StatusOK || string(second.body) != "second" || second.bodyErr != nil || len(second.informational) > 0:
			t.Fatalf("%s, upstream answer %s: second request got %+v, body %s, %v; want 200 %q", method, clip(raw), second.final, clip(second.body), second.bodyErr, "second")
		case br.Buffered() > 0:
			b, _ := br.Peek(br.Buffered())
			t.Fatalf("%s, upstream answer %s: %s after the second response", method, clip(raw), clip(b))
		}
	})
}

// checkUpstreamExchange compares what the client got with what the
// upstream's answer calls for; it reports whether the client connection
// is still usable for another request.
func checkUpstreamExchange(t *testing.T, method string, raw []byte, want upstreamAnswer, got clientExchange) bool {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s, upstream answer %s: "+format, append([]any{method, clip(raw)}, args...)...)
	}
	status := 0
	if got.final != nil {
		status = got.final.StatusCode
	}
	switch {
	case want.malformed != "":
		if status != http.StatusBadGateway || got.bodyErr != nil {
			fail("malformed (%s): got %d, body %s, %v; want 502", want.malformed, status, clip(got.body), got.bodyErr)
		}
	case want.bodyErr != nil:
		if got.final == nil {
			return false // closed before the final head: allowed
		}
		if status != want.status || !bytes.HasPrefix(want.body, got.body) || got.bodyErr == nil {
			fail("body cut off (%v) after %s: got %d, body %s, %v; want %d, a prefix, and an error", want.bodyErr, clip(want.body), status, clip(got.body), got.bodyErr, want.status)
		}
		return false
	default:
		wantBody := want.body
		if method == http.MethodHead {
			wantBody = nil
		}
		if status != want.status || !bytes.Equal(got.body, wantBody) || got.bodyErr != nil || fmt.Sprint(got.informational) != fmt.Sprint(want.informational) {
			fail("got 1xx %v, %d, body %s, %v; want 1xx %v, %d, body %s", got.informational, status, clip(got.body), got.bodyErr, want.informational, want.status, clip(wantBody))
		}
	}
	return true
}

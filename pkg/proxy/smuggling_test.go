package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// smugglingCase is one raw request sent to the proxy. want is the status
// the client must see; for refusals (4xx/5xx) the application must receive
// nothing and the proxy must close the connection.
type smugglingCase struct {
	name string
	raw  string
	want int
}

func smugglingCorpus() []smugglingCase {
	const h = "Host: app\r\n"
	cases := []smugglingCase{
		{"plain get", "GET / HTTP/1.1\r\n" + h + "\r\n", 200},
		{"plain post", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\n\r\nabc", 200},
		{"chunked post", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200},
		{"chunk extension", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n", 200},
		{"chunked trailers", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 200},
		{"identical duplicate content-length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 200},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\n" + h + "\r\n", 400},
		{"http/1.0", "GET / HTTP/1.0\r\n" + h + "\r\n", 200},
		{"upper-case hex chunk", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", 200},

		{"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\n" + h + "X-A : 1\r\n\r\n", 400},
		{"header without colon", "GET / HTTP/1.1\r\n" + h + "X-A 1\r\n\r\n", 400},
		{"nul in header value", "GET / HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n", 400},
		{"cr in header value", "GET / HTTP/1.1\r\n" + h + "X-A: a\rb\r\n\r\n", 400},
		// Not HTTP/1.0 or 1.1: detection hands the bytes to the application
		// unparsed (opaque), so proxy and application cannot disagree.
		{"unknown http version is opaque", "GET / HTTP/1.2\r\n" + h + "\r\n", 200},
		{"bare lf request line", "GET / HTTP/1.1\n" + h + "\r\n", 400},
		{"bare lf headers", "GET / HTTP/1.1\r\nHost: app\n\n", 400},
		{"bare lf end of head", "GET / HTTP/1.1\r\n" + h + "\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X-A: a\r\n b\r\n\r\n", 400},
		{"obs-fold tab", "GET / HTTP/1.1\r\n" + h + "X-A: a\r\n\tb\r\n\r\n", 400},
		{"obs-fold transfer-encoding", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
		// net/http ignores Transfer-Encoding in HTTP/1.0; the application
		// may not.
		{"http/1.0 chunked", "POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400},
		{"http/1.0 chunked hiding a request", "POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n" + h + "\r\n", 400},
	}
	// Content-Length together with Transfer-Encoding, in every order and spelling.
	for i, te := range []string{"chunked", "Chunked", "CHUNKED", " chunked", "chunked ", "identity, chunked"} {
		cases = append(cases,
			smugglingCase{fmt.Sprintf("cl then te %d", i), "POST / HTTP/1.1\r\n" + h + "Content-Length: 4\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n", 400},
			smugglingCase{fmt.Sprintf("te then cl %d", i), "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: " + te + "\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
		)
	}
	// Transfer-Encoding values that do not end in a single chunked.
	for i, te := range []string{"gzip", "chunked, gzip", "chunked, chunked", "xchunked", "chunked;q=1", "deflate, chunked"} {
		cases = append(cases, smugglingCase{fmt.Sprintf("unsupported te %d", i), "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n", 501})
	}
	cases = append(cases, smugglingCase{"two te headers", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501})
	// Malformed Content-Length.
	for i, cl := range []string{"-1", "+3", "3 3", "0x3", "3a", "", " ", "99999999999999999999", "3,3"} {
		cases = append(cases, smugglingCase{fmt.Sprintf("bad content-length %d", i), "POST / HTTP/1.1\r\n" + h + "Content-Length: " + cl + "\r\n\r\nabc", 400})
	}
	cases = append(cases, smugglingCase{"conflicting content-length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400})
	// Malformed chunked bodies.
	for i, body := range []string{
		"zz\r\nabc\r\n0\r\n\r\n",                // not hex
		"-3\r\nabc\r\n0\r\n\r\n",                // negative
		"3\nabc\r\n0\r\n\r\n",                   // bare LF after size
		"3\r\nabc\n0\r\n\r\n",                   // bare LF after data
		"3\r\nabcd\r\n0\r\n\r\n",                // data longer than size
		"3\r\nab\r\n0\r\n\r\n",                  // data shorter than size
		"0x3\r\nabc\r\n0\r\n\r\n",               // 0x prefix
		"\r\nabc\r\n0\r\n\r\n",                  // empty size
		"3 3\r\nabc\r\n0\r\n\r\n",               // two numbers
		"ffffffffffffffffff\r\nabc\r\n",         // overflow
		"3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n", // obs-fold in trailer
		"3\r\nabc\r\n0\n\n",                     // bare LF last chunk
	} {
		cases = append(cases, smugglingCase{fmt.Sprintf("bad chunked body %d", i), "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n" + body, 400})
	}
	// Oversized heads.
	cases = append(cases,
		smugglingCase{"huge header", "GET / HTTP/1.1\r\n" + h + "X-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431},
		smugglingCase{"many headers", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X-A: b\r\n", 10000) + "\r\n", 431},
		// A request line longer than detection reads is opaque, as above.
		smugglingCase{"huge request line is opaque", "GET /" + strings.Repeat("a", 70<<10) + " HTTP/1.1\r\n" + h + "\r\n", 200},
	)
	return cases
}

func TestSmugglingCorpus(t *testing.T) {
	var reached atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)

	corpus := smugglingCorpus()
	if len(corpus) < 60 {
		t.Fatalf("corpus has %d cases, want at least 60", len(corpus))
	}
	for _, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(20 * time.Millisecond) // let the previous case's backend call settle
			before := reached.Load()
			c, err := net.Dial("tcp", p.outbound)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			go func() { _, _ = io.WriteString(c, tc.raw) }()
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want < 400 {
				return
			}
			// A malformed chunked body is found only after its head went
			// upstream: the application sees a request whose body fails.
			if got := reached.Load() - before; got > 0 && !strings.HasPrefix(tc.name, "bad chunked body") {
				t.Fatalf("the application received %d requests of a refused message", got)
			}
			// The connection must be closed after a refusal.
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if n, err := br.Read(make([]byte, 1)); err == nil {
				t.Fatalf("connection still open after a refusal (read %d bytes)", n)
			}
		})
	}
}

// TestSmuggledSecondRequest hides a request inside the body of a CL+TE
// request: the application must never see it.
func TestSmuggledSecondRequest(t *testing.T) {
	var paths []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	smuggled := "GET /admin HTTP/1.1\r\nHost: app\r\n\r\n"
	_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: app\r\nContent-Length: "+fmt.Sprint(5+len(smuggled))+"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	_, _ = io.Copy(io.Discard, c)
	for _, path := range paths {
		if path == "/admin" {
			t.Fatal("the smuggled request reached the application")
		}
	}
}

// TestRefusedRequestAfterOneInFlight: a request the framing guard refuses,
// pipelined behind one the proxy is still serving, does not cancel that
// one: the client gets its response, then the 400 (or the end of the
// connection), and the application does not see the refused request
// whole. net/http's server reads a connection in the background while a
// request is served, and a read error there cancels the request in flight.
func TestRefusedRequestAfterOneInFlight(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	backend := newHTTP1Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return // a body that broke off: not a request
		}
		time.Sleep(200 * time.Millisecond) // the refused request arrives meanwhile
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		_, _ = io.WriteString(w, "first")
	}))
	// Both firsts are served by net/http's server, which reads ahead.
	firsts := map[string]string{
		"chunked":  "POST /first HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"http/1.0": "GET /first HTTP/1.0\r\nHost: app\r\nConnection: keep-alive\r\n\r\n",
	}
	seconds := map[string]string{
		"refused head": "POST /second HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"refused body": "POST /second HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
	}
	for fn, first := range firsts {
		for sn, second := range seconds {
			t.Run(fn+" then "+sn, func(t *testing.T) {
				mu.Lock()
				paths = nil
				mu.Unlock()
				p := newPair(t, backend, nil)
				c := dialTest(t, p.outbound)
				defer c.Close()
				br := bufio.NewReader(c)
				// In one write: the proxy reads the refused bytes with
				// the first request's.
				_, _ = io.WriteString(c, first+second)
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("the request in flight got no response: %v", err)
				}
				body, err := io.ReadAll(res.Body)
				if res.StatusCode != http.StatusOK || string(body) != "first" || err != nil {
					t.Fatalf("the request in flight got %d %q (%v)", res.StatusCode, body, err)
				}
				if res, err = http.ReadResponse(br, nil); err == nil {
					_, _ = io.Copy(io.Discard, res.Body) // to the end of the connection
					if res.StatusCode != http.StatusBadRequest {
						t.Fatalf("the refused request got %d, want 400 or the end of the connection", res.StatusCode)
					}
				}
				if n, err := br.Read(make([]byte, 1)); err == nil {
					t.Fatalf("connection still open after a refusal (read %d bytes)", n)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(paths) != 1 || paths[0] != "/first" {
					t.Fatalf("the application saw %v, want [/first]", paths)
				}
			})
		}
	}
}

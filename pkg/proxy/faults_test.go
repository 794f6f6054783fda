package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUpstreamRefused(t *testing.T) {
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p := newPair(t, addr, nil)
	start := time.Now()
	resp, err := http.Get("http://" + p.outbound + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a refused connection took %v to report", d)
	}
	eventually(t, func() bool {
		return hasSeries(p.server, "response_total", map[string]string{"status_code": "502", "error": "connect_error", "classification": "failure"})
	}, "the server proxy counts the refused upstream as a connect_error failure")
}

// TestUpstreamAnswerFailed: an upstream that was reached but did not
// answer with a response (it closed after reading the request, or sent
// bytes that are no response) is an upstream_error, on the client's
// response and in the metrics: connect_error would send an operator to
// look for a network fault where the application is at fault.
func TestUpstreamAnswerFailed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string // "" closes without a word
	}{
		{"closed", ""},
		{"not http", "SSH-2.0-OpenSSH_9.2\r\n"},
		{"status 099", "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := serveEach(t, func(c net.Conn) {
				defer c.Close()
				_, _ = http.ReadRequest(bufio.NewReader(c))
				_, _ = io.WriteString(c, tc.answer)
			})
			p := newPair(t, app, nil)
			resp, err := http.Get("http://" + p.outbound + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("meshctl-proxy-error") != "upstream_error" {
				t.Fatalf("%d %q, want 502 upstream_error", resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
			}
			eventually(t, func() bool {
				return hasSeries(p.server, "response_total", map[string]string{"status_code": "502", "error": "upstream_error", "classification": "failure"})
			}, "the server proxy counts the failed answer as an upstream_error")
		})
	}
}

// TestUpstreamResetMidResponse: the upstream dies half-way through a body
// whose length it announced; the client must see a broken response or a
// 502, never a short one that looks complete.
func TestUpstreamResetMidResponse(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("x", 100))
		_ = brw.Flush()
		_ = conn.(*net.TCPConn).SetLinger(0)
		_ = conn.Close() // RST
	}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)
	resp, err := http.Get("http://" + p.outbound + "/")
	if err != nil {
		return // refused before the headers: also correct
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusBadGateway {
		// The server proxy had not sent the head yet when the reset
		// came (it holds a response's first bytes for up to its flush
		// interval): the client proxy answers 502, which is not a
		// success either.
		return
	}
	if err == nil {
		t.Fatalf("read a complete-looking body of %d bytes (status %d) after the upstream reset", len(body), resp.StatusCode)
	}
}

// TestSlowlorisClosed: a client that never finishes its request head is
// disconnected after the read-header timeout.
func TestSlowlorisClosed(t *testing.T) {
	var reached atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), func(c *Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
	})
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: app\r\n")
	start := time.Now()
	for i := 0; i < 20; i++ {
		if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The server closes (possibly after a 408); a read hits EOF or reset.
	_, err = io.ReadAll(bufio.NewReader(c))
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("slow client kept its connection for %v (read err %v)", d, err)
	}
	if reached.Load() != 0 {
		t.Fatal("the incomplete request reached the application")
	}
}

// TestLargeBodyStreamsWithFlatMemory posts and downloads 1 GiB through the
// pair, over an HTTP/1.1 hop and over the meshed HTTP/2 hop in mutual
// TLS; the heap must stay flat (bodies are streamed, never buffered).
func TestLargeBodyStreamsWithFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 4 GiB")
	}
	const size = 1 << 30
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, _ := io.Copy(io.Discard, r.Body)
			w.Header().Set("X-Received", itoa(n))
			return
		}
		w.Header().Set("Content-Length", itoa(size))
		_, _ = io.Copy(w, io.LimitReader(zeros{}, size))
	}))
	defer backend.Close()
	backendAddr := strings.TrimPrefix(backend.URL, "http://")
	t.Run("plaintext", func(t *testing.T) {
		streamLargeBodies(t, newPair(t, backendAddr, nil).outbound, size)
	})
	t.Run("mtls", func(t *testing.T) {
		_, _, outbound := meshedPair(t, backendAddr, EndpointH2)
		streamLargeBodies(t, outbound, size)
	})
}

// streamLargeBodies posts size bytes to, and downloads size bytes from,
// the proxy at outbound, watching the heap.
func streamLargeBodies(t *testing.T, outbound string, size int64) {
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	resp, err := http.Post("http://"+outbound+"/", "application/octet-stream", io.LimitReader(zeros{}, size))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Received"); got != itoa(size) {
		t.Fatalf("upload: backend received %s bytes", got)
	}
	resp, err = http.Get("http://" + outbound + "/")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(stop)
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	if growth := int64(peak.Load()) - int64(base.HeapInuse); growth > 64<<20 {
		t.Fatalf("heap grew by %d MiB while streaming 1 GiB each way", growth>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

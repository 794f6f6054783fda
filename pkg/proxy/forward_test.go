package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The loop's bodiless requests skip httputil.ReverseProxy (forward.go) and
// must get its header rules all the same: hop-by-hop fields removed both
// ways (those the Connection field names too), Te: trailers kept,
// forwarding headers dropped, no Go User-Agent added, an ambiguous query
// re-encoded.
func TestForwardHeaderRules(t *testing.T) {
	var mu sync.Mutex
	var seen *http.Request
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/raw", func(w http.ResponseWriter, _ *http.Request) {
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nConnection: X-Bar\r\nX-Bar: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok")
		_ = bw.Flush()
	})
	addr, _, _ := inboundProxy(t, mux, 2*time.Second)

	rc := dialRaw(t, addr)
	rc.send("GET /path?a=1;b=2 HTTP/1.1\r\nHost: app\r\nConnection: X-Foo\r\nX-Foo: 1\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authorization: Basic eA==\r\nTe: trailers, deflate\r\nX-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Kept: yes\r\n\r\n")
	if resp, body, err := rc.response("GET"); err != nil || resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %v %q, %v", resp, body, err)
	}
	mu.Lock()
	r := seen
	mu.Unlock()
	for _, k := range []string{"X-Foo", "Keep-Alive", "Proxy-Authorization", "X-Forwarded-For", "Forwarded", "User-Agent"} {
		if v, ok := r.Header[k]; ok {
			t.Errorf("the application got %s: %q", k, v)
		}
	}
	if got := r.Header.Get("Te"); got != "trailers" {
		t.Errorf("Te %q, want trailers", got)
	}
	if got := r.Header.Get("X-Kept"); got != "yes" || r.Host != "app" || r.URL.Path != "/path" {
		t.Errorf("X-Kept %q, Host %q, path %q", got, r.Host, r.URL.Path)
	}
	if r.URL.RawQuery != "" {
		t.Errorf("query %q reached the application as it was; want it re-encoded (empty)", r.URL.RawQuery)
	}

	rc.send("GET /raw HTTP/1.1\r\nHost: app\r\n\r\n")
	resp, body, err := rc.response("GET")
	if err != nil || body != "ok" {
		t.Fatalf("raw: %v %q, %v", resp, body, err)
	}
	for _, k := range []string{"X-Bar", "Keep-Alive"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("the client got %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-Kept") != "yes" || strings.Contains(strings.Join(resp.Header["Connection"], ","), "X-Bar") {
		t.Errorf("response header %v", resp.Header)
	}
}

package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyOfKnownLengthFlows: the proxies hold a response's first
// bytes for at most their flush interval (so that a small response leaves
// in one write), never until the body ends: the head and the first part
// of a body whose last part is slow reach the client while the upstream
// still holds it back, whether the hop between the proxies is HTTP/1.1 or
// HTTP/2 inside mTLS.
func TestSlowBodyOfKnownLengthFlows(t *testing.T) {
	for _, hop := range []string{"plaintext", "mtls"} {
		t.Run(hop, func(t *testing.T) {
			release := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "10")
				_, _ = io.WriteString(w, "first")
				http.NewResponseController(w).Flush()
				<-release
				_, _ = io.WriteString(w, "-last")
			}))
			defer backend.Close()
			defer close(release)
			backendAddr := strings.TrimPrefix(backend.URL, "http://")
			var outbound string
			if hop == "mtls" {
				_, _, outbound = meshedPair(t, backendAddr, EndpointH2)
			} else {
				outbound = newPair(t, backendAddr, nil).outbound
			}
			expectFirstPartEarly(t, "http://"+outbound+"/")
		})
	}
}

// expectFirstPartEarly gets url and expects its head and the first five
// bytes of its body within five seconds.
func expectFirstPartEarly(t *testing.T, url string) {
	t.Helper()
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		got <- result{resp, err}
	}()
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.resp.Body.Close()
		buf := make([]byte, 5)
		read := make(chan error, 1)
		go func() { _, err := io.ReadFull(r.resp.Body, buf); read <- err }()
		select {
		case err := <-read:
			if err != nil || string(buf) != "first" {
				t.Fatalf("first part: %q, %v", buf, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the first part of the body waited for the rest")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the response head waited for the end of the body")
	}
}

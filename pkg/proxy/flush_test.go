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
			outbound := pairOver(t, hop, backend)
			expectFirstPartEarly(t, "http://"+outbound+"/")
		})
	}
}

// pairOver starts a client and a server proxy in front of backend, the hop
// between them "plaintext" (HTTP/1.1) or "mtls" (HTTP/2 inside mutual
// TLS), and returns the client proxy's outbound address.
func pairOver(t *testing.T, hop string, backend *httptest.Server) string {
	t.Helper()
	addr := strings.TrimPrefix(backend.URL, "http://")
	if hop == "mtls" {
		_, _, outbound := meshedPair(t, addr, EndpointH2)
		return outbound
	}
	return newPair(t, addr, nil).outbound
}

// expectFirstPartEarly gets url and expects its head and the first five
// bytes of its body within five seconds each.
func expectFirstPartEarly(t *testing.T, url string) {
	t.Helper()
	resp := getHead(t, url, make(chan struct{}))
	defer resp.Body.Close()
	buf := make([]byte, 5)
	read := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, buf); read <- err }()
	select {
	case err := <-read:
		if err != nil || string(buf) != "first" {
			t.Fatalf("first part: %q, %v", buf, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first part of the body waited for the rest")
	}
}

// TestHeadBeforeItsBody: a response whose body has not started reaches
// the client as its head, over either hop, whether its length is unknown
// (server-sent events before the first event: an EventSource opens on the
// head) or known (an upstream that sends its head before it has its
// body). The upstream sends its body only once the client has the head.
func TestHeadBeforeItsBody(t *testing.T) {
	for _, tc := range []struct {
		name         string
		field, value string
		body         string
	}{
		{"stream", "Content-Type", "text/event-stream", "data: first\n\n"},
		{"known length", "Content-Length", "4", "body"},
	} {
		for _, hop := range []string{"plaintext", "mtls"} {
			t.Run(tc.name+"/"+hop, func(t *testing.T) {
				headSeen := make(chan struct{})
				backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set(tc.field, tc.value)
					w.WriteHeader(http.StatusOK)
					http.NewResponseController(w).Flush()
					select {
					case <-headSeen:
					case <-time.After(10 * time.Second):
					}
					_, _ = io.WriteString(w, tc.body)
				}))
				defer backend.Close()
				outbound := pairOver(t, hop, backend)
				resp := getHead(t, "http://"+outbound+"/", headSeen)
				defer resp.Body.Close()
				if got := resp.Header.Get(tc.field); got != tc.value {
					t.Errorf("%s: %q, want %q", tc.field, got, tc.value)
				}
				if b, err := io.ReadAll(resp.Body); err != nil || string(b) != tc.body {
					t.Fatalf("body %q, %v; want %q", b, err, tc.body)
				}
			})
		}
	}
}

// getHead gets url and returns its response once the head has arrived,
// closing headSeen then; it fails t when the head takes five seconds.
func getHead(t *testing.T, url string, headSeen chan struct{}) *http.Response {
	t.Helper()
	defer close(headSeen)
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
		return r.resp
	case <-time.After(5 * time.Second):
		t.Fatal("the response head waited for its body")
		return nil
	}
}

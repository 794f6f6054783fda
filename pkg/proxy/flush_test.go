package proxy

import (
	"errors"
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

// TestStreamHeadBeforeItsFirstEvent: a response of unknown length whose
// body has not started (server-sent events before the first event) reaches
// the client as its head, at once, over either hop: an EventSource opens on
// the head.
func TestStreamHeadBeforeItsFirstEvent(t *testing.T) {
	for _, hop := range []string{"plaintext", "mtls"} {
		t.Run(hop, func(t *testing.T) {
			release := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				http.NewResponseController(w).Flush()
				<-release
				_, _ = io.WriteString(w, "data: first\n\n")
			}))
			defer backend.Close()
			defer close(release)
			outbound := pairOver(t, hop, backend)
			got := make(chan error, 1)
			go func() {
				resp, err := http.Get("http://" + outbound + "/events")
				if err == nil {
					_ = resp.Body.Close()
					if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
						err = errors.New("content type " + ct)
					}
				}
				got <- err
			}()
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the stream's head waited for its first event")
			}
		})
	}
}

// TestKnownLengthHeadBeforeItsBody: a response of known length whose body
// has not started reaches the client as its head, without waiting for the
// body, over either hop: the upstream sends its body only once the client
// has the head.
func TestKnownLengthHeadBeforeItsBody(t *testing.T) {
	for _, hop := range []string{"plaintext", "mtls"} {
		t.Run(hop, func(t *testing.T) {
			headSeen := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "4")
				w.WriteHeader(http.StatusOK)
				http.NewResponseController(w).Flush()
				select {
				case <-headSeen:
				case <-time.After(10 * time.Second):
				}
				_, _ = io.WriteString(w, "body")
			}))
			defer backend.Close()
			outbound := pairOver(t, hop, backend)
			got := make(chan *http.Response, 1)
			go func() {
				resp, err := http.Get("http://" + outbound + "/")
				if err != nil {
					t.Error(err)
					close(got)
					return
				}
				got <- resp
			}()
			select {
			case resp, ok := <-got:
				if !ok {
					return
				}
				close(headSeen)
				defer resp.Body.Close()
				if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "body" {
					t.Fatalf("body %q, %v", b, err)
				}
			case <-time.After(5 * time.Second):
				close(headSeen)
				t.Fatal("the head of a response of known length waited for its body")
			}
		})
	}
}

package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// protoBackend is an HTTP/1.1-only application that notes what reached it.
type protoBackend struct {
	url   string
	mu    sync.Mutex
	seen  map[string]int // "proto|orig-proto header|client id"
	total int
}

func newProtoBackend(t *testing.T) *protoBackend {
	b := &protoBackend{seen: map[string]int{}}
	srv := newHTTP1Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen[r.Proto+"|"+r.Header.Get(HeaderOrigProto)+"|"+r.Header.Get(HeaderClientID)]++
		b.total++
		b.mu.Unlock()
		time.Sleep(20 * time.Millisecond) // requests overlap: a pool of HTTP/1 connections would grow
		switch r.URL.Path {
		case "/echo":
			// An HTTP/1 server stops the body at the first response
			// write unless it is told request and response interleave.
			_ = http.NewResponseController(w).EnableFullDuplex()
			w.Header().Set("Trailer", "X-Length")
			n, _ := io.Copy(w, r.Body)
			w.Header().Set("X-Length", fmt.Sprint(n))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		default:
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		}
	}))
	b.url = srv
	return b
}

// newHTTP1Server serves h on loopback with HTTP/1.1 only and returns its
// address.
func newHTTP1Server(t *testing.T, h http.Handler) string {
	t.Helper()
	ln := listenLoopback(t)
	var p http.Protocols
	p.SetHTTP1(true)
	srv := &http.Server{Handler: h, Protocols: &p, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// counterSum adds up the counter name over the series carrying labels.
func counterSum(p *Proxy, name string, labels map[string]string) float64 {
	sum := 0.0
	for _, m := range seriesWith(p, name, labels) {
		sum += m.GetCounter().GetValue()
	}
	return sum
}

// TestHTTP1CarriedOverH2BetweenProxies: HTTP/1 requests to an endpoint
// whose proxy takes them over HTTP/2 share one mTLS connection between the
// two proxies, whatever the application does with its own connections,
// and reach the application as the HTTP/1.1 requests they were: bodies,
// trailers, Connection: close and HEAD included. Without the hint each
// concurrent request needs a connection of its own.
func TestHTTP1CarriedOverH2BetweenProxies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hint      EndpointProtocol
		wantConns func(float64) bool
		want      string
	}{
		{"hint h2", EndpointH2, func(n float64) bool { return n >= 1 && n <= 2 }, "at most 2"},
		{"no hint", EndpointDetect, func(n float64) bool { return n > 2 }, "more than 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := newProtoBackend(t)
			client, server, outbound := meshedPair(t, backend.url, tc.hint)
			base := "http://" + outbound

			const workers, each = 16, 6
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// A new application connection for every request.
					hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
					for i := range each {
						errs <- exchangeOnce(hc, base, w, i)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}

			backend.mu.Lock()
			want := "HTTP/1.1||" + clientID
			if backend.seen[want] != workers*each || backend.total != workers*each {
				t.Errorf("the application saw %v, want %d requests as %q", backend.seen, workers*each, want)
			}
			backend.mu.Unlock()
			conns := counterSum(server, "tcp_open_total", map[string]string{"direction": "inbound", "peer": "src"})
			if !tc.wantConns(conns) {
				t.Errorf("%d requests from %d concurrent clients opened %v connections between the proxies, want %s", workers*each, workers, conns, tc.want)
			}
			// A response is counted once the client has it all: a moment
			// after the client may have read it.
			succeeded := map[string]string{"direction": "outbound", "classification": "success", "tls": "true"}
			deadline := time.Now().Add(5 * time.Second)
			for counterSum(client, "response_total", succeeded) != workers*each && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := counterSum(client, "response_total", succeeded); got != workers*each {
				t.Errorf("client proxy counted %v successful mTLS responses, want %d:\n%s", got, workers*each, grepLines(scrape(t, client), "response_total"))
			}
		})
	}
}

// exchangeOnce sends one of four kinds of request and checks the answer.
func exchangeOnce(hc *http.Client, base string, w, i int) error {
	switch i % 4 {
	case 0: // a chunked body echoed back, with a trailer
		body := strings.Repeat(fmt.Sprintf("%d-%d;", w, i), 3000)
		req, _ := http.NewRequest(http.MethodPost, base+"/echo", io.NopCloser(strings.NewReader(body)))
		req.Header.Set(HeaderOrigProto, "HTTP/9") // forged by the application: never trusted
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != body || resp.Trailer.Get("X-Length") != fmt.Sprint(len(body)) {
			return fmt.Errorf("echo: %d bytes of %d, trailer %q, %v", len(got), len(body), resp.Trailer.Get("X-Length"), err)
		}
	case 1: // Connection: close asked by the application
		req, _ := http.NewRequest(http.MethodGet, base+"/close", nil)
		req.Close = true
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("close: %w", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != "bye" {
			return fmt.Errorf("close: %q", got)
		}
	case 2: // HEAD keeps its Content-Length and has no body
		resp, err := hc.Head(base + "/")
		if err != nil {
			return fmt.Errorf("head: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 5 {
			return fmt.Errorf("head: %d, content-length %d", resp.StatusCode, resp.ContentLength)
		}
	default:
		resp, err := hc.Get(base + "/")
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != "hello" || resp.ContentLength != 5 {
			return fmt.Errorf("get: %q, content-length %d", got, resp.ContentLength)
		}
	}
	return nil
}

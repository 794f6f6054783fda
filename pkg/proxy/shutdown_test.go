package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdownDrainsInFlight cancels the proxies while a slow
// request is in flight: it completes, and new connections are refused.
func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = io.WriteString(w, "done")
	}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + p.outbound + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	time.Sleep(200 * time.Millisecond) // let the request reach the backend
	p.cancel()
	time.Sleep(100 * time.Millisecond)

	// New connections are refused while draining.
	if _, err := (&http.Client{Timeout: time.Second}).Get("http://" + p.outbound + "/new"); err == nil {
		t.Error("a new request was accepted after shutdown began")
	}
	close(release)
	select {
	case r := <-got:
		if r.err != nil || r.body != "done" {
			t.Fatalf("in-flight request: %q, %v", r.body, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request did not complete")
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("proxies did not exit after draining")
	}
}

// TestShutdownEndpoint: POST /shutdown is refused unless enabled.
func TestShutdownEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, ls, done := startProxy(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1"})
	url := "http://" + ls.Admin.Addr().String() + "/shutdown"
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("disabled /shutdown answered %d", resp.StatusCode)
	}
	cancel()
	<-done

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_, ls2, done2 := startProxy(t, ctx2, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1", ShutdownEndpoint: true})
	resp, err = http.Post("http://"+ls2.Admin.Addr().String()+"/shutdown", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enabled /shutdown answered %d", resp.StatusCode)
	}
	select {
	case <-done2:
	case <-time.After(5 * time.Second):
		t.Fatal("proxy did not stop after /shutdown")
	}
}

// TestWaitBeforeExit: after SIGTERM a proxy with a wait before exit still
// takes new requests, ready, for that long, then drains and stops; the
// shutdown endpoint cuts the wait short.
func TestWaitBeforeExit(t *testing.T) {
	backend := newCountingBackend(t)
	for _, viaShutdown := range []bool{false, true} {
		name := "timer"
		if viaShutdown {
			name = "shutdown endpoint"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const wait = 3 * time.Second
			p, ls, done := startProxy(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: backend.Listener.Addr().String(), WaitBeforeExit: wait, ShutdownEndpoint: true})
			cancel() // SIGTERM
			signalled := time.Now()
			client := &http.Client{Timeout: 2 * time.Second}
			resp, err := client.Get("http://" + ls.Outbound.Addr().String() + "/after-sigterm")
			if err != nil {
				t.Fatalf("a new request during the wait before exit: %v", err)
			}
			resp.Body.Close()
			if code := ready(t, p); code != http.StatusOK {
				t.Errorf("/ready = %d during the wait before exit, want 200", code)
			}
			select {
			case <-done:
				t.Fatal("the proxy stopped during its wait before exit")
			default:
			}
			if viaShutdown {
				r, err := http.Post("http://"+ls.Admin.Addr().String()+"/shutdown", "", nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Body.Close()
			}
			select {
			case <-done:
				if took := time.Since(signalled); !viaShutdown && took < wait {
					t.Errorf("stopped %v after the signal, before its %v wait", took, wait)
				}
			case <-time.After(wait + 5*time.Second):
				t.Fatal("the proxy did not stop after its wait before exit")
			}
		})
	}
}

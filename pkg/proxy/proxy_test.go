package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// pair is a client proxy (outbound) chained to a server proxy (inbound)
// in front of a backend, all on loopback, as two meshed pods would be.
type pair struct {
	client, server *Proxy
	outbound       string // where the application sends its traffic
	serverAdmin    string
	cancel         context.CancelFunc
	done           chan struct{}
}

// serveEach listens on loopback until the test ends and runs serve on a
// goroutine for every connection; it returns the address.
func serveEach(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln := listenLoopback(t)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// freeAddr returns an address that was free a moment ago. It binds on a
// loopback address of its own (127.x.y.z, never 127.0.0.1) because the
// port is released before the proxy binds it: on 127.0.0.1 any test
// running beside this one may take it as an ephemeral port in between.
func freeAddr(t testing.TB) string {
	t.Helper()
	host := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startProxy runs one proxy whose inbound and outbound send everything to
// the given targets.
func startProxy(t *testing.T, ctx context.Context, cfg Config) (*Proxy, Listeners, chan struct{}) {
	t.Helper()
	return startProxyWith(t, ctx, cfg, Deps{}, Listeners{})
}

// startProxyWith is startProxy with dependencies and, where set, listeners
// of the caller's (the others are opened on loopback).
func startProxyWith(t testing.TB, ctx context.Context, cfg Config, deps Deps, ls Listeners) (*Proxy, Listeners, chan struct{}) {
	t.Helper()
	for _, l := range []*net.Listener{&ls.Inbound, &ls.Outbound, &ls.Admin} {
		if *l == nil {
			*l = listenLoopback(t)
		}
	}
	cfg.InboundAddr, cfg.OutboundAddr, cfg.AdminAddr = ls.Inbound.Addr().String(), ls.Outbound.Addr().String(), ls.Admin.Addr().String()
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, deps, testLogger(t), ls)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(ctx); err != nil {
			t.Errorf("proxy run: %v", err)
		}
	}()
	return p, ls, done
}

// newPair chains client outbound → server inbound → backend.
func newPair(t *testing.T, backend string, tweak func(*Config)) *pair {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	serverCfg := Config{InboundTarget: backend, ShutdownGracePeriod: 2 * time.Second}
	if tweak != nil {
		tweak(&serverCfg)
	}
	server, sls, sdone := startProxy(t, ctx, serverCfg)
	clientCfg := Config{OutboundTarget: sls.Inbound.Addr().String(), ShutdownGracePeriod: 2 * time.Second}
	if tweak != nil {
		tweak(&clientCfg)
		clientCfg.OutboundTarget = sls.Inbound.Addr().String()
	}
	client, cls, cdone := startProxy(t, ctx, clientCfg)
	p := &pair{client: client, server: server, outbound: cls.Outbound.Addr().String(), serverAdmin: sls.Admin.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() { <-sdone; <-cdone; close(p.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Error("proxies did not stop within 5s")
		}
	})
	return p
}

func TestHTTP1ThroughPair(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderClientID) != "" {
			t.Errorf("client-supplied %s reached the application: %q", HeaderClientID, r.Header.Get(HeaderClientID))
		}
		w.Header().Set("X-Path", r.URL.Path)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, "hello "+r.Host)
	}))
	defer backend.Close()
	p := newPair(t, strings.TrimPrefix(backend.URL, "http://"), nil)

	for _, path := range []string{"/a", "/b", "/fail"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.outbound+path, nil)
		req.Host = "web.default.svc.cluster.local"
		req.Header.Set(HeaderClientID, "forged.identity")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello web.default.svc.cluster.local" || resp.Header.Get("X-Path") != path {
			t.Fatalf("GET %s: %d %q %v", path, resp.StatusCode, body, resp.Header)
		}
	}
	if got := testutil.ToFloat64(p.server.inbound.metrics.requests); got != 3 {
		// ToFloat64 needs a single series: one authority, one target.
		t.Fatalf("inbound request_total = %v, want 3", got)
	}
	// Responses are counted when the exchange ends, just after the client
	// has read the body.
	eventually(t, func() bool {
		n, err := testutil.GatherAndCount(p.client.Registry(), "response_total")
		return err == nil && n == 2
	}, "outbound response_total has a success and a failure series")
}

// eventually polls cond for up to 5 seconds.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hasSeries reports whether p's registry has a series of name carrying
// all labels.
func hasSeries(p *Proxy, name string, labels map[string]string) bool {
	return len(seriesWith(p, name, labels)) > 0
}

// seriesWith returns p's series of name that carry all labels.
func seriesWith(p *Proxy, name string, labels map[string]string) []*dto.Metric {
	mfs, _ := p.Registry().Gather()
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metric
				}
			}
			out = append(out, m)
		}
	}
	return out
}

package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReady(t *testing.T) {
	r := &Readiness{}
	h := Handler(prometheus.NewRegistry(), r)

	steps := []struct {
		name     string
		change   func()
		wantCode int
		wantBody string
	}{
		{"no conditions", func() {}, 200, "ready\n"},
		{"one unmet", func() { r.Set("issuer", false, "issuer secret not loaded") }, 503, "not ready\nunmet issuer: issuer secret not loaded\n"},
		{"two unmet, sorted", func() { r.Set("api", false, "no watch yet") }, 503, "not ready\nunmet api: no watch yet\nunmet issuer: issuer secret not loaded\n"},
		{"one met", func() { r.Set("api", true, "watching") }, 503, "not ready\nunmet issuer: issuer secret not loaded\n"},
		{"notice while unmet", func() { r.Notice("signing", "signing not implemented yet") }, 503, "not ready\nunmet issuer: issuer secret not loaded\nnotice: signing not implemented yet\n"},
		{"all met", func() { r.Set("issuer", true, "loaded") }, 200, "ready\nnotice: signing not implemented yet\n"},
		{"notice removed", func() { r.Notice("signing", "") }, 200, "ready\n"},
	}
	for _, s := range steps {
		s.change()
		code, body := get(t, h, http.MethodGet, PathReady)
		if code != s.wantCode || body != s.wantBody {
			t.Errorf("%s: got %d %q, want %d %q", s.name, code, body, s.wantCode, s.wantBody)
		}
	}
}

func TestRoutes(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "meshctl_test_total", Help: "Test counter."})
	reg.MustRegister(c)
	c.Inc()
	h := Handler(reg, nil)

	cases := []struct {
		method, path string
		wantCode     int
		wantBody     []string
	}{
		{"GET", PathLive, 200, []string{"live"}},
		{"HEAD", PathLive, 200, nil},
		{"GET", PathReady, 200, []string{"ready"}},
		{"GET", PathMetrics, 200, []string{"meshctl_test_total 1", "go_goroutines ", "process_start_time_seconds "}},
		{"POST", PathReady, 405, nil},
		{"GET", "/debug/pprof/", 404, nil},
		{"GET", "/", 404, nil},
	}
	for _, tc := range cases {
		code, body := get(t, h, tc.method, tc.path)
		if code != tc.wantCode {
			t.Errorf("%s %s: code %d, want %d", tc.method, tc.path, code, tc.wantCode)
		}
		for _, w := range tc.wantBody {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: body lacks %q", tc.method, tc.path, w)
			}
		}
	}
}

// TestMetricsNotCompressed checks that a scrape asking for gzip, as
// Prometheus's does, gets the exposition uncompressed (server.go says why).
func TestMetricsNotCompressed(t *testing.T) {
	reg := NewRegistry()
	h := Handler(reg, nil)
	req := httptest.NewRequest(http.MethodGet, PathMetrics, nil)
	req.Header.Set("Accept-Encoding", "gzip, zstd")
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("code %d", rec.Code)
	}
	if enc := rec.Header().Get("Content-Encoding"); enc != "" {
		t.Errorf("Content-Encoding %q, want none", enc)
	}
	if !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("the body is not the plain exposition: %.80q", rec.Body.String())
	}
}

func TestServerServeAndShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{})
	if s.http.ReadHeaderTimeout != DefaultReadHeaderTimeout || s.http.ReadTimeout != DefaultReadTimeout ||
		s.http.WriteTimeout != DefaultWriteTimeout || s.http.IdleTimeout != DefaultIdleTimeout ||
		s.http.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("defaults not applied: %+v", s.http)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + PathLive)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "live\n" {
		t.Fatalf("/live: %d %q", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}

func TestReadinessWhenReady(t *testing.T) {
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	var r Readiness
	early := r.WhenReady()
	if closed(early) {
		t.Fatal("closed with no condition set")
	}
	r.Set("listeners", false, "starting")
	r.Set("identity", true, "issued")
	if closed(early) {
		t.Fatal("closed while listeners is unmet")
	}
	r.Set("listeners", true, "bound")
	if !closed(early) {
		t.Fatal("not closed once every condition is met")
	}
	r.Set("listeners", false, "shutting down")
	if !closed(early) || !closed(r.WhenReady()) {
		t.Fatal("reopened by a later unmet condition: it marks the end of start-up")
	}

	var late Readiness
	late.Set("admin", true, "listening")
	if !closed(late.WhenReady()) {
		t.Fatal("asked after the fact: want a closed channel")
	}
}

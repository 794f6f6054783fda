package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestScrapeMetrics checks that the bench scrapes as Prometheus does
// (gzip accepted) and reports a scrape that fails.
func TestScrapeMetrics(t *testing.T) {
	var scrapes atomic.Int32
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" || r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("scraped %s with Accept-Encoding %q", r.URL.Path, r.Header.Get("Accept-Encoding"))
		}
		scrapes.Add(1)
		_, _ = w.Write([]byte("up 1\n"))
	}))
	defer ok.Close()
	bad := httptest.NewServer(http.NotFoundHandler())
	defer bad.Close()
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

	if err := scrapeMetrics(context.Background(), []string{addr(ok), addr(ok)}); err != nil {
		t.Fatal(err)
	}
	if n := scrapes.Load(); n != 2 {
		t.Errorf("%d scrapes, want 2", n)
	}
	if err := scrapeMetrics(context.Background(), nil); err != nil {
		t.Errorf("no admin addresses (nginx, haproxy, the floor): %v", err)
	}
	err := scrapeMetrics(context.Background(), []string{addr(bad)})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a 404 scrape: %v", err)
	}
}

package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// profiledDestination answers every target with fixed endpoints and the
// same profile.
type profiledDestination struct {
	eps  endpointList
	prof *profile.Profile
}

func (d profiledDestination) Resolve(ctx context.Context, t Target) ([]Endpoint, error) {
	return d.eps.Resolve(ctx, t)
}

func (d profiledDestination) Profile(context.Context, Target) *profile.Profile { return d.prof }

const booksAuthority = "books.shop.svc.cluster.local:80"

func booksProfile(budget profile.BudgetSpec) *profile.Profile {
	anchored := func(re string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + re + `)$`) }
	return &profile.Profile{
		Authority: booksAuthority,
		Budget:    budget,
		Routes: []*profile.Route{
			{Name: "GET /books/{id}", Condition: profile.RequestMatch{Method: "GET", Path: anchored(`/books/[^/]+`)}, Retryable: true},
			{Name: "POST /books", Condition: profile.RequestMatch{Method: "POST", Path: anchored(`/books`)}, Retryable: true},
			{Name: "GET /slow", Condition: profile.RequestMatch{Path: anchored(`/slow`)}, Timeout: 100 * time.Millisecond},
			{Name: "GET /missing", Condition: profile.RequestMatch{Path: anchored(`/missing`)},
				Classes: []profile.ResponseClass{{Condition: profile.ResponseMatch{MinStatus: 404, MaxStatus: 404}, Failure: true}}},
		},
	}
}

// flakyBooks fails the first attempt at every path with a 503 (after
// reading the body), then answers with what it read.
func flakyBooks(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("backend: reading the body: %v", err)
		}
		switch r.URL.Path {
		case "/slow":
			time.Sleep(2 * time.Second)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			return
		}
		key := r.Method + " " + r.URL.Path
		mu.Lock()
		again := seen[key]
		seen[key] = true
		mu.Unlock()
		if !again {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func routeCount(p *Proxy, name string, labels ...string) float64 {
	m := p.outbound.metrics
	switch name {
	case "request":
		return testutil.ToFloat64(m.routeRequests.WithLabelValues(labels...))
	case "response":
		return testutil.ToFloat64(m.routeResponses.WithLabelValues(labels...))
	case "actual_request":
		return testutil.ToFloat64(m.routeActualRequests.WithLabelValues(labels...))
	case "actual_response":
		return testutil.ToFloat64(m.routeActualResponses.WithLabelValues(labels...))
	}
	panic("no such route metric " + name)
}

// TestRoutesRetriesAndTimeouts: requests are counted on their
// ServiceProfile route; a retryable route's failed responses are sent
// again (bodies included) so the client sees only successes while the
// actual counts show every attempt; a route's timeout ends a slow request
// with a 504; a response class can make a 404 a failure.
func TestRoutesRetriesAndTimeouts(t *testing.T) {
	backend := flakyBooks(t)
	ep := Endpoint{Addr: netip.MustParseAddrPort(strings.TrimPrefix(backend.URL, "http://"))}
	p, ls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:1"}, Deps{Destination: profiledDestination{eps: endpointList{ep}, prof: booksProfile(profile.DefaultBudget())}})
	base := "http://" + ls.Outbound.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}

	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 5 {
		path := fmt.Sprintf("/books/%d", i)
		if code, body := do("GET", path, ""); code != 200 || body != "GET "+path+" " {
			t.Errorf("GET %s: %d %q, want the retried 200", path, code, body)
		}
	}
	if code, body := do("POST", "/books", "a new book"); code != 200 || body != "POST /books a new book" {
		t.Errorf("POST /books: %d %q, want the retried 200 with the body replayed", code, body)
	}
	start := time.Now()
	if code, _ := do("GET", "/slow", ""); code != http.StatusGatewayTimeout {
		t.Errorf("GET /slow: %d, want 504 from the route's timeout", code)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("GET /slow took %s with a 100ms route timeout", took)
	}
	if code, _ := do("GET", "/missing", ""); code != 404 {
		t.Errorf("GET /missing: %d", code)
	}
	if code, _ := do("GET", "/other", ""); code != 503 {
		t.Errorf("GET /other (no route, not retried): %d, want the backend's 503", code)
	}

	out := string(Outbound)
	get := "GET /books/{id}"
	checks := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"requests on the GET route", "request", []string{out, booksAuthority, get}, 5},
		{"the client saw only successes", "response", []string{out, booksAuthority, get, "200", "success"}, 5},
		{"no failure reached the client", "response", []string{out, booksAuthority, get, "503", "failure"}, 0},
		{"every attempt was sent", "actual_request", []string{out, booksAuthority, get}, 10},
		{"the failed attempts show", "actual_response", []string{out, booksAuthority, get, "503", "failure"}, 5},
		{"the retries succeeded", "actual_response", []string{out, booksAuthority, get, "200", "success"}, 5},
		{"POST retried with its body", "actual_request", []string{out, booksAuthority, "POST /books"}, 2},
		{"the timeout is a failure", "response", []string{out, booksAuthority, "GET /slow", "504", "failure"}, 1},
		{"a response class made the 404 a failure", "response", []string{out, booksAuthority, "GET /missing", "404", "failure"}, 1},
		{"unmatched requests count on the default route", "response", []string{out, booksAuthority, "", "503", "failure"}, 1},
		{"the default route is not retried", "actual_request", []string{out, booksAuthority, ""}, 1},
	}
	for _, c := range checks {
		if got := routeCount(p, c.metric, c.labels...); got != c.want {
			t.Errorf("%s: route_%s_total%v = %v, want %v", c.name, c.metric, c.labels, got, c.want)
		}
	}
	// Latency is observed per route too.
	if !hasSeries(p, "route_response_latency_ms", map[string]string{"rt_route": get, "status_code": "200", "dst": booksAuthority}) {
		t.Error("no route_response_latency_ms series for the GET route")
	}
}

// TestRetryBudgetSpent: with an empty budget, failures reach the client
// and the skipped retries are counted.
func TestRetryBudgetSpent(t *testing.T) {
	backend := flakyBooks(t)
	ep := Endpoint{Addr: netip.MustParseAddrPort(strings.TrimPrefix(backend.URL, "http://"))}
	prof := booksProfile(profile.BudgetSpec{Ratio: 0, MinPerSecond: 0, TTL: 10 * time.Second})
	p, ls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:1"}, Deps{Destination: profiledDestination{eps: endpointList{ep}, prof: prof}})
	for i := range 3 {
		resp, err := http.Get(fmt.Sprintf("http://%s/books/%d", ls.Outbound.Addr(), i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %d: %d, want the unretried 503", i, resp.StatusCode)
		}
	}
	if got := testutil.ToFloat64(p.outbound.metrics.routeRetriesSkipped.WithLabelValues(booksAuthority, "GET /books/{id}")); got != 3 {
		t.Errorf("retries skipped: %v, want 3", got)
	}
}

// TestInboundRoutes: the server's proxy counts requests on its own
// Service's routes, classifies them, and never retries.
func TestInboundRoutes(t *testing.T) {
	backend := flakyBooks(t)
	ctx, cancel := context.WithCancel(context.Background())
	addr := strings.TrimPrefix(backend.URL, "http://")
	cfg := Config{InboundTarget: addr, ShutdownGracePeriod: time.Second}
	dst := profiledDestination{eps: endpointList{{Addr: netip.MustParseAddrPort(addr)}}, prof: booksProfile(profile.DefaultBudget())}
	p, ls, done := startProxyWith(t, ctx, cfg, Deps{Destination: dst}, Listeners{})
	t.Cleanup(func() { cancel(); <-done })
	for _, want := range []int{503, 200} {
		resp, err := http.Get("http://" + ls.Inbound.Addr().String() + "/books/7")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("inbound GET /books/7: %d, want %d (no retries inbound)", resp.StatusCode, want)
		}
	}
	m := p.inbound.metrics
	in := string(Inbound)
	get := "GET /books/{id}"
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{in, booksAuthority, get, "503", "failure"}, 1},
		{[]string{in, booksAuthority, get, "200", "success"}, 1},
	} {
		if got := testutil.ToFloat64(m.routeResponses.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("route_response_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.routeRequests.WithLabelValues(in, booksAuthority, get)); got != 2 {
		t.Errorf("inbound route requests: %v, want 2", got)
	}
	if hasSeries(p, "route_actual_request_total", map[string]string{"direction": in}) {
		t.Error("inbound recorded actual (per-attempt) series; only outbound retries")
	}
}

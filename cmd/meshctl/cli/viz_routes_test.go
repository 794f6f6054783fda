package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/profile"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
	"github.com/meshctl/meshctl/viz"
)

// routesScrapes are the --metrics-file flags of viz's "routes" fixture
// (viz/testdata/routes/README.md).
func routesScrapes() string { return fixtureScrapes("routes", "backend-1", "backend-2", "web-1") }

func TestVizRoutesOffline(t *testing.T) {
	files := routesScrapes()
	noRoutes := "No route traffic found.\nRoutes are recorded only for requests to a Service with a ServiceProfile named "
	tests := []struct {
		name   string
		args   string
		stderr string // a substring; "" means stderr must be empty
	}{
		{"routes_deploy", "viz routes deploy/backend -n demo" + files, ""},
		{"routes_svc_wide", "viz routes svc/backend -n demo -o wide" + files, ""},
		{"routes_to_svc_wide", "viz routes deploy/web -n demo --to svc/backend -o wide" + files, ""},
		{"routes_to_svc_json", "viz routes deploy/web -n demo --to svc/backend -o json" + files, ""},
		{"routes_to_any_svc_all_namespaces", "viz routes deploy/web -A --to svc" + files, ""},
		{"routes_none_inbound", "viz routes deploy/web -n demo" + files, noRoutes + "NAME.demo.svc.cluster.local; check with `kubectl get serviceprofiles -n demo`."},
		{"routes_none_to_namespace", "viz routes deploy/web -n demo --to svc/backend --to-namespace other" + files, noRoutes + "backend.other.svc.cluster.local; check with `kubectl get serviceprofiles -n other`."},
		{"routes_none_svc", "viz routes svc/web -n demo" + files, noRoutes + "web.demo.svc.cluster.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != 0 {
				t.Fatalf("code %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			if tt.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.stderr)
			}
			if tt.stderr != "" && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing without routes", r.stdout)
			}
			golden.Assert(t, filepath.Join("testdata", "viz", tt.name+".golden"), []byte(r.stdout))
		})
	}
}

// TestVizRoutesUnreachable: a selected pod that did not answer is noted
// on stderr, beside the routes of the others or the "no route traffic"
// report.
func TestVizRoutesUnreachable(t *testing.T) {
	note := "note: pod shop/api-1 did not answer, its numbers are missing: only one scrape file"
	apiStart := " --metrics-file " + filepath.Join("..", "..", "..", "viz", "testdata", "shop", "api-1.start.prom")
	r := run(t, "viz routes deploy -A"+routesScrapes()+apiStart)
	if r.code != 0 || !strings.Contains(r.stdout, "GET /books/{id}") || !strings.Contains(r.stderr, note) {
		t.Errorf("code %d, stdout %q, stderr %q; want the backend's routes and the note %q", r.code, r.stdout, r.stderr, note)
	}
	r = run(t, "viz routes deploy/api -n shop"+shopScrapes())
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, note) || !strings.Contains(r.stderr, "No route traffic found.") {
		t.Errorf("code %d, stdout %q, stderr %q; want the note %q and no routes", r.code, r.stdout, r.stderr, note)
	}
}

func TestVizRoutesUsageErrors(t *testing.T) {
	files := routesScrapes()
	tests := []struct{ name, args, stderr string }{
		{"no resource", "viz routes", "accepts 1 arg"},
		{"two resources", "viz routes deploy/web deploy/api" + files, "accepts 1 arg"},
		{"to a deployment", "viz routes deploy/web --to deploy/x" + files, "--to deploy/x: routes belong to a Service's ServiceProfile: name the service, as --to svc/NAME"},
		{"to a pod", "viz routes deploy/web --to po/x" + files, "--to svc/NAME"},
		{"to an unknown type", "viz routes deploy/web --to pizza/x" + files, "--to: unknown resource type"},
		{"from a service", "viz routes svc/web --to svc/api" + files, "name the workload behind it"},
		{"unknown type", "viz routes pizza/x" + files, "unknown resource type \"pizza\""},
		{"namespaces", "viz routes ns/demo" + files, "viz routes takes deploy, sts, ds, job, cronjob, rs, rc, po or svc"},
		{"all", "viz routes all" + files, "viz routes takes deploy"},
		{"svc with a selector", "viz routes svc/web -l app=web" + files, "services are named"},
		{"to-namespace without to", "viz routes deploy/web --to-namespace other" + files, "give --to too"},
		{"yaml", "viz routes deploy/web -o yaml" + files, "unknown output format"},
		{"one scrape", "viz routes deploy/web --metrics-file a.prom", "two or more scrapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("meshctl %s: code %d, stdout %q, stderr %q; want usage error mentioning %q", tt.args, r.code, r.stdout, r.stderr, tt.stderr)
			}
		})
	}
}

// booksDestination sends every request to one backend and gives it the
// ServiceProfile of books.shop: one retryable route, GET /books/{id}.
type booksDestination struct{ backend netip.AddrPort }

func (d booksDestination) Resolve(context.Context, proxy.Target) ([]proxy.Endpoint, error) {
	return []proxy.Endpoint{{Addr: d.backend}}, nil
}

func (d booksDestination) Profile(context.Context, proxy.Target) *profile.Profile {
	return &profile.Profile{
		Authority: "books.shop.svc.cluster.local:80",
		Budget:    profile.DefaultBudget(),
		Routes: []*profile.Route{{
			Name: "GET /books/{id}", Retryable: true,
			Condition: profile.RequestMatch{Method: "GET", Path: regexp.MustCompile(`^(?:/books/[^/]+)$`)},
		}},
	}
}

// TestVizRoutesRealProxy reads a real proxy's route series: through its
// outbound side, 4 requests to GET /books/{id}, whose first attempt the
// backend fails with a 503 and the proxy retries, and 2 requests no route
// matches. `viz routes --to svc/books` over two scrapes of its admin
// /metrics must show the route with 4 requests at 100% and 8 attempts at
// 50%, and [DEFAULT] with 2 at 100%.
func TestVizRoutesRealProxy(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		again := seen[r.URL.Path]
		seen[r.URL.Path] = true
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/books/") && !again {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	defer backend.Close()
	ls := startTestProxyWith(t, proxy.Config{OutboundTarget: "127.0.0.1:1"},
		proxy.Deps{Destination: booksDestination{backend: netip.MustParseAddrPort(strings.TrimPrefix(backend.URL, "http://"))}})
	admin := ls.Admin.Addr().String()

	dir := t.TempDir()
	start, end := filepath.Join(dir, "web-1.start.prom"), filepath.Join(dir, "web-1.end.prom")
	const header = "# pod: shop/web-1 deployment/web\n"
	writeFile(t, start, header+string(scrapeAdmin(t, admin)))
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/books/1", "/books/2", "/books/3", "/books/4", "/other", "/other"} {
		resp, err := client.Get("http://" + ls.Outbound.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, want 200 (retried when it is a book)", path, resp.StatusCode)
		}
	}
	// Responses are counted when their exchange ends, which may trail
	// the client by a moment.
	var last []byte
	for deadline := time.Now().Add(5 * time.Second); ; {
		last = scrapeAdmin(t, admin)
		if sumFamily(t, last, "route_response_total") >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	writeFile(t, end, header+string(last))

	rows := routesJSON(t, "viz routes deploy/web -n shop --to svc/books -t 10s -o json --metrics-file "+start+" --metrics-file "+end)
	type got struct {
		route, service, authority                   string
		requests, success, actualRequests, actualOK any
	}
	want := []got{
		{"GET /books/{id}", "books", "books.shop.svc.cluster.local", 4.0, 1.0, 8.0, 0.5},
		{"[DEFAULT]", "books", "books.shop.svc.cluster.local", 2.0, 1.0, 2.0, 1.0},
	}
	var have []got
	for _, r := range rows {
		have = append(have, got{r.Route, r.Service, r.Authority, deref(r.Requests), deref(r.Success), deref(r.ActualRequests), deref(r.ActualSuccess)})
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("routes = %v\nwant     %v", have, want)
	}
}

// sumFamily sums the counters of one family in a scrape.
func sumFamily(t *testing.T, b []byte, family string) float64 {
	t.Helper()
	fams, err := viz.ParseMetrics(b)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, m := range fams[family].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

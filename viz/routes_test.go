package viz

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// routesSnapshot is the offline snapshot of the "routes" fixture
// (testdata/routes/README.md), every pod scraped.
func routesSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	var files []ScrapeFile
	for _, which := range []string{"start", "end"} {
		for _, pod := range []string{"backend-1", "backend-2", "web-1"} {
			path := filepath.Join("testdata", "routes", pod+"."+which+".prom")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, ScrapeFile{Name: path, Data: b})
		}
	}
	snap, err := (&Offline{Files: files}).Snapshot(context.Background(), Query{AllMeshed: true})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// routeWant is a row's numbers as the fixture's README computes them;
// -1 stands for "none" (nil, or no actual counts).
type routeWant struct {
	requests, success, rps, p50, p95, p99    float64
	actualRequests, actualSuccess, actualRPS float64
}

func demoServices(names ...string) *Selection {
	return &Selection{Kind: KindService, Namespace: "demo", Names: names}
}

func TestRoutesNumbers(t *testing.T) {
	backend := Selection{Kind: KindDeployment, Namespace: "demo", Names: []string{"backend"}}
	web := Selection{Kind: KindDeployment, Namespace: "demo", Names: []string{"web"}}
	serverBackend := map[string]routeWant{
		"backend GET /books/{id}": {120, 100.0 / 120, 12, 7, 41, 48.2, -1, -1, -1},
		"backend POST /books":     {30, 1, 3, 15, 19.5, 19.9, -1, -1, -1},
		"backend [DEFAULT]":       {15, 10.0 / 15, 1.5, 3.75, 50, 50, -1, -1, -1},
	}
	server := map[string]routeWant{"books GET /books": {10, 1, 1, 5 + 5.0/6, 5 + 5*5.5/6, 5 + 5*5.9/6, -1, -1, -1}}
	for k, v := range serverBackend {
		server[k] = v
	}
	tests := []struct {
		name  string
		opts  RoutesOptions
		order []string
		want  map[string]routeWant
	}{
		{"server", RoutesOptions{Selection: backend}, []string{"backend GET /books/{id}", "backend POST /books", "backend [DEFAULT]", "books GET /books"}, server},
		{"svc", RoutesOptions{Selection: *demoServices("backend")}, []string{"backend GET /books/{id}", "backend POST /books", "backend [DEFAULT]"}, serverBackend},
		{"client", RoutesOptions{Selection: web, To: demoServices("backend")}, []string{"backend GET /books/{id}", "backend POST /books", "backend [DEFAULT]"}, map[string]routeWant{
			"backend GET /books/{id}": {50, 0.9, 5, 5 + 5*25.0/30, 35, 47, 60, 0.75, 6},
			"backend POST /books":     {10, 1, 1, 15, 19.5, 19.9, 10, 1, 1},
			"backend [DEFAULT]":       {4, 1, 0.4, 2.5, 4.75, 4.95, 4, 1, 0.4},
		}},
		{"client_to_auth", RoutesOptions{Selection: web, To: demoServices("auth")}, []string{"auth POST /token"}, map[string]routeWant{
			"auth POST /token": {20, 1, 2, 2.5, 4.75, 4.95, 20, 1, 2},
		}},
		{"client_inbound_has_none", RoutesOptions{Selection: web}, nil, nil},
		{"to_other_namespace", RoutesOptions{Selection: web, To: &Selection{Kind: KindService, Namespace: "other", Names: []string{"backend"}}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Routes(routesSnapshot(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, r := range rows {
				key := r.Service + " " + r.Name()
				order = append(order, key)
				w, ok := tt.want[key]
				if !ok {
					t.Errorf("unexpected row %s", key)
					continue
				}
				if r.Namespace != "demo" || !strings.HasSuffix(r.Authority, ".demo.svc.cluster.local") {
					t.Errorf("%s: namespace %q authority %q", key, r.Namespace, r.Authority)
				}
				checkRoute(t, key, r, w)
			}
			if strings.Join(order, ", ") != strings.Join(tt.order, ", ") {
				t.Errorf("rows %q, want %q", order, tt.order)
			}
		})
	}
}

func checkRoute(t *testing.T, key string, r RouteRow, w routeWant) {
	t.Helper()
	or := func(v *float64) float64 {
		if v == nil {
			return -1
		}
		return *v
	}
	sr, ok := r.Effective.SuccessRate()
	if !ok {
		sr = -1
	}
	asr, ars, areq := -1.0, -1.0, -1.0
	if r.Actual != nil {
		areq, ars = r.Actual.Requests, r.Actual.RPS
		if v, ok := r.Actual.SuccessRate(); ok {
			asr = v
		}
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"requests", r.Effective.Requests, w.requests}, {"success", sr, w.success}, {"rps", r.Effective.RPS, w.rps},
		{"p50", or(r.LatencyP50), w.p50}, {"p95", or(r.LatencyP95), w.p95}, {"p99", or(r.LatencyP99), w.p99},
		{"actual requests", areq, w.actualRequests}, {"actual success", asr, w.actualSuccess}, {"actual rps", ars, w.actualRPS},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: %s = %v, want %v", key, c.what, c.got, c.want)
		}
	}
}

func TestRoutesGolden(t *testing.T) {
	tests := []struct {
		name string
		opts RoutesOptions
	}{
		{"server", RoutesOptions{Selection: Selection{Kind: KindDeployment, Namespace: "demo", Names: []string{"backend"}}}},
		{"client", RoutesOptions{Selection: Selection{Kind: KindDeployment, Namespace: "demo", Names: []string{"web"}}, To: demoServices()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := Routes(routesSnapshot(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var table, wide, all, js bytes.Buffer
			for _, w := range []struct {
				buf *bytes.Buffer
				o   TableOptions
			}{{&table, TableOptions{}}, {&wide, TableOptions{Wide: true}}, {&all, TableOptions{AllNamespaces: true}}} {
				if err := WriteRoutesTable(w.buf, rows, w.o); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteRoutesJSON(&js, rows); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden")
			golden.Assert(t, filepath.Join(dir, "routes_"+tt.name+".txt"), table.Bytes())
			golden.Assert(t, filepath.Join(dir, "routes_"+tt.name+"_wide.txt"), wide.Bytes())
			golden.Assert(t, filepath.Join(dir, "routes_"+tt.name+"_all_namespaces.txt"), all.Bytes())
			golden.Assert(t, filepath.Join(dir, "routes_"+tt.name+".json"), js.Bytes())
		})
	}
}

func TestRoutesRefusals(t *testing.T) {
	web := Selection{Kind: KindDeployment, Namespace: "demo"}
	for name, tc := range map[string]struct {
		opts RoutesOptions
		want string
	}{
		"to a workload":  {RoutesOptions{Selection: web, To: &Selection{Kind: KindDeployment}}, "--to svc/NAME"},
		"from a service": {RoutesOptions{Selection: *demoServices("web"), To: demoServices("backend")}, "sends nothing itself"},
		"namespaces":     {RoutesOptions{Selection: Selection{Kind: KindNamespace}}, "takes deploy"},
		"all":            {RoutesOptions{Selection: Selection{Kind: KindAll}}, "takes deploy"},
	} {
		_, err := Routes(&Snapshot{}, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

func TestParseAuthority(t *testing.T) {
	for _, tc := range []struct{ dst, name, ns, host string }{
		{"backend.demo.svc.cluster.local:8080", "backend", "demo", "backend.demo.svc.cluster.local"},
		{"backend.demo.svc.example.org", "backend", "demo", "backend.demo.svc.example.org"},
		{"api.example.com:443", "api.example.com", "", "api.example.com"},
		{"", "", "", ""},
	} {
		name, ns, host := parseAuthority(tc.dst)
		if name != tc.name || ns != tc.ns || host != tc.host {
			t.Errorf("parseAuthority(%q) = %q, %q, %q; want %q, %q, %q", tc.dst, name, ns, host, tc.name, tc.ns, tc.host)
		}
	}
}

// TestRoutesJSONTellsTheDefaultRowApart: a route a ServiceProfile names
// "[DEFAULT]" and the row of unmatched requests print the same name; the
// JSON key default tells them apart.
func TestRoutesJSONTellsTheDefaultRowApart(t *testing.T) {
	rows := RoutesJSON([]RouteRow{{Route: "", Service: "web"}, {Route: DefaultRoute, Service: "web"}})
	if rows[0].Route != DefaultRoute || rows[1].Route != DefaultRoute {
		t.Fatalf("names %q and %q", rows[0].Route, rows[1].Route)
	}
	if !rows[0].Default || rows[1].Default {
		t.Fatalf("default = %v for unmatched requests, %v for the route named %s", rows[0].Default, rows[1].Default, DefaultRoute)
	}
}

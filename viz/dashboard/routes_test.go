package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
	"github.com/meshctl/meshctl/viz"
)

// routesFiles are viz's "routes" fixture (viz/testdata/routes/README.md
// computes every number): backend-1 and -2 serve backend and books,
// web-1 calls backend (retried) and auth, all in namespace demo.
func routesFiles(t testing.TB) []viz.ScrapeFile {
	t.Helper()
	var files []viz.ScrapeFile
	for _, which := range []string{"start", "end"} {
		for _, pod := range []string{"backend-1", "backend-2", "web-1"} {
			path := filepath.Join("..", "testdata", "routes", pod+"."+which+".prom")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, viz.ScrapeFile{Name: path, Data: b})
		}
	}
	return files
}

// TestRoutesAPIGolden checks /api/routes against golden JSON (-update
// rewrites it): server side for a workload and a Service, client side per
// Service, and nothing for a resource without route traffic.
func TestRoutesAPIGolden(t *testing.T) {
	h := newTestHandler(t, &viz.Offline{Files: routesFiles(t)})
	for name, target := range map[string]string{
		"routes_deploy_backend": "/api/routes?resource=deploy&namespace=demo&name=backend",
		"routes_deploy_web":     "/api/routes?resource=deployment&namespace=demo&name=web",
		"routes_svc_backend":    "/api/routes?resource=service&namespace=demo&name=backend",
		"routes_none":           "/api/routes?resource=po&namespace=demo&name=nothing",
	} {
		t.Run(name, func(t *testing.T) {
			w := do(h, "GET", target, nil)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("code %d, type %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			golden.Assert(t, filepath.Join("testdata", name+".json"), w.Body.Bytes())
		})
	}
}

// TestRoutesAPIMatchesCLI: the rows are exactly those of `viz routes -o
// json` over the same fixture (viz's goldens): deploy/backend served
// routes_server.json, deploy/web called routes_client.json (--to svc),
// svc/backend is the first three rows of routes_server.json (books' is
// not backend's), and a Service has no client side.
func TestRoutesAPIMatchesCLI(t *testing.T) {
	h := newTestHandler(t, &viz.Offline{Files: routesFiles(t)})
	var server, client []viz.RouteJSON
	readGolden(t, "routes_server.json", &server)
	readGolden(t, "routes_client.json", &client)
	none := []viz.RouteJSON{}
	tests := []struct {
		target         string
		server, client []viz.RouteJSON
	}{
		{"/api/routes?resource=deploy&namespace=demo&name=backend", server, none},
		{"/api/routes?resource=deploy&namespace=demo&name=web", none, client},
		{"/api/routes?resource=svc&namespace=demo&name=backend", server[:3], none},
		{"/api/routes?resource=po&namespace=demo&name=nothing", none, none},
	}
	for _, tc := range tests {
		var got routesResponse
		decode(t, do(h, "GET", tc.target, nil).Body, &got)
		if !reflect.DeepEqual(got.Server, tc.server) || !reflect.DeepEqual(got.Client, tc.client) || got.Notes == nil {
			g, _ := json.Marshal(got)
			t.Errorf("%s = %s\nwant server %d rows, client %d rows of viz's goldens, notes []", tc.target, g, len(tc.server), len(tc.client))
		}
	}
}

func TestRoutesAPIBadRequest(t *testing.T) {
	h := newTestHandler(t, &viz.Offline{Files: routesFiles(t)})
	for _, target := range []string{
		"/api/routes?resource=ns&name=demo",
		"/api/routes?resource=all&namespace=demo",
		"/api/routes?resource=pizza",
	} {
		if w := do(h, "GET", target, nil); w.Code != http.StatusBadRequest {
			t.Errorf("%s: code %d, want 400: %s", target, w.Code, w.Body)
		}
	}
}

// recordingSource records the queries it answers.
type recordingSource struct {
	viz.Source
	mu      sync.Mutex
	queries []viz.Query
}

func (r *recordingSource) Snapshot(ctx context.Context, q viz.Query) (*viz.Snapshot, error) {
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.mu.Unlock()
	return r.Source.Snapshot(ctx, q)
}

// TestRoutesSnapshotOwn: routes ask the source for the per-route families
// (which the Prometheus source queries apart), in a snapshot of their own
// that the next routes request within the TTL reuses.
func TestRoutesSnapshotOwn(t *testing.T) {
	src := &recordingSource{Source: &viz.Offline{Files: routesFiles(t)}}
	h := newTestHandler(t, src)
	for _, target := range []string{"/api/stat?namespace=demo", "/api/routes?namespace=demo&name=web", "/api/routes?namespace=demo&name=backend"} {
		if w := do(h, "GET", target, nil); w.Code != http.StatusOK {
			t.Fatalf("%s: code %d: %s", target, w.Code, w.Body)
		}
	}
	if len(src.queries) != 2 || src.queries[0].Routes || !src.queries[1].Routes || src.queries[1].Namespace != "demo" {
		t.Errorf("queries = %+v, want stat's, then one with Routes for namespace demo", src.queries)
	}
}

package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshctl/meshctl/viz"
)

// shopSource is the offline source over viz's "shop" fixture
// (viz/testdata/shop/README.md), whose numbers are golden.
func shopSource(t testing.TB) viz.Source {
	t.Helper()
	var files []viz.ScrapeFile
	for _, n := range []string{"web-1.start", "web-2.start", "db-0.start", "idle-1.start", "api-1.start", "web-1.end", "web-2.end", "db-0.end", "idle-1.end"} {
		path := filepath.Join("..", "testdata", "shop", n+".prom")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, viz.ScrapeFile{Name: path, Data: b})
	}
	return &viz.Offline{Files: files}
}

const testHost = "127.0.0.1:50750"

func newTestHandler(t testing.TB, src viz.Source) *Handler {
	t.Helper()
	h, err := New(Options{Source: src, AllowedHosts: []string{testHost, "localhost:50750"}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.Host = testHost
	for k, v := range hdr {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSecurity(t *testing.T) {
	h := newTestHandler(t, shopSource(t))
	tests := []struct {
		name   string
		method string
		target string
		hdr    map[string]string
		code   int
	}{
		{"page", "GET", "/", nil, http.StatusOK},
		{"localhost", "GET", "/", map[string]string{"Host": "LOCALHOST:50750"}, http.StatusOK},
		{"rebinding host", "GET", "/api/stat", map[string]string{"Host": "evil.example"}, http.StatusMisdirectedRequest},
		{"rebinding host with port", "GET", "/", map[string]string{"Host": "evil.example:50750"}, http.StatusMisdirectedRequest},
		{"other port", "GET", "/", map[string]string{"Host": "127.0.0.1:8080"}, http.StatusMisdirectedRequest},
		{"same origin fetch", "GET", "/api/stat", map[string]string{"Origin": "http://127.0.0.1:50750"}, http.StatusOK},
		{"cross-origin fetch", "GET", "/api/stat", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"cross-origin post", "POST", "/api/stat", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"null origin", "POST", "/api/stat", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"same origin post", "POST", "/api/stat", map[string]string{"Origin": "http://127.0.0.1:50750"}, http.StatusMethodNotAllowed},
		{"put without origin", "PUT", "/", nil, http.StatusMethodNotAllowed},
		{"websocket upgrade from elsewhere", "GET", "/", map[string]string{"Origin": "https://evil.example", "Upgrade": "websocket", "Connection": "Upgrade"}, http.StatusForbidden},
		{"bad resource", "GET", "/api/stat?resource=pizza", nil, http.StatusBadRequest},
		{"unknown path", "GET", "/api/nope", nil, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(h, tc.method, tc.target, tc.hdr)
			if w.Code != tc.code {
				t.Fatalf("%s %s: code %d, want %d: %s", tc.method, tc.target, w.Code, tc.code, w.Body)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
}

func TestNewNeedsHostsAndSource(t *testing.T) {
	if _, err := New(Options{Source: shopSource(t)}); err == nil {
		t.Error("no allowed hosts accepted")
	}
	if _, err := New(Options{AllowedHosts: []string{testHost}}); err == nil {
		t.Error("no source accepted")
	}
}

// readGolden decodes one of viz's golden JSON files.
func readGolden(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestAPIGolden checks that the JSON endpoints give exactly the numbers of
// `viz stat -o json` and `viz edges -o json` over the same fixture.
func TestAPIGolden(t *testing.T) {
	h := newTestHandler(t, shopSource(t))
	tests := []struct {
		target, golden string
		edges          bool
	}{
		{"/api/stat?resource=deploy&namespace=shop", "stat_deploy.json", false},
		{"/api/stat?resource=sts", "stat_sts.json", false},
		{"/api/stat?resource=po&namespace=shop", "stat_pods.json", false},
		{"/api/edges?resource=deploy&namespace=shop", "edges_deploy.json", true},
		{"/api/edges?resource=sts", "edges_sts.json", true},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			w := do(h, "GET", tc.target, nil)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("code %d, type %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			if tc.edges {
				var got edgesResponse
				var want []viz.EdgeJSON
				decode(t, w.Body, &got)
				readGolden(t, tc.golden, &want)
				if !reflect.DeepEqual(got.Edges, want) {
					t.Errorf("edges = %+v\nwant %+v", got.Edges, want)
				}
				return
			}
			var got statResponse
			var want []viz.StatJSON
			decode(t, w.Body, &got)
			readGolden(t, tc.golden, &want)
			if !reflect.DeepEqual(got.Rows, want) {
				g, _ := json.Marshal(got.Rows)
				t.Errorf("rows = %s\nwant golden %s", g, tc.golden)
			}
			if len(got.Notes) != 1 || !strings.Contains(got.Notes[0], "pod shop/api-1 did not answer") {
				t.Errorf("notes = %q, want api-1's missing scrape", got.Notes)
			}
		})
	}
}

func decode(t *testing.T, r io.Reader, v any) {
	t.Helper()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// countingSource counts snapshots and takes a while, like a direct scrape.
type countingSource struct {
	viz.Source
	calls atomic.Int32
}

func (c *countingSource) Snapshot(ctx context.Context, q viz.Query) (*viz.Snapshot, error) {
	c.calls.Add(1)
	time.Sleep(50 * time.Millisecond)
	return c.Source.Snapshot(ctx, q)
}

// TestSnapshotShared: stat and edges requests of one namespace within the
// cache TTL share one snapshot, concurrent or not.
func TestSnapshotShared(t *testing.T) {
	src := &countingSource{Source: shopSource(t)}
	h := newTestHandler(t, src)
	done := make(chan int)
	for _, target := range []string{"/api/stat?namespace=shop", "/api/edges?namespace=shop", "/api/stat?resource=sts&namespace=shop"} {
		go func() { done <- do(h, "GET", target, nil).Code }()
	}
	for range 3 {
		if code := <-done; code != http.StatusOK {
			t.Fatalf("code %d", code)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Errorf("%d snapshots for three concurrent requests, want 1", n)
	}
	do(h, "GET", "/api/stat", nil) // another namespace (all): its own snapshot
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d snapshots, want 2", n)
	}
}

func TestAssetsServed(t *testing.T) {
	h := newTestHandler(t, shopSource(t))
	for path, want := range map[string]string{
		"/": "<svg id=\"graph\"", "/app.js": "api/edges", "/routes.js": "api/routes", "/tap.js": "api/tap",
		"/main.js": "hashchange", "/style.css": ".edge.plaintext",
	} {
		w := do(h, "GET", path, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Errorf("%s: code %d, body lacks %q", path, w.Code, want)
		}
	}
}

// TestAssetsInsertTextOnly: the page's scripts never parse data as HTML;
// they insert text (textContent) and attributes only.
func TestAssetsInsertTextOnly(t *testing.T) {
	scripts, err := fs.Glob(assets, "assets/*.js")
	if err != nil || len(scripts) < 4 {
		t.Fatalf("scripts %v: %v", scripts, err)
	}
	for _, name := range scripts {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc", "createContextualFragment", "DOMParser"} {
			if strings.Contains(string(b), sink) {
				t.Errorf("%s uses %s", name, sink)
			}
		}
	}
}

package dashboard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshctl/meshctl/viz"
)

// chromiumPath finds Debian's chromium (apt-get install chromium; .ci/run
// installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium to drive: apt-get install -y chromium (.ci/run installs it)")
	return ""
}

// pageState is what the test reads from the rendered page.
type pageState struct {
	Rows  map[string][]string `json:"rows"`
	Edges []pageEdge          `json:"edges"`
	Nodes []string            `json:"nodes"`
}

type pageEdge struct {
	Src, Dst, Secured, Reason, Dash, Stroke string
}

// readPage collects the stat rows of namespace shop (cells by workload)
// and the SVG's edges with their computed stroke.
const readPage = `(() => {
  const rows = {};
  for (const tr of document.querySelectorAll('section.ns[data-namespace="shop"] tbody tr')) {
    rows[tr.dataset.name] = [...tr.cells].map((c) => c.textContent);
  }
  const edges = [...document.querySelectorAll('#edges g.edge')].map((g) => {
    const line = g.querySelector('line'), style = getComputedStyle(line);
    const reason = g.querySelector('text');
    return {Src: g.dataset.src, Dst: g.dataset.dst, Secured: g.dataset.secured,
      Reason: reason ? reason.textContent : '', Dash: style.strokeDasharray, Stroke: style.stroke};
  });
  const nodes = [...document.querySelectorAll('#nodes g.node')].map((g) => g.dataset.id);
  return {rows, edges, nodes};
})()`

// TestBrowser loads the dashboard over the "shop" and "routes" fixtures in
// headless Chromium and checks what a user sees: the workloads with the
// golden numbers, and the topology's edges, mTLS solid green and plaintext
// dashed with its reason; then a workload's page (checkWorkloadPage): its
// routes and a live tap of a real proxy. Screenshots are kept in the
// test's artifact directory.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser; not with -short")
	}
	chromium := chromiumPath(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const token = "browser-tap-token"
	proxy := startTapProxy(t, token)
	src := shopSource(t).(*viz.Offline)
	src.Files = append(src.Files, routesFiles(t)...)
	h, err := New(Options{Source: src, AllowedHosts: []string{l.Addr().String()}, Tap: proxy.tapper(t, token)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	}()
	defer srv.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	err = chromedp.Do(ctx,
		chromedp.Navigate("http://"+l.Addr().String()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`section.ns[data-namespace="shop"] tr[data-name="web"]`)),
		chromedp.WaitReady(chromedp.CSS(`#edges g.edge`)),
	)
	if err != nil {
		t.Fatalf("load the dashboard in chromium: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](readPage))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	screenshot(t, ctx, "dashboard.png")

	// The numbers of viz/testdata/golden/stat_deploy.txt.
	wantRows := map[string][]string{
		"api":  {"api", "1/1", "-", "-", "-", "-", "-", "-"},
		"idle": {"idle", "1/1", "-", "0.0", "-", "-", "-", "0"},
		"web":  {"web", "2/2", "91.67%", "12.0", "9ms", "32ms", "46.4ms", "4"},
	}
	if !reflect.DeepEqual(state.Rows, wantRows) {
		t.Errorf("stat rows = %v\nwant %v", state.Rows, wantRows)
	}
	sort.Slice(state.Edges, func(i, j int) bool { return state.Edges[i].Dst < state.Edges[j].Dst })
	if len(state.Edges) != 2 {
		t.Fatalf("edges = %+v, want web → 10.9.9.9:443 and web → sts/db", state.Edges)
	}
	plain, mtls := state.Edges[0], state.Edges[1]
	if plain.Src != "shop/web" || plain.Dst != "10.9.9.9:443" || plain.Secured != "false" || plain.Reason != "not_provided_by_service_discovery" || plain.Dash == "none" || plain.Dash == "" {
		t.Errorf("plaintext edge = %+v: want dashed, with its reason", plain)
	}
	if mtls.Src != "shop/web" || mtls.Dst != "shop/sts/db" || mtls.Secured != "true" || mtls.Reason != "" || mtls.Dash != "none" || mtls.Stroke != "rgb(26, 127, 55)" {
		t.Errorf("mTLS edge = %+v: want solid green, no reason", mtls)
	}
	sort.Strings(state.Nodes)
	if want := []string{"10.9.9.9:443", "shop/sts/db", "shop/web"}; !reflect.DeepEqual(state.Nodes, want) {
		t.Errorf("nodes = %v, want %v", state.Nodes, want)
	}

	checkWorkloadPage(t, ctx, proxy)
}

// screenshot keeps a PNG of the whole page in the test's artifact
// directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100) /* 100: PNG */)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

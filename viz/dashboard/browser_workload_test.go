package dashboard

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/meshctl/meshctl/viz"
)

// routesState is what the test reads from a resource's page.
type routesState struct {
	Title       string                `json:"title"`
	Server      [][]string            `json:"server"`
	ServerEmpty string                `json:"serverEmpty"`
	Client      map[string][][]string `json:"client"`
	ClientShown bool                  `json:"clientShown"`
	TapOff      bool                  `json:"tapOff"`
}

// readRoutes collects the routes tables' cells: served, and called by
// destination Service.
const readRoutes = `(() => {
  const cells = (t) => t ? [...t.tBodies[0].rows].map((tr) => [...tr.cells].map((c) => c.textContent)) : null;
  const server = document.querySelector('#routes-server .body');
  const client = {};
  for (const sec of document.querySelectorAll('#routes-client section.destination')) client[sec.dataset.service] = cells(sec.querySelector('table'));
  const empty = server.querySelector('p.empty');
  return {title: document.querySelector('#resource-title').textContent,
    server: cells(server.querySelector('table')), serverEmpty: empty ? empty.textContent : '', client,
    clientShown: !document.querySelector('#routes-client').hidden, tapOff: !document.querySelector('#tap-off').hidden};
})()`

// tapState is the tap view: its finished rows' cells, the elements found
// inside the table other than its own (markup from a request would be
// one), and its status line.
type tapState struct {
	Rows    [][]string `json:"rows"`
	Foreign int        `json:"foreign"`
	Status  string     `json:"status"`
}

const readTap = `(() => ({
  rows: [...document.querySelectorAll('#tap-table tbody tr.done')].map((tr) => [...tr.cells].map((c) => c.textContent)),
  foreign: document.querySelectorAll('#tap-table *:not(thead):not(tbody):not(tr):not(th):not(td)').length,
  status: document.querySelector('#tap-status').textContent,
}))()`

// checkWorkloadPage opens deploy/web's page from the list (namespace demo,
// the "routes" fixture): the routes it called, per Service, with the
// fixture's numbers, the empty state of those it served, and a live tap
// of the real proxy p, whose requests show escaped. Then backend's page
// (the routes it served) and, through its SERVICE link, the Service's.
func checkWorkloadPage(t *testing.T, ctx context.Context, p tapProxy) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`section.ns[data-namespace="demo"] tr[data-name="web"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#routes-client section.destination[data-service="demo/backend"] tbody tr`)),
	)
	if err != nil {
		t.Fatalf("open web's page: %v", err)
	}
	web, err := chromedp.Run(ctx, chromedp.Evaluate[routesState](readRoutes))
	if err != nil {
		t.Fatalf("read web's routes: %v", err)
	}
	// viz/testdata/routes/README.md, client side, as the page formats
	// numbers (as in its stat tables).
	wantClient := map[string][][]string{
		"demo/auth": {{"POST /token", "100.00%", "2.0", "100.00%", "2.0", "2.5ms", "4.8ms", "5ms"}},
		"demo/backend": {
			{"GET /books/{id}", "90.00%", "5.0", "75.00%", "6.0", "9.2ms", "35ms", "47ms"},
			{"POST /books", "100.00%", "1.0", "100.00%", "1.0", "15ms", "19.5ms", "19.9ms"},
			{"[DEFAULT]", "100.00%", "0.4", "100.00%", "0.4", "2.5ms", "4.8ms", "5ms"},
		},
	}
	if web.Title != "deployment/web in demo" || !reflect.DeepEqual(web.Client, wantClient) || web.Server != nil {
		t.Errorf("web's page: %+v\nwant client routes %v", web, wantClient)
	}
	if want := "No route traffic served in the window. Routes are recorded only for requests to a Service with a ServiceProfile named NAME.demo.svc.cluster.local; check with kubectl get serviceprofiles -n demo."; web.ServerEmpty != want {
		t.Errorf("served routes' empty state = %q\nwant %q", web.ServerEmpty, want)
	}

	tap := tapLive(t, ctx, p)
	row := tap.Rows[0]
	if len(row) != 9 || row[0] == "" || row[8] == "" {
		t.Fatalf("tap row %q: want time, direction, source, destination, method, authority, path, status, latency", row)
	}
	if want := []string{"in", "web-1", "web-1", "GET", "web.demo", viz.EscapeValue(hostilePath), "200"}; !reflect.DeepEqual(row[1:8], want) {
		t.Errorf("tap row = %q\nwant %q (the path escaped as viz tap does)", row[1:8], want)
	}
	if tap.Foreign != 0 {
		t.Errorf("%d elements inside the tap table that are not the table's: markup from a request was rendered", tap.Foreign)
	}
	screenshot(t, ctx, "workload.png")

	// backend's page: what it served.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash = "#/deployment/demo/backend"`)); err != nil {
		t.Fatalf("go to backend's page: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#routes-server table.routes tbody tr`))); err != nil {
		t.Fatalf("open backend's page: %v", err)
	}
	backend, err := chromedp.Run(ctx, chromedp.Evaluate[routesState](readRoutes))
	if err != nil {
		t.Fatalf("read backend's routes: %v", err)
	}
	served := [][]string{
		{"GET /books/{id}", "backend", "83.33%", "12.0", "7ms", "41ms", "48.2ms"},
		{"POST /books", "backend", "100.00%", "3.0", "15ms", "19.5ms", "19.9ms"},
		{"[DEFAULT]", "backend", "66.67%", "1.5", "3.8ms", "50ms", "50ms"},
		{"GET /books", "books", "100.00%", "1.0", "5.8ms", "9.6ms", "9.9ms"},
	}
	if backend.Title != "deployment/backend in demo" || !reflect.DeepEqual(backend.Server, served) || len(backend.Client) != 0 {
		t.Errorf("backend's page: %+v\nwant served %v", backend, served)
	}

	// The Service's page, from the SERVICE cell: backend's routes only,
	// no client side, no tap.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#routes-server tbody tr:first-child td.service a`))); err != nil {
		t.Fatalf("follow the SERVICE link: %v", err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#resource-title').textContent === "service/backend in demo" &&
		document.querySelectorAll('#routes-server tbody tr').length === 3`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("open the Service's page: %v", err)
	}
	svc, err := chromedp.Run(ctx, chromedp.Evaluate[routesState](readRoutes))
	if err != nil {
		t.Fatalf("read the Service's routes: %v", err)
	}
	if !reflect.DeepEqual(svc.Server, served[:3]) || svc.ClientShown || !svc.TapOff {
		t.Errorf("the Service's page: %+v\nwant served %v, no client side, no tap", svc, served[:3])
	}
}

// tapLive starts the tap on the page and sends requests through the proxy
// until a finished one shows.
func tapLive(t *testing.T, ctx context.Context, p tapProxy) tapState {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tap-toggle`))); err != nil {
		t.Fatalf("start the tap: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.get(t, hostilePath, "web.demo")
		st, err := chromedp.Run(ctx, chromedp.Evaluate[tapState](readTap))
		if err != nil {
			t.Fatalf("read the tap: %v", err)
		}
		if len(st.Rows) > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tapped request on the page within 20s; tap status %q", st.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

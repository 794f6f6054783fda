package viz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

func at(ms int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, ms*int(time.Millisecond), time.UTC) }

// tapFixture is a small session: an inbound GET that succeeds, an
// outbound gRPC call that fails, a request whose upstream cannot be
// reached, and one with hostile bytes in its authority and path.
func tapFixture() []TapEvent {
	in := tapapi.Event{Proxy: "inbound", Source: "10.0.0.9:40112", Destination: "10.0.0.1:8080", TLS: "true", ClientID: "web.shop.serviceaccount.identity.meshctl.cluster.local"}
	out := tapapi.Event{Proxy: "outbound", Source: "10.0.0.1:51000", Destination: "10.0.0.3:9090", TLS: "no_identity", NoTLSReason: "not_provided_by_service_discovery"}
	ev := func(stream int, base tapapi.Event, id uint64, typ string, ms int, f func(*tapapi.Event)) TapEvent {
		e := base
		e.ID, e.Type, e.Time = id, typ, at(ms)
		if f != nil {
			f(&e)
		}
		te := TapEvent{Stream: stream, Pod: "shop/web-1", Event: e}
		if e.Source == "10.0.0.1:51000" || e.Destination == "10.0.0.1:8080" {
			te.SourcePod, te.DestinationPod = map[bool]string{true: "web-1"}[e.Source == "10.0.0.1:51000"], map[bool]string{true: "web-1"}[e.Destination == "10.0.0.1:8080"]
		}
		// web-1 is deployment/web's; the outbound call's server is
		// statefulset/db's, in another namespace.
		if e.Source == "10.0.0.1:51000" {
			te.SourceResource, te.SourceNamespace = "deployment/web", "shop"
			te.DestinationResource, te.DestinationNamespace = "statefulset/db", "data"
		}
		if e.Destination == "10.0.0.1:8080" {
			te.DestinationResource, te.DestinationNamespace = "deployment/web", "shop"
		}
		return te
	}
	return []TapEvent{
		ev(0, in, 1, "req", 0, func(e *tapapi.Event) {
			e.Method, e.Scheme, e.Authority, e.Path = "GET", "http", "web.shop:8080", "/books?page=2"
		}),
		ev(0, in, 1, "rsp", 2, func(e *tapapi.Event) { e.Status, e.LatencyMicros = 200, 1850 }),
		ev(0, in, 1, "end", 3, func(e *tapapi.Event) { e.Status, e.DurationMicros, e.ResponseBytes = 200, 2410, 512 }),
		ev(0, out, 2, "req", 5, func(e *tapapi.Event) {
			e.Method, e.Scheme, e.Authority, e.Path = "POST", "http", "db.shop:9090", "/grpc.health.v1.Health/Check"
		}),
		ev(0, out, 2, "rsp", 17, func(e *tapapi.Event) { e.Status, e.LatencyMicros = 200, 12003 }),
		ev(0, out, 2, "end", 17, func(e *tapapi.Event) { e.Status, e.GRPCStatus, e.DurationMicros, e.ResponseBytes = 200, "5", 12100, 0 }),
		ev(1, in, 7, "req", 20, func(e *tapapi.Event) {
			e.Method, e.Scheme, e.Authority, e.Path = "GET", "http", "web.shop:8080", "/books"
		}),
		ev(1, in, 7, "end", 1020, func(e *tapapi.Event) { e.Status, e.Error, e.DurationMicros = 502, "connect_error", 1000000 }),
		ev(1, in, 8, "req", 30, func(e *tapapi.Event) {
			e.Method, e.Scheme, e.Authority, e.Path = "GET", "http", "evil\x1b[2J host", "/a b\"c\\\n\u00e9\x07"
		}),
		ev(1, in, 8, "rsp", 31, func(e *tapapi.Event) { e.Status, e.LatencyMicros = 404, 700 }),
		ev(1, in, 8, "end", 31, func(e *tapapi.Event) { e.Status, e.DurationMicros, e.ResponseBytes = 404, 800, 9 }),
	}
}

func TestTapLinesGolden(t *testing.T) {
	var lines, wide, js bytes.Buffer
	for _, ev := range tapFixture() {
		if err := WriteTapLine(&lines, ev); err != nil {
			t.Fatal(err)
		}
		if err := WriteTapLineWide(&wide, ev); err != nil {
			t.Fatal(err)
		}
		if err := WriteTapJSON(&js, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bytes.Split(lines.Bytes(), []byte("\n")) {
		for _, c := range b {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("control byte %#x reached the output line %q", c, b)
			}
		}
	}
	golden.Assert(t, filepath.Join("testdata", "golden", "tap_lines.txt"), lines.Bytes())
	golden.Assert(t, filepath.Join("testdata", "golden", "tap_lines_wide.txt"), wide.Bytes())
	golden.Assert(t, filepath.Join("testdata", "golden", "tap_events.ndjson"), js.Bytes())
}

func TestEscapeValue(t *testing.T) {
	for in, want := range map[string]string{
		"/books":             "/books",
		"":                   "",
		"a b":                `"a b"`,
		"\x1b[31mred":        `"\x1b[31mred"`,
		"line\nforged=1":     `"line\nforged=1"`,
		`q"uote`:             `"q\"uote"`,
		"caf\u00e9":          `"caf\u00e9"`,
		"\u202eevil":         `"\u202eevil"`,
		"bad\xffutf8":        `"bad\xffutf8"`,
		"web.shop:8080":      "web.shop:8080",
		"/path?x=1&y=%20two": "/path?x=1&y=%20two",
	} {
		if got := EscapeValue(in); got != want {
			t.Errorf("EscapeValue(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTopAggregation(t *testing.T) {
	var top Top
	for _, ev := range tapFixture() {
		top.Add(ev)
	}
	// A second request of the first row, slower, and failing.
	top.Add(TapEvent{Stream: 0, Pod: "shop/web-1", DestinationPod: "web-1", Event: tapapi.Event{Type: "req", ID: 9, Source: "10.0.0.9:40113", Destination: "10.0.0.1:8080", Method: "GET", Path: "/books?page=3"}})
	top.Add(TapEvent{Stream: 0, Event: tapapi.Event{Type: "rsp", ID: 9, Status: 500, LatencyMicros: 30000}})
	top.Add(TapEvent{Stream: 0, Event: tapapi.Event{Type: "end", ID: 9, Status: 500, DurationMicros: 30100}})
	rows := top.Rows()
	// GET /books: 200 in 1.85 ms, 502 (connect error, no response head)
	// after 1 s, 500 in 30 ms; the query string is not part of the key.
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(rows), rows)
	}
	first := rows[0]
	if first.Source != "10.0.0.9" || first.Destination != "web-1" || first.Path != "/books" || first.Count != 3 ||
		first.Best != 1850*time.Microsecond || first.Worst != time.Second || first.Last != 30*time.Millisecond {
		t.Errorf("first row = %+v", first)
	}
	if sr, ok := first.SuccessRate(); !ok || sr != 1.0/3 {
		t.Errorf("success rate = %v %v, want 1/3", sr, ok)
	}
	var table bytes.Buffer
	if err := WriteTopTable(&table, rows, TopTableOptions{}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "golden", "top_table.txt"), table.Bytes())
	table.Reset()
	if err := WriteTopTable(&table, rows, TopTableOptions{MaxRows: 2, HideSources: true}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "golden", "top_table_cut.txt"), table.Bytes())

	small := Top{MaxRows: 1}
	for _, ev := range tapFixture() {
		small.Add(ev)
	}
	if len(small.Rows()) != 1 || small.Overflow != 2 {
		t.Errorf("bounded top: %d rows, overflow %d; want 1 and 2", len(small.Rows()), small.Overflow)
	}
}

// tapCluster: two meshed web pods and a db pod in shop, an unmeshed one.
func tapCluster() []string {
	pod := func(name, ip, app string, meshed bool) string {
		init := ""
		if meshed {
			init = "initContainers: [{name: meshctl-proxy, image: meshctl, restartPolicy: Always}]\n  "
		}
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: shop, labels: {app: " + app + "}}\nspec:\n  " +
			init + "containers: [{name: app, image: app}]\nstatus: {phase: Running, podIP: " + ip + "}"
	}
	return []string{pod("web-1", "10.0.0.1", "web", true), pod("web-2", "10.0.0.2", "web", true), pod("db-0", "10.0.0.3", "db", true), pod("legacy-1", "10.0.0.4", "legacy", false)}
}

// TestTapperRun: the request each proxy gets, the merge of their streams,
// pod names, and a pod that cannot be tapped noted, not fatal.
func TestTapperRun(t *testing.T) {
	ff, err := kubefake.NewFakeFactory(tapCluster()...)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	bodies := map[string]tapapi.Request{}
	tapper := &Tapper{Kube: ff.Clientset, Token: "tok", Open: func(_ context.Context, _ kube.Clientset, p Pod, token string, body []byte) (io.ReadCloser, error) {
		var req tapapi.Request
		if err := json.Unmarshal(body, &req); err != nil || token != "tok" {
			t.Errorf("pod %s: body %s, token %q", p.Name, body, token)
		}
		mu.Lock()
		bodies[p.Name] = req
		mu.Unlock()
		if p.Name == "web-2" {
			return nil, errors.New("403 forbidden")
		}
		line := `{"type":"req","id":4,"proxy":"outbound","source":"10.0.0.1:5000","destination":"10.0.0.3:9090","method":"GET","path":"/"}` + "\n" +
			`{"type":"dropped","dropped":7}` + "\n"
		return io.NopCloser(strings.NewReader(line)), nil
	}}
	q := TapQuery{
		Selection: Selection{Kind: KindPod, Namespace: "shop", LabelSelector: "app=web"},
		To:        &Selection{Kind: KindPod, Names: []string{"db-0"}, Namespace: "shop"},
		Filter:    tapapi.Request{Method: "GET", MaxRPS: 10},
	}
	var events []TapEvent
	var notes []string
	if err := tapper.Run(context.Background(), q, func(ev TapEvent) { events = append(events, ev) }, func(s string) { notes = append(notes, s) }); err != nil {
		t.Fatal(err)
	}
	want := tapapi.Request{Direction: "outbound", Method: "GET", MaxRPS: 10, ToAddrs: []string{"10.0.0.3"}}
	for _, name := range []string{"web-1", "web-2"} {
		got := bodies[name]
		if got.Direction != want.Direction || got.Method != want.Method || got.MaxRPS != want.MaxRPS || !slices.Equal(got.ToAddrs, want.ToAddrs) {
			t.Errorf("%s got %+v, want %+v", name, got, want)
		}
	}
	if len(bodies) != 2 {
		t.Errorf("tapped %d pods, want web-1 and web-2 only", len(bodies))
	}
	if len(events) != 1 || events[0].Pod != "shop/web-1" || events[0].SourcePod != "web-1" || events[0].DestinationPod != "db-0" ||
		events[0].SourceResource != "pod/web-1" || events[0].SourceNamespace != "shop" || events[0].DestinationResource != "pod/db-0" || events[0].DestinationNamespace != "shop" {
		t.Errorf("events = %+v", events)
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "pod shop/web-2 could not be tapped: tap port 4190 (through the API server): 403 forbidden") || !strings.Contains(joined, "dropped 7 events") {
		t.Errorf("notes = %q", notes)
	}

	// Nothing selected, or nothing tappable, is an error.
	if err := tapper.Run(context.Background(), TapQuery{Selection: Selection{Kind: KindPod, Names: []string{"legacy-1"}, Namespace: "shop"}}, func(TapEvent) {}, func(string) {}); err == nil || !strings.Contains(err.Error(), "no running meshed pod") {
		t.Errorf("unmeshed selection: %v", err)
	}
	if err := tapper.Run(context.Background(), TapQuery{Selection: Selection{Kind: KindPod, Names: []string{"web-2"}, Namespace: "shop"}}, func(TapEvent) {}, func(string) {}); err == nil || !strings.Contains(err.Error(), "no pod could be tapped") {
		t.Errorf("refused everywhere: %v", err)
	}
	tapper.MaxPods = 1
	if err := tapper.Run(context.Background(), TapQuery{Selection: Selection{Kind: KindPod, Namespace: "shop"}}, func(TapEvent) {}, func(string) {}); err == nil || !strings.Contains(err.Error(), "more than 1") {
		t.Errorf("over MaxPods: %v", err)
	}
}

// TestTapperOpenTimeout: a proxy that never answers is given up on.
func TestTapperOpenTimeout(t *testing.T) {
	ff, err := kubefake.NewFakeFactory(tapCluster()...)
	if err != nil {
		t.Fatal(err)
	}
	tapper := &Tapper{Kube: ff.Clientset, OpenTimeout: 50 * time.Millisecond, Open: func(ctx context.Context, _ kube.Clientset, _ Pod, _ string, _ []byte) (io.ReadCloser, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	err = tapper.Run(context.Background(), TapQuery{Selection: Selection{Kind: KindPod, Names: []string{"db-0"}, Namespace: "shop"}}, func(TapEvent) {}, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "no answer from the proxy's tap port 4190 within 50ms") {
		t.Errorf("err = %v", err)
	}
}

// TestOpenPodProxyTap checks the request OpenPodProxyTap sends through a
// real clientset: POST to the pod proxy path of the control port, the
// token in its header, the JSON body, and the stream read as it comes.
func TestOpenPodProxyTap(t *testing.T) {
	apiserver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/namespaces/shop/pods/http:web-1:4190/proxy/tap" ||
			r.Header.Get(tapapi.HeaderToken) != "tok" || string(b) != `{"method":"GET"}` {
			t.Errorf("%s %s token %q body %s", r.Method, r.URL.Path, r.Header.Get(tapapi.HeaderToken), b)
		}
		w.Header().Set("Content-Type", tapapi.ContentType)
		_, _ = io.WriteString(w, `{"type":"req","id":1}`+"\n")
	}))
	defer apiserver.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: apiserver.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := OpenPodProxyTap(context.Background(), cs, Pod{Namespace: "shop", Name: "web-1"}, "tok", []byte(`{"method":"GET"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if string(b) != `{"type":"req","id":1}`+"\n" {
		t.Errorf("stream = %q", b)
	}
}

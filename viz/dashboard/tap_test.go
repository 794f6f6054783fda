package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/viz"
)

// serveTest serves a dashboard of opts (over the shop fixture) on a
// loopback port and returns its host:port.
func serveTest(t *testing.T, opts Options) (string, *Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	addr := srv.Listener.Addr().String()
	opts.Source = shopSource(t)
	opts.AllowedHosts = []string{addr, strings.Replace(addr, "127.0.0.1", "localhost", 1)}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Config.RegisterOnShutdown(h.Close)
	srv.Start()
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return addr, h
}

// dialTap opens /api/tap?query as the page at addr does.
func dialTap(t *testing.T, addr, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/api/tap?"+query, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + addr}}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// readUntil reads messages until stop says so (or the stream's end), for
// at most 10 s.
func readUntil(t *testing.T, c *websocket.Conn, stop func(tapMessage) bool) []tapMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []tapMessage
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d messages %+v: %v", len(out), out, err)
		}
		var m tapMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		out = append(out, m)
		if m.Kind == "end" || stop(m) {
			return out
		}
	}
}

func toEnd(tapMessage) bool { return false }

// fakeTapper runs its function as Run; started counts runs and ended
// those whose ctx ended.
type fakeTapper struct {
	run            func(ctx context.Context, q viz.TapQuery, emit func(viz.TapEvent), note func(string)) error
	started, ended atomic.Int32
}

func (f *fakeTapper) Run(ctx context.Context, q viz.TapQuery, emit func(viz.TapEvent), note func(string)) error {
	f.started.Add(1)
	defer func() {
		if ctx.Err() != nil {
			f.ended.Add(1)
		}
	}()
	return f.run(ctx, q, emit, note)
}

// blocking is a Tapper that emits nothing until its stream ends.
func blocking() *fakeTapper {
	return &fakeTapper{run: func(ctx context.Context, _ viz.TapQuery, _ func(viz.TapEvent), _ func(string)) error {
		<-ctx.Done()
		return nil
	}}
}

// exchange returns the req, rsp and end events of request id.
func exchange(id uint64, path string) []viz.TapEvent {
	ev := func(typ string, f func(*tapapi.Event)) viz.TapEvent {
		e := tapapi.Event{Type: typ, ID: id, Proxy: "inbound", Source: "10.0.0.9:4000", Destination: "10.0.0.1:8080"}
		f(&e)
		return viz.TapEvent{Pod: "demo/web-1", Event: e}
	}
	return []viz.TapEvent{
		ev("req", func(e *tapapi.Event) { e.Method, e.Authority, e.Path = "GET", "web.demo", path }),
		ev("rsp", func(e *tapapi.Event) { e.Status, e.LatencyMicros = 200, 900 }),
		ev("end", func(e *tapapi.Event) { e.Status, e.DurationMicros = 200, 1000 }),
	}
}

func wsRequest(t *testing.T, addr, host, origin string, upgrade bool) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/tap?resource=deploy&namespace=demo&name=web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTapSecurity: the tap websocket is the page's only. A foreign Host
// (DNS rebinding) gets 421, a foreign or missing Origin 403, whatever the
// page it comes from; a plain GET is told to upgrade.
func TestTapSecurity(t *testing.T) {
	tapper := blocking()
	addr, _ := serveTest(t, Options{Tap: tapper})
	self := "http://" + addr
	tests := []struct {
		name, host, origin string
		upgrade            bool
		code               int
	}{
		{"rebinding host", "evil.example:80", self, true, http.StatusMisdirectedRequest},
		{"rebinding host, its own origin", "evil.example", "http://evil.example", true, http.StatusMisdirectedRequest},
		{"cross-origin page", "", "http://evil.example", true, http.StatusForbidden},
		{"null origin", "", "null", true, http.StatusForbidden},
		{"https origin", "", "https://" + addr, true, http.StatusForbidden},
		{"no origin", "", "", true, http.StatusForbidden},
		{"origin of the other allowed name", "", strings.Replace(self, "127.0.0.1", "localhost", 1), true, http.StatusForbidden},
		{"no upgrade", "", self, false, http.StatusUpgradeRequired},
		{"the page", "", self, true, http.StatusSwitchingProtocols},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := wsRequest(t, addr, tc.host, tc.origin, tc.upgrade); code != tc.code {
				t.Errorf("code %d, want %d", code, tc.code)
			}
		})
	}
	waitUntil(t, "the page's tap", func() bool { return tapper.started.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := tapper.started.Load(); n != 1 {
		t.Errorf("%d taps started, want the page's only", n)
	}
}

// TestTapStream: the events of the tap, its notes, and the end; the query
// the Tapper gets carries the view's workload and the filters.
func TestTapStream(t *testing.T) {
	queries := make(chan viz.TapQuery, 1)
	tapper := &fakeTapper{run: func(_ context.Context, q viz.TapQuery, emit func(viz.TapEvent), note func(string)) error {
		queries <- q
		for _, ev := range exchange(1, "/api/books") {
			emit(ev)
		}
		note("pod demo/web-2 could not be tapped: 403 forbidden")
		return nil
	}}
	addr, _ := serveTest(t, Options{Tap: tapper})
	msgs := readUntil(t, dialTap(t, addr, "resource=deploy&namespace=demo&name=web&method=get&path=/api&authority=web.demo"), toEnd)
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind)
	}
	if strings.Join(kinds, " ") != "event event event note end" || msgs[0].Event.Path != "/api/books" || msgs[1].Event.Status != 200 ||
		!strings.Contains(msgs[3].Text, "web-2 could not be tapped") || msgs[4].Text != "the proxies ended their tap streams" || msgs[4].Failed {
		t.Errorf("messages = %+v", msgs)
	}
	want := viz.TapQuery{
		Selection: viz.Selection{Kind: viz.KindDeployment, Names: []string{"web"}, Namespace: "demo"},
		Filter:    tapapi.Request{Method: "GET", PathPrefix: "/api", Authority: "web.demo", MaxRPS: DefaultTapMaxRPS},
	}
	if g, w := jsonOf(<-queries), jsonOf(want); g != w {
		t.Errorf("query = %s, want %s", g, w)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTapRateBound: of a burst of 100 requests, the page gets MaxRPS (the
// limiter's burst), each with its three events, and a note counting the
// others.
func TestTapRateBound(t *testing.T) {
	tapper := &fakeTapper{run: func(_ context.Context, _ viz.TapQuery, emit func(viz.TapEvent), _ func(string)) error {
		for id := range uint64(100) {
			for _, ev := range exchange(id, "/burst") {
				emit(ev)
			}
		}
		return nil
	}}
	addr, _ := serveTest(t, Options{Tap: tapper, TapLimits: TapLimits{MaxRPS: 5}})
	msgs := readUntil(t, dialTap(t, addr, "resource=deploy&namespace=demo&name=web"), toEnd)
	events, note := 0, ""
	shown := map[uint64]int{}
	for _, m := range msgs {
		switch m.Kind {
		case "event":
			events++
			shown[m.Event.ID]++
		case "note":
			note = m.Text
		}
	}
	if len(shown) < 5 || len(shown) > 6 || events != 3*len(shown) {
		t.Errorf("%d events of %d requests shown, want 5 (or 6) requests with their three events each", events, len(shown))
	}
	if !strings.Contains(note, "requests over the dashboard's limit of 5 per second were not shown") || !strings.HasPrefix(note, "9") {
		t.Errorf("note = %q, want the 94 or 95 requests not shown counted", note)
	}
}

// TestTapDurationBound: a tap ends at MaxDuration, and says so.
func TestTapDurationBound(t *testing.T) {
	tapper := blocking()
	addr, _ := serveTest(t, Options{Tap: tapper, TapLimits: TapLimits{MaxDuration: 300 * time.Millisecond}})
	start := time.Now()
	msgs := readUntil(t, dialTap(t, addr, "resource=deploy&namespace=demo&name=web"), toEnd)
	end := msgs[len(msgs)-1]
	if end.Kind != "end" || end.Failed || !strings.Contains(end.Text, "the tap stopped after 300ms, the dashboard's limit") {
		t.Errorf("last message %+v", end)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the tap ended after %s", d)
	}
	if tapper.ended.Load() != 1 {
		t.Error("the tap's context did not end")
	}
}

// TestTapStreamsBound: beyond MaxStreams the page is told to close one; a
// page that closes its socket ends its tap and frees its place.
func TestTapStreamsBound(t *testing.T) {
	tapper := blocking()
	addr, _ := serveTest(t, Options{Tap: tapper, TapLimits: TapLimits{MaxStreams: 1}})
	first := dialTap(t, addr, "resource=deploy&namespace=demo&name=web")
	waitUntil(t, "the first tap to start", func() bool { return tapper.started.Load() == 1 })
	msgs := readUntil(t, dialTap(t, addr, "resource=deploy&namespace=demo&name=web"), toEnd)
	if end := msgs[0]; end.Kind != "end" || !end.Failed || !strings.Contains(end.Text, "the dashboard's limit of 1 open taps is reached") {
		t.Errorf("second tap: %+v", msgs)
	}
	_ = first.Close(websocket.StatusNormalClosure, "page closed")
	waitUntil(t, "the closed page's tap to end", func() bool { return tapper.ended.Load() == 1 })
	dialTap(t, addr, "resource=deploy&namespace=demo&name=web")
	waitUntil(t, "a tap in the freed place", func() bool { return tapper.started.Load() == 2 })
}

// TestTapClose: Close (the server's shutdown) ends the open taps.
func TestTapClose(t *testing.T) {
	tapper := blocking()
	addr, h := serveTest(t, Options{Tap: tapper})
	c := dialTap(t, addr, "resource=deploy&namespace=demo&name=web")
	waitUntil(t, "the tap to start", func() bool { return tapper.started.Load() == 1 })
	h.Close()
	waitUntil(t, "the tap to end", func() bool { return tapper.ended.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		// At most the end message may come first, racing the closing.
		_, b, err := c.Read(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("the connection is still open 5s after Close")
		}
		if err != nil {
			return
		}
		if !strings.Contains(string(b), `"kind":"end"`) {
			t.Errorf("message after Close: %s", b)
		}
	}
}

// TestTapRefusals: what cannot be tapped ends the stream with the reason.
func TestTapRefusals(t *testing.T) {
	off, _ := serveTest(t, Options{TapOff: "the dashboard serves saved scrapes"})
	on, _ := serveTest(t, Options{Tap: blocking()})
	tests := []struct{ addr, query, want string }{
		{off, "resource=deploy&namespace=demo&name=web", "tap is not available: the dashboard serves saved scrapes"},
		{on, "resource=svc&namespace=demo&name=web", "the tap view does not take services"},
		{on, "resource=deploy&namespace=demo&name=web&path=api", `path "api": a path prefix starts with /`},
		{on, "resource=pizza", "unknown resource type"},
	}
	for _, tc := range tests {
		msgs := readUntil(t, dialTap(t, tc.addr, tc.query), toEnd)
		if len(msgs) != 1 || !msgs[0].Failed || !strings.Contains(msgs[0].Text, tc.want) {
			t.Errorf("%s: %+v, want a failed end saying %q", tc.query, msgs, tc.want)
		}
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestTapRealProxy runs the tap path for real: viz.Tapper lists the pod,
// opens the stream on a real proxy's control port with the token, and
// the requests sent through the proxy reach the page as events, raw (the
// page escapes them), with the pod's workload.
func TestTapRealProxy(t *testing.T) {
	const token = "dashboard-tap-token"
	p := startTapProxy(t, token)
	addr, _ := serveTest(t, Options{Tap: p.tapper(t, token)})
	c := dialTap(t, addr, "resource=deploy&namespace=demo&name=web&path=/api")
	msgs := make(chan tapMessage, 64)
	go func() {
		defer close(msgs)
		for {
			// A read whose context ends closes the connection: this one
			// lasts until the test's cleanup closes it.
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var m tapMessage
			if json.Unmarshal(b, &m) == nil {
				msgs <- m
			}
		}
	}()
	var req *viz.TapEvent
	for deadline := time.Now().Add(10 * time.Second); req == nil; {
		if time.Now().After(deadline) {
			t.Fatal("no tap event within 10s")
		}
		p.get(t, "/other", "web.demo") // filtered out by the proxy: path
		p.get(t, hostilePath, "web.demo")
		select {
		case m, ok := <-msgs:
			if !ok || m.Kind == "end" {
				t.Fatalf("the tap ended: %+v", m)
			}
			if m.Kind == "event" && m.Event.Type == tapapi.TypeRequest {
				req = m.Event
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	if req.Method != "GET" || req.Path != hostilePath || req.Authority != "web.demo" || req.Proxy != "inbound" || req.Pod != "demo/web-1" ||
		req.DestinationResource != "deployment/web" || req.DestinationNamespace != "demo" {
		t.Errorf("request event = %+v", req)
	}
}

package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"golang.org/x/time/rate"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
)

const testTapToken = "tap-token-for-tests"

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// tapProxy is a proxy in explicit-target mode in front of backend, with its
// tap server on a loopback control port.
type tapProxy struct {
	p                *Proxy
	inbound, control string
}

func startTapProxy(t *testing.T, backend string, tweak func(*Config, *Listeners)) tapProxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{InboundTarget: backend, ShutdownGracePeriod: time.Second, TapTokenSHA256: tokenHash(testTapToken)}
	ls := Listeners{Control: listenLoopback(t)}
	if tweak != nil {
		tweak(&cfg, &ls)
	}
	p, ls, done := startProxyWith(t, ctx, cfg, Deps{}, ls)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Errorf("proxy did not stop within 5s; goroutines:\n%s", b.String())
		}
	})
	eventually(t, func() bool {
		c, err := net.Dial("tcp", ls.Inbound.Addr().String())
		if err == nil {
			c.Close()
		}
		return err == nil && p.readiness != nil
	}, "inbound listener accepts")
	return tapProxy{p: p, inbound: ls.Inbound.Addr().String(), control: ls.Control.Addr().String()}
}

// tapClient reads one tap stream's events into a channel.
type tapClient struct {
	resp   *http.Response
	events chan tapapi.Event
	// hungUp is set before the test closes the stream itself.
	hungUp atomic.Bool
}

func openTap(t *testing.T, control, token string, req tapapi.Request) (*http.Response, *tapClient) {
	t.Helper()
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, "http://"+control+tapapi.Path, bytes.NewReader(body))
	if token != "" {
		hr.Header.Set(tapapi.HeaderToken, token)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}
	tc := &tapClient{resp: resp, events: make(chan tapapi.Event, 100000)}
	go func() {
		defer close(tc.events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var ev tapapi.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				if tc.hungUp.Load() {
					return // the test closed the stream, maybe mid-line
				}
				t.Errorf("tap line %q: %v", sc.Text(), err)
				return
			}
			tc.events <- ev
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return resp, tc
}

// next returns the next event, failing after 5 s.
func (tc *tapClient) next(t *testing.T) tapapi.Event {
	t.Helper()
	select {
	case ev, ok := <-tc.events:
		if !ok {
			t.Fatal("tap stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no tap event within 5s")
	}
	return tapapi.Event{}
}

// quiet fails when an event arrives within d.
func (tc *tapClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-tc.events:
		if ok {
			t.Fatalf("unexpected tap event %+v", ev)
		}
	case <-time.After(d):
	}
}

func do(t *testing.T, c *http.Client, method, url string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func echoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(b.Close)
	return b
}

// TestTapEventsAndFilter: a real HTTP client's requests through the
// inbound side arrive as req/rsp/end events, and only those the filter
// selects.
func TestTapEventsAndFilter(t *testing.T) {
	tp := startTapProxy(t, strings.TrimPrefix(echoBackend(t).URL, "http://"), nil)
	resp, tc := openTap(t, tp.control, testTapToken, tapapi.Request{Method: "GET", PathPrefix: "/api/", Authority: "web.shop"})
	if tc == nil {
		t.Fatalf("tap: %d", resp.StatusCode)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, r := range []struct{ method, host, path string }{
		{"POST", "web.shop", "/api/missing"}, // wrong method
		{"GET", "web.shop", "/other"},        // wrong path
		{"GET", "db.shop", "/api/missing"},   // wrong authority
		{"GET", "web.shop", "/api/missing?q=1"},
	} {
		req, _ := http.NewRequest(r.method, "http://"+tp.inbound+r.path, nil)
		req.Host = r.host
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	req := tc.next(t)
	if req.Type != tapapi.TypeRequest || req.Method != "GET" || req.Path != "/api/missing?q=1" || req.Authority != "web.shop" ||
		req.Proxy != "inbound" || req.TLS != "no_identity" || req.NoTLSReason != "no_tls_from_remote" || !strings.HasPrefix(req.Source, "127.0.0.1:") || req.ID == 0 {
		t.Errorf("req event = %+v", req)
	}
	rsp := tc.next(t)
	if rsp.Type != tapapi.TypeResponse || rsp.ID != req.ID || rsp.Status != 404 || rsp.LatencyMicros <= 0 {
		t.Errorf("rsp event = %+v", rsp)
	}
	end := tc.next(t)
	if end.Type != tapapi.TypeEnd || end.ID != req.ID || end.Status != 404 || end.ResponseBytes != 5 || end.DurationMicros < rsp.LatencyMicros || end.Error != "" {
		t.Errorf("end event = %+v", end)
	}
	tc.quiet(t, 200*time.Millisecond)
}

// TestTapGRPC: a real gRPC client's failed call ends with its grpc-status.
func TestTapGRPC(t *testing.T) {
	ln := listenLoopback(t)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	tp := startTapProxy(t, ln.Addr().String(), nil)
	_, tc := openTap(t, tp.control, testTapToken, tapapi.Request{PathPrefix: "/grpc.health.v1.Health/"})
	conn, err := grpc.NewClient(tp.inbound, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check = %v, want NotFound", err)
	}
	req := tc.next(t)
	if req.Method != "POST" || req.Path != "/grpc.health.v1.Health/Check" {
		t.Errorf("req = %+v", req)
	}
	for {
		ev := tc.next(t)
		if ev.Type == tapapi.TypeEnd {
			if ev.GRPCStatus != "5" || ev.Status != 200 {
				t.Errorf("end = %+v, want grpc-status 5", ev)
			}
			break
		}
	}
}

// TestTapMaxRPS: a stream asking for 5 requests per second reports no more.
func TestTapMaxRPS(t *testing.T) {
	tp := startTapProxy(t, strings.TrimPrefix(echoBackend(t).URL, "http://"), nil)
	_, tc := openTap(t, tp.control, testTapToken, tapapi.Request{MaxRPS: 5})
	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	for range 200 {
		if code := do(t, client, "GET", "http://"+tp.inbound+"/x"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	for time.Since(start) < 500*time.Millisecond {
		do(t, client, "GET", "http://"+tp.inbound+"/x")
	}
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond)
	reqs := 0
	for done := false; !done; {
		select {
		case ev := <-tc.events:
			if ev.Type == tapapi.TypeRequest {
				reqs++
			}
		default:
			done = true
		}
	}
	// A burst of 1 plus 5 per second.
	if limit := 1 + int(5*elapsed.Seconds()+0.999); reqs < 1 || reqs > limit {
		t.Errorf("%d requests sampled in %s, want 1..%d", reqs, elapsed, limit)
	}
}

// TestTapUnauthorized: no token, a wrong token, or a proxy without a
// token get 403 and no events; and the control port cannot be reached
// through the proxy's own inbound side (where it would come from loopback).
func TestTapUnauthorized(t *testing.T) {
	backend := strings.TrimPrefix(echoBackend(t).URL, "http://")
	tp := startTapProxy(t, backend, nil)
	for name, tok := range map[string]string{"no token": "", "wrong token": "guess", "hash as token": tokenHash(testTapToken)} {
		resp, tc := openTap(t, tp.control, tok, tapapi.Request{})
		if resp.StatusCode != http.StatusForbidden || tc != nil {
			t.Errorf("%s: status %d, want 403", name, resp.StatusCode)
		}
	}
	do(t, http.DefaultClient, "GET", "http://"+tp.inbound+"/x")
	if n := tp.p.taps.open.Load(); n != 0 {
		t.Errorf("%d streams open after refusals", n)
	}

	off := startTapProxy(t, backend, func(c *Config, _ *Listeners) { c.TapTokenSHA256 = "" })
	if resp, _ := openTap(t, off.control, testTapToken, tapapi.Request{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("proxy without a token: status %d, want 403", resp.StatusCode)
	}

	// A proxy whose inbound target is its own control port drops the
	// connection instead of delivering it from 127.0.0.1.
	ctl := listenLoopback(t)
	loop := startTapProxy(t, ctl.Addr().String(), func(c *Config, ls *Listeners) {
		ls.Control.Close()
		ls.Control = ctl
	})
	body, _ := json.Marshal(tapapi.Request{})
	req, _ := http.NewRequest(http.MethodPost, "http://"+loop.inbound+tapapi.Path, bytes.NewReader(body))
	req.Header.Set(tapapi.HeaderToken, testTapToken)
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the tap server answered through the proxy's inbound side")
		}
	}
	if n := loop.p.taps.open.Load(); n != 0 {
		t.Errorf("%d streams opened through the inbound side", n)
	}
}

// TestTapBadRequests: malformed, oversized or out-of-range requests get 400.
func TestTapBadRequests(t *testing.T) {
	tp := startTapProxy(t, strings.TrimPrefix(echoBackend(t).URL, "http://"), nil)
	for name, body := range map[string]string{
		"not json":      "{",
		"unknown field": `{"nope": 1}`,
		"direction":     `{"direction": "sideways"}`,
		"rps":           `{"maxRps": 100000}`,
		"address":       `{"toAddrs": ["web"]}`,
		"too big":       `{"pathPrefix": "` + strings.Repeat("a", tapapi.MaxRequestBytes) + `"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+tp.control+tapapi.Path, strings.NewReader(body))
		req.Header.Set(tapapi.HeaderToken, testTapToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
}

// TestTapStreamCap: streams past TapMaxStreams get 429.
func TestTapStreamCap(t *testing.T) {
	tp := startTapProxy(t, strings.TrimPrefix(echoBackend(t).URL, "http://"), func(c *Config, _ *Listeners) { c.TapMaxStreams = 2 })
	for range 2 {
		if resp, _ := openTap(t, tp.control, testTapToken, tapapi.Request{}); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if resp, _ := openTap(t, tp.control, testTapToken, tapapi.Request{}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third stream: status %d, want 429", resp.StatusCode)
	}
}

// TestTapSlowOrClosedReaderNeverSlowsTraffic: a tap client that reads
// nothing, then one that hangs up mid-traffic, never fail or stall a
// proxied request; the slow client learns how many events it missed.
func TestTapSlowOrClosedReaderNeverSlowsTraffic(t *testing.T) {
	tp := startTapProxy(t, strings.TrimPrefix(echoBackend(t).URL, "http://"), nil)
	// The slow reader: a tiny receive buffer, and nobody reads.
	dialer := &net.Dialer{}
	slowTransport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	body, _ := json.Marshal(tapapi.Request{MaxRPS: tapapi.LimitMaxRPS})
	req, _ := http.NewRequest(http.MethodPost, "http://"+tp.control+tapapi.Path, bytes.NewReader(body))
	req.Header.Set(tapapi.HeaderToken, testTapToken)
	slow, err := (&http.Client{Transport: slowTransport}).Do(req)
	if err != nil || slow.StatusCode != 200 {
		t.Fatalf("slow tap: %v", err)
	}
	defer slow.Body.Close()
	// The closing reader: reads, then hangs up half-way.
	_, closing := openTap(t, tp.control, testTapToken, tapapi.Request{MaxRPS: tapapi.LimitMaxRPS})

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	const n = 3000
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		worst   time.Duration
		failed  int
		perConn = n / 4
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perConn {
				if w == 0 && i == perConn/2 {
					closing.hungUp.Store(true)
					closing.resp.Body.Close()
				}
				start := time.Now()
				resp, err := client.Get("http://" + tp.inbound + "/x")
				d := time.Since(start)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						failed++
					}
				}
				worst = max(worst, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Errorf("%d of %d proxied requests failed while tapped", failed, n)
	}
	if worst > 2*time.Second {
		t.Errorf("slowest proxied request took %s while a tap client read nothing", worst)
	}
	// The slow client reads now: whatever it missed is counted.
	sc := bufio.NewScanner(slow.Body)
	var got, dropped uint64
	var cut atomic.Bool // the timer closed the body, maybe mid-line
	stop := time.AfterFunc(time.Second, func() { cut.Store(true); slow.Body.Close() })
	defer stop.Stop()
	for sc.Scan() {
		var ev tapapi.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			if cut.Load() {
				break // the last line was cut by our own close
			}
			t.Fatal(err)
		}
		if ev.Type == tapapi.TypeDropped {
			dropped += ev.Dropped
		} else {
			got++
		}
	}
	t.Logf("slow reader: %d events delivered, %d dropped", got, dropped)
	if got == 0 {
		t.Error("the slow reader got no events at all")
	}
}

// TestTapFullStreamDrops: a stream whose queue is full loses events,
// counted, and the request path never waits for it.
func TestTapFullStreamDrops(t *testing.T) {
	h := newTapHub(Config{TapMaxStreams: 1}.Defaults(), testLogger(t))
	s := &tapStream{limiter: rate.NewLimiter(rate.Inf, 1), events: make(chan tapapi.Event, 2)}
	if !h.add(s) {
		t.Fatal("add refused")
	}
	r := httptest.NewRequest("GET", "/", nil)
	info := &connInfo{direction: Inbound}
	start := time.Now()
	for range 1000 {
		tx := h.begin(r, info, info.target, time.Now())
		tx.end(200, "", "")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("1000 tapped exchanges took %s with a stuck reader", d)
	}
	if len(s.events) != 2 || s.dropped.Load() != 1998 {
		t.Errorf("queued %d, dropped %d; want 2 and 1998", len(s.events), s.dropped.Load())
	}
	h.remove(s)
	if h.open.Load() != 0 {
		t.Error("stream still counted after remove")
	}
}

// TestTapIdleCost: with no stream open, begin does no work.
func TestTapIdleCost(t *testing.T) {
	h := newTapHub(Config{TapMaxStreams: 1}.Defaults(), testLogger(t))
	r := httptest.NewRequest("GET", "/", nil)
	info := &connInfo{direction: Inbound}
	if allocs := testing.AllocsPerRun(100, func() { _ = h.begin(r, info, info.target, time.Now()) }); allocs != 0 {
		t.Errorf("begin with no stream allocates %v times", allocs)
	}
	var nilHub *tapHub
	if nilHub.begin(r, info, info.target, time.Now()) != nil {
		t.Error("a nil hub sampled a request")
	}
}

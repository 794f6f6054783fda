package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPprofEndpoint: the profiles are served only when enabled, and then
// to loopback clients only.
func TestPprofEndpoint(t *testing.T) {
	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, enabled := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		p, ls, done := startProxy(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1", PprofEndpoint: enabled})
		base := "http://" + ls.Admin.Addr().String()
		code, body := get(t, base+"/debug/pprof/")
		switch {
		case !enabled && code != http.StatusNotFound:
			t.Errorf("disabled: /debug/pprof/ answered %d", code)
		case enabled && (code != http.StatusOK || !strings.Contains(body, "goroutine")):
			t.Errorf("enabled: /debug/pprof/ answered %d: %.200s", code, body)
		}
		if enabled {
			if code, body := get(t, base+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
				t.Errorf("goroutine profile: %d %.200s", code, body)
			}
			if code, body := get(t, base+"/debug/pprof/profile?seconds=1"); code != http.StatusOK || len(body) == 0 {
				t.Errorf("CPU profile: %d, %d bytes", code, len(body))
			}
			// A client that is not on loopback, as the pod network would be.
			req := httptest.NewRequest(http.MethodGet, "/debug/pprof/heap", nil)
			req.RemoteAddr = "10.1.2.3:40000"
			rec := httptest.NewRecorder()
			p.adminHandler().ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("a client on 10.1.2.3 got %d from /debug/pprof/heap, want 403", rec.Code)
			}
		}
		cancel()
		<-done
	}
}

// TestPprofDefaultSeconds: a CPU profile or trace without ?seconds= runs
// for defaultProfileSeconds, which the admin server's write timeout allows
// (net/http/pprof's own default, 30, it would refuse); one that names its
// length keeps it.
func TestPprofDefaultSeconds(t *testing.T) {
	for query, want := range map[string]string{"": defaultProfileSeconds, "?seconds=3": "3", "?debug=1": defaultProfileSeconds} {
		var got string
		h := withDefaultSeconds(func(_ http.ResponseWriter, r *http.Request) { got = r.URL.Query().Get("seconds") })
		h(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/debug/pprof/profile"+query, nil))
		if got != want {
			t.Errorf("query %q: seconds=%q, want %q", query, got, want)
		}
	}
}

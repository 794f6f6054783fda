package proxy

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProxyLogLevel: /proxy-log-level reads and sets the level of the
// proxy's logger, to loopback clients only, and refuses what is not a
// level, as Linkerd's endpoint does.
func TestProxyLogLevel(t *testing.T) {
	var logs bytes.Buffer
	lv := new(slog.LevelVar)
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: lv}))
	p := adminOnlyProxy(t, Deps{LogLevel: lv}, log)
	do := func(method, body, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/proxy-log-level", strings.NewReader(body))
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		p.adminHandler().ServeHTTP(rec, req)
		return rec
	}
	const local, remote = "127.0.0.1:40000", "10.1.2.3:40000"

	if rec := do("GET", "", local); rec.Code != http.StatusOK || rec.Body.String() != "info\n" {
		t.Fatalf("GET: %d %q, want 200 \"info\\n\"", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		body  string
		want  int
		level slog.Level // after the request
		text  string     // in the answer
	}{
		{"debug", http.StatusNoContent, slog.LevelDebug, ""},
		{"warn,meshctl=error\n", http.StatusNoContent, slog.LevelError, ""}, // Linkerd-style directive
		{"linkerd=debug,info", http.StatusNoContent, slog.LevelInfo, ""},
		{"verbose", http.StatusBadRequest, slog.LevelInfo, "use debug, info, warn or error"},
		{"", http.StatusBadRequest, slog.LevelInfo, "names no level"},
		{strings.Repeat("debug,", 400), http.StatusRequestEntityTooLarge, slog.LevelInfo, "send a level"},
	} {
		rec := do("PUT", tc.body, local)
		if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.text) {
			t.Errorf("PUT %.40q: %d %q, want %d with %q", tc.body, rec.Code, rec.Body, tc.want, tc.text)
		}
		if lv.Level() != tc.level {
			t.Errorf("PUT %.40q: level %v, want %v", tc.body, lv.Level(), tc.level)
		}
	}
	if !strings.Contains(logs.String(), "log level changed") || !strings.Contains(logs.String(), "to=debug") {
		t.Errorf("the change was not logged: %q", logs.String())
	}

	// Not from the pod network, either way.
	if rec := do("PUT", "debug", remote); rec.Code != http.StatusForbidden || lv.Level() != slog.LevelInfo {
		t.Errorf("PUT from %s: %d, level %v; want 403 and info kept", remote, rec.Code, lv.Level())
	}
	if rec := do("GET", "", remote); rec.Code != http.StatusForbidden {
		t.Errorf("GET from %s: %d, want 403", remote, rec.Code)
	}
	if rec := do("POST", "debug", local); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

// TestProxyLogLevelFixed: without a level variable the endpoint says the
// level is fixed rather than pretend to change it.
func TestProxyLogLevelFixed(t *testing.T) {
	p := adminOnlyProxy(t, Deps{}, testLogger(t))
	req := httptest.NewRequest("PUT", "/proxy-log-level", strings.NewReader("debug"))
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	p.adminHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "--log-level") {
		t.Errorf("PUT on a fixed level: %d %q, want 404 naming --log-level", rec.Code, rec.Body)
	}
}

// adminOnlyProxy builds a proxy whose admin handler the test calls
// directly; it is never run.
func adminOnlyProxy(t *testing.T, deps Deps, log *slog.Logger) *Proxy {
	t.Helper()
	cfg := Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1"}.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	admin := listenLoopback(t)
	t.Cleanup(func() { _ = admin.Close() })
	p, err := New(cfg, deps, log, Listeners{Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

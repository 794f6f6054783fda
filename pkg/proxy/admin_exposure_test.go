package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminExposure: what the pod network may read on the admin port
// (probes, scrapes, the public certificate) and what only the pod itself
// or a port-forward may (the effective configuration).
func TestAdminExposure(t *testing.T) {
	p := adminOnlyProxy(t, Deps{}, testLogger(t))
	for _, tc := range []struct {
		path   string
		remote string
		want   int
	}{
		{"/config", "127.0.0.1:40000", http.StatusOK},
		{"/config", "[::1]:40000", http.StatusOK},
		{"/config", "10.1.2.3:40000", http.StatusForbidden},
		{"/config", "[fd00::3]:40000", http.StatusForbidden},
		{"/live", "10.1.2.3:40000", http.StatusOK},
		{"/metrics", "10.1.2.3:40000", http.StatusOK},
		{"/identity", "10.1.2.3:40000", http.StatusNotFound}, // identity disabled here
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.RemoteAddr = tc.remote
		rec := httptest.NewRecorder()
		p.adminHandler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET %s from %s: %d, want %d: %.200s", tc.path, tc.remote, rec.Code, tc.want, rec.Body)
			continue
		}
		switch {
		case tc.path == "/config" && tc.want == http.StatusOK && !strings.Contains(rec.Body.String(), `"inboundTarget": "127.0.0.1:1"`):
			t.Errorf("GET /config from %s: no effective configuration: %.300s", tc.remote, rec.Body)
		case tc.path == "/config" && tc.want == http.StatusForbidden && !strings.Contains(rec.Body.String(), "port-forward"):
			t.Errorf("GET /config from %s: the refusal does not say what to do: %s", tc.remote, rec.Body)
		}
	}
}

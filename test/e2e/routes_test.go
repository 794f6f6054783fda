//go:build e2e

package e2e

import (
	"encoding/json"
	"testing"
)

// routeRow is one row of `meshctl viz routes -o json`.
type routeRow struct {
	Route         string   `json:"route"`
	Service       string   `json:"service"`
	Success       *float64 `json:"success"`
	RPS           *float64 `json:"rps"`
	ActualSuccess *float64 `json:"actual_success"`
	ActualRPS     *float64 `json:"actual_rps"`
}

func vizRoutes(t *testing.T, args ...string) map[string]routeRow {
	t.Helper()
	out, errOut, code := meshctl(t, append([]string{"viz", "routes"}, args...)...)
	if code != 0 {
		t.Fatalf("viz routes %v: exit %d\n%s", args, code, errOut)
	}
	var rows []routeRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("viz routes -o json: %v\n%s\n%s", err, out, errOut)
	}
	byRoute := map[string]routeRow{}
	for _, r := range rows {
		byRoute[r.Service+" "+r.Route] = r
	}
	return byRoute
}

// vizRoutesShowsDemoRoutes checks the demo's ServiceProfiles at work. The
// load sends web 50 requests per second: 80 % to / ("GET /"), 10 % to
// /fail ("GET /fail", always 500) and 10 % to /flaky, which no web route
// names ([DEFAULT]). Web calls backend's /hello twice per "/" request and
// /flaky once per /flaky request; backend fails every other /flaky, and
// web's proxy retries them (backend's route is retryable).
// The server and client sides are read in parallel.
func vizRoutesShowsDemoRoutes(t *testing.T) {
	t.Run("server side", func(t *testing.T) { t.Parallel(); vizRoutesServerSide(t) })
	t.Run("client side", func(t *testing.T) { t.Parallel(); vizRoutesClientSide(t) })
}

func within(t *testing.T, what string, v *float64, lo, hi float64) {
	t.Helper()
	if v == nil || *v < lo || *v > hi {
		t.Errorf("%s = %v, want within [%v, %v]", what, deref(v), lo, hi)
	}
}

// vizRoutesServerSide reads web's own routes, from its inbound proxy.
func vizRoutesServerSide(t *testing.T) {
	in := vizRoutes(t, "deploy/web", "-n", demoNamespace, "-t", "20s", "-o", "json")
	root, fail, def := in["web GET /"], in["web GET /fail"], in["web [DEFAULT]"]
	within(t, "web GET / success", root.Success, 0.99, 1)
	within(t, "web GET / rps", root.RPS, 28, 52)
	within(t, "web GET /fail success", fail.Success, 0, 0.01)
	within(t, "web GET /fail rps", fail.RPS, 3, 7)
	within(t, "web [DEFAULT] (/flaky) success", def.Success, 0.97, 1)
	within(t, "web [DEFAULT] (/flaky) rps", def.RPS, 3, 7)
	t.Logf("viz routes deploy/web: GET / %.1f rps, GET /fail %.1f rps, [DEFAULT] %.1f rps", deref(root.RPS), deref(fail.RPS), deref(def.RPS))
}

// vizRoutesClientSide reads web's calls to backend, with retries visible.
func vizRoutesClientSide(t *testing.T) {
	out := vizRoutes(t, "deploy/web", "-n", demoNamespace, "--to", "svc/backend", "-t", "20s", "-o", "json")
	hello, flaky := out["backend GET /hello"], out["backend GET /flaky"]
	within(t, "backend GET /hello success", hello.Success, 0.99, 1)
	within(t, "backend GET /hello rps", hello.RPS, 56, 104)
	within(t, "backend GET /flaky effective success", flaky.Success, 0.97, 1)
	within(t, "backend GET /flaky actual success", flaky.ActualSuccess, 0.35, 0.65)
	if flaky.RPS == nil || flaky.ActualRPS == nil || *flaky.ActualRPS < 1.5**flaky.RPS {
		t.Errorf("backend GET /flaky: actual rps %v should be about twice the effective %v (every other attempt retried)", deref(flaky.ActualRPS), deref(flaky.RPS))
	}
	t.Logf("viz routes deploy/web --to svc/backend: GET /flaky effective %.2f at %.1f rps, actual %.2f at %.1f rps",
		deref(flaky.Success), deref(flaky.RPS), deref(flaky.ActualSuccess), deref(flaky.ActualRPS))
}

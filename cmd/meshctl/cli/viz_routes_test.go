package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// routesScrapes are the --metrics-file flags of viz's "routes" fixture
// (viz/testdata/routes/README.md).
func routesScrapes() string { return fixtureScrapes("routes", "backend-1", "backend-2", "web-1") }

func TestVizRoutesOffline(t *testing.T) {
	files := routesScrapes()
	noRoutes := "No route traffic found.\nRoutes are recorded only for requests to a Service with a ServiceProfile named "
	tests := []struct {
		name   string
		args   string
		stderr string // a substring; "" means stderr must be empty
	}{
		{"routes_deploy", "viz routes deploy/backend -n demo" + files, ""},
		{"routes_svc_wide", "viz routes svc/backend -n demo -o wide" + files, ""},
		{"routes_to_svc_wide", "viz routes deploy/web -n demo --to svc/backend -o wide" + files, ""},
		{"routes_to_svc_json", "viz routes deploy/web -n demo --to svc/backend -o json" + files, ""},
		{"routes_to_any_svc_all_namespaces", "viz routes deploy/web -A --to svc" + files, ""},
		{"routes_none_inbound", "viz routes deploy/web -n demo" + files, noRoutes + "NAME.demo.svc.cluster.local; check with `kubectl get serviceprofiles -n demo`."},
		{"routes_none_to_namespace", "viz routes deploy/web -n demo --to svc/backend --to-namespace other" + files, noRoutes + "backend.other.svc.cluster.local; check with `kubectl get serviceprofiles -n other`."},
		{"routes_none_svc", "viz routes svc/web -n demo" + files, noRoutes + "web.demo.svc.cluster.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != 0 {
				t.Fatalf("code %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			if tt.stderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.stderr)
			}
			if tt.stderr != "" && r.stdout != "" {
				t.Errorf("stdout = %q, want nothing without routes", r.stdout)
			}
			golden.Assert(t, filepath.Join("testdata", "viz", tt.name+".golden"), []byte(r.stdout))
		})
	}
}

// TestVizRoutesUnreachable: a selected pod that did not answer is noted
// on stderr, beside the routes of the others or the "no route traffic"
// report.
func TestVizRoutesUnreachable(t *testing.T) {
	note := "note: pod shop/api-1 did not answer, its numbers are missing: only one scrape file"
	apiStart := " --metrics-file " + filepath.Join("..", "..", "..", "viz", "testdata", "shop", "api-1.start.prom")
	r := run(t, "viz routes deploy -A"+routesScrapes()+apiStart)
	if r.code != 0 || !strings.Contains(r.stdout, "GET /books/{id}") || !strings.Contains(r.stderr, note) {
		t.Errorf("code %d, stdout %q, stderr %q; want the backend's routes and the note %q", r.code, r.stdout, r.stderr, note)
	}
	r = run(t, "viz routes deploy/api -n shop"+shopScrapes())
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, note) || !strings.Contains(r.stderr, "No route traffic found.") {
		t.Errorf("code %d, stdout %q, stderr %q; want the note %q and no routes", r.code, r.stdout, r.stderr, note)
	}
}

func TestVizRoutesUsageErrors(t *testing.T) {
	files := routesScrapes()
	tests := []struct{ name, args, stderr string }{
		{"no resource", "viz routes", "accepts 1 arg"},
		{"two resources", "viz routes deploy/web deploy/api" + files, "accepts 1 arg"},
		{"to a deployment", "viz routes deploy/web --to deploy/x" + files, "--to deploy/x: routes belong to a Service's ServiceProfile: name the service, as --to svc/NAME"},
		{"to a pod", "viz routes deploy/web --to po/x" + files, "--to svc/NAME"},
		{"to an unknown type", "viz routes deploy/web --to pizza/x" + files, "--to: unknown resource type"},
		{"from a service", "viz routes svc/web --to svc/api" + files, "name the workload behind it"},
		{"unknown type", "viz routes pizza/x" + files, "unknown resource type \"pizza\""},
		{"namespaces", "viz routes ns/demo" + files, "viz routes takes deploy, sts, ds, job, cronjob, rs, rc, po or svc"},
		{"all", "viz routes all" + files, "viz routes takes deploy"},
		{"svc with a selector", "viz routes svc/web -l app=web" + files, "services are named"},
		{"to-namespace without to", "viz routes deploy/web --to-namespace other" + files, "give --to too"},
		{"yaml", "viz routes deploy/web -o yaml" + files, "unknown output format"},
		{"one scrape", "viz routes deploy/web --metrics-file a.prom", "two or more scrapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.args)
			if r.code != ExitUsage || r.stdout != "" || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("meshctl %s: code %d, stdout %q, stderr %q; want usage error mentioning %q", tt.args, r.code, r.stdout, r.stderr, tt.stderr)
			}
		})
	}
}

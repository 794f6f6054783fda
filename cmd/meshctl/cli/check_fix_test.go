package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/check"
)

func TestCheckFixUsage(t *testing.T) {
	for _, args := range []string{"check --dry-run", "check --yes", "check --fix --dry-run --yes", "check --fix -o json"} {
		t.Run(args, func(t *testing.T) {
			r := run(t, args)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestCheckRunFixes: --dry-run only shows; without --yes a terminal is
// asked and anything but y/yes applies nothing; without a terminal the
// fix is refused; --yes applies; a failed step fails the command.
func TestCheckRunFixes(t *testing.T) {
	tests := []struct {
		name        string
		dryRun, yes bool
		interactive bool
		answer      string
		applyErr    error
		wantApplied int
		wantErr     string
		wantStderr  string
	}{
		{name: "dry run", dryRun: true},
		{name: "no terminal", wantErr: "refusing to apply 2 fix step(s) without confirmation: no terminal to ask on; pass --yes"},
		{name: "answered yes", interactive: true, answer: "y\n", wantApplied: 2, wantStderr: "Apply 2 step(s) to the cluster? [y/N] √ restart Deployment shop/web"},
		{name: "answered YES", interactive: true, answer: "YES\n", wantApplied: 2},
		{name: "answered no", interactive: true, answer: "n\n", wantStderr: "Nothing applied."},
		{name: "just enter", interactive: true, answer: "\n", wantStderr: "Nothing applied."},
		{name: "end of input", interactive: true, answer: "", wantStderr: "Nothing applied."},
		{name: "yes flag", yes: true, wantApplied: 2, wantStderr: "Applied. Run `meshctl check` again"},
		{name: "step fails", yes: true, applyErr: errors.New("forbidden"), wantApplied: 2, wantErr: "2 fix step(s) failed", wantStderr: "× restart Deployment shop/web: pods web-1 are stale\n    forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, in, out, errOut := genericiooptions.NewTestIOStreams()
			in.WriteString(tt.answer)
			applied := 0
			apply := func(context.Context, *check.Env) error { applied++; return tt.applyErr }
			plans := []check.FixPlan{{
				Code: "MESH405", Description: "data plane proxies hold certificates that chain to the current trust anchors",
				Actions: []check.Action{
					{Description: "restart Deployment shop/web: pods web-1 are stale", Show: "kubectl -n shop rollout restart deployment/web", Apply: apply},
					{Description: "restart StatefulSet shop/db: pods db-0 are stale", Show: "kubectl -n shop rollout restart statefulset/db", Apply: apply},
					{Description: "re-create pods shop/debug", Show: "kubectl delete pod debug -n shop"},
				},
			}}
			o := &checkOptions{
				globalOptions: &globalOptions{streams: streams, noColor: true},
				fix:           true, dryRun: tt.dryRun, yes: tt.yes,
				interactive: func(io.Reader) bool { return tt.interactive },
			}
			err := o.runFixes(context.Background(), &check.Env{}, plans)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if applied != tt.wantApplied {
				t.Fatalf("applied %d steps, want %d", applied, tt.wantApplied)
			}
			if !strings.Contains(out.String(), "Fixes\n-----\nMESH405") || !strings.Contains(out.String(), "  - by hand: re-create pods shop/debug") {
				t.Fatalf("plan not shown:\n%s", out)
			}
			if !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Fatalf("stderr %q does not contain %q", errOut, tt.wantStderr)
			}
		})
	}
}

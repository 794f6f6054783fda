package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBenchSmoke runs the whole harness once, briefly: one round of the
// meshctl pair and the floor pair (both real subprocesses of a freshly
// built meshctl) at 200 rps for 2 s. It checks that every phase produced
// figures, not what they are.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds meshctl and runs subprocesses")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "meshctl")
	build := exec.Command("go", "build", "-o", bin, "github.com/meshctl/meshctl/cmd/meshctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build meshctl: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Bench(ctx, Options{
		Rounds: 1, Duration: 2 * time.Second, Warmup: 200 * time.Millisecond, Rate: 200, Conns: 4,
		ClosedLoop: ClosedLoop{Conns: 4, Duration: 500 * time.Millisecond},
		References: []string{ConfigFloor}, Binary: bin, WorkDir: dir, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 4 {
		t.Fatalf("%d runs, want baseline, meshctl, floor, baseline", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Config, r.Err)
			continue
		}
		if r.Fixed.Requests == 0 || r.Fixed.Errors != 0 || r.Closed == nil || r.Closed.Requests == 0 {
			t.Errorf("%s: fixed %+v closed %+v", r.Config, r.Fixed, r.Closed)
		}
		if r.Config == ConfigBaseline {
			continue
		}
		if r.Startup == nil || r.Startup.FirstOKMillis <= 0 || len(r.Idle.RSS) != 2 || r.Idle.RSS[0] == 0 || r.FixedUsage.HWM[1] == 0 {
			t.Errorf("%s: startup %+v idle %+v", r.Config, r.Startup, r.Idle)
		}
	}
	rep := Summarize(res)
	if m, ok := rep.Find(ScenarioS1, ConfigMeshctl); !ok || m.AddedP50.N != 1 || m.P50VsFloor.N+m.RPSVsFloor.N == 0 {
		t.Errorf("summary of meshctl: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "s1-r1-1-meshctl", "meshctl-A.log")); err != nil {
		t.Errorf("child log: %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

package bench

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

// fakeRun builds a completed run with the given fixed-rate p50/p90/p99 (µs),
// closed-loop rps, proxy CPU (ms per proxy over a 10 s phase of 10,000
// requests) and memory.
func fakeRun(round, pos int, cfg string, p50, p90, p99, rps, cpu float64, rssMiB uint64) Run {
	r := Run{
		Scenario: ScenarioS1, Round: round, Position: pos, Config: cfg,
		Fixed:  &LoadResult{Requests: 10000, Seconds: 10, RPS: 1000, Latency: Summary{Count: 10000, P50: p50, P90: p90, P99: p99}, Lateness: Summary{P99: 12}},
		Closed: &LoadResult{Requests: int(rps * 5), Seconds: 5, RPS: rps},
	}
	usage := func(rss uint64) *Usage {
		return &Usage{CPUMillis: []float64{cpu, cpu * 0.9}, RSS: []uint64{rss << 10, (rss - 1) << 10}, HWM: []uint64{(rss + 2) << 10, rss << 10}, PSS: []uint64{(rss / 2) << 10, (rss / 2) << 10}, Anon: []uint64{(rss / 4) << 10, (rss / 5) << 10}, CapacityMillis: 20000, ForeignCPUMillis: 5000}
	}
	r.FixedUsage = usage(rssMiB)
	r.ClosedUsage = usage(rssMiB + 4)
	if cfg != ConfigBaseline {
		r.Idle = usage(rssMiB)
		r.Startup = &Startup{ListeningMillis: 8 + float64(round), FirstOKMillis: 20 + float64(round)}
	} else {
		r.FixedUsage.CPUMillis, r.ClosedUsage.CPUMillis = nil, nil
	}
	return r
}

func fakeResult() *Result {
	opts := Options{Scenarios: []Scenario{ScenarioS1}, Rate: 1000, Conns: 16, Duration: 10 * time.Second, Warmup: 2 * time.Second, Spin: 200 * time.Microsecond, Rounds: 2,
		ClosedLoop: ClosedLoop{Conns: 64, Duration: 5 * time.Second}, BodySize: 1024, References: References()}
	res := &Result{Options: opts, Hop: HopOf(false), Machine: Machine{CPUModel: "Test CPU", CPUs: 2, Kernel: "6.0", GoVersion: "go1.26.8", Meshctl: "dev", ToolVersions: map[string]string{"nginx": "nginx/1.22.1"}}, Skipped: map[string]string{"haproxy": "not found on PATH"}}
	add := func(runs ...Run) { res.Runs = append(res.Runs, runs...) }
	add(
		fakeRun(1, 0, ConfigBaseline, 150, 210, 300, 40000, 0, 1),
		fakeRun(1, 1, ConfigMeshctl, 400, 500, 800, 10000, 1500, 12),
		fakeRun(1, 2, ConfigNginx, 350, 450, 700, 12000, 1200, 17),
		fakeRun(1, 3, ConfigFloor, 320, 400, 600, 15000, 1100, 7),
		fakeRun(1, 4, ConfigBaseline, 170, 230, 340, 42000, 0, 1),
		fakeRun(2, 0, ConfigBaseline, 160, 220, 310, 41000, 0, 1),
		fakeRun(2, 1, ConfigFloor, 330, 410, 650, 14000, 1150, 7),
		fakeRun(2, 2, ConfigNginx, 360, 470, 720, 11000, 1250, 17),
		fakeRun(2, 3, ConfigMeshctl, 460, 560, 1300, 9000, 1700, 13),
		fakeRun(2, 4, ConfigBaseline, 160, 220, 330, 40000, 0, 1),
	)
	res.Runs[8].Invalid = "generator lateness p99 40 µs > 10% of the baseline p50 (16 µs)"
	return res
}

func TestSummarizeAddedAndRatios(t *testing.T) {
	rep := Summarize(fakeResult())
	m, ok := rep.Find(ScenarioS1, ConfigMeshctl)
	if !ok {
		t.Fatal("no meshctl summary")
	}
	// Round 1: baseline median p50 160, meshctl +240, nginx +190, floor +160.
	// Round 2: baseline 160, meshctl +300, nginx +200, floor +170.
	if m.AddedP50 != (Stat{N: 2, Median: 270, Min: 240, Max: 300}) {
		t.Errorf("added p50 %+v", m.AddedP50)
	}
	if got := m.P50VsNginx; got.N != 2 || got.Min != 240.0/190 || got.Max != 1.5 {
		t.Errorf("p50 ÷ nginx %+v", got)
	}
	// p99: meshctl 800 and 1300 against nginx's 700 and 720.
	if got := m.P99MinusNginx; got != (Stat{N: 2, Median: 340, Min: 100, Max: 580}) {
		t.Errorf("p99 − nginx %+v", got)
	}
	if got := m.RPSVsNginx; got.Min != 9000.0/11000 || got.Max != 10000.0/12000 {
		t.Errorf("rps ÷ nginx %+v", got)
	}
	if m.Runs != 2 || m.Valid != 1 {
		t.Errorf("runs %d valid %d", m.Runs, m.Valid)
	}
	// CPU: (1500+1350) ms per 10,000 requests = 285 ms per 1k; per proxy 15 % of a core.
	if m.CPUPer1k.Min != 285 || m.CPUPercent.Min != 15 {
		t.Errorf("cpu %+v %+v", m.CPUPer1k, m.CPUPercent)
	}
	if m.IdleRSSMiB.Min != 12 || m.ClosedHWMMiB.Max != 19 {
		t.Errorf("memory idle %+v closed hwm %+v", m.IdleRSSMiB, m.ClosedHWMMiB)
	}
}

func TestReportGolden(t *testing.T) {
	rep := Summarize(fakeResult())
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := DefaultGates().Evaluate(rep)
	if err := out.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/report.golden.md", b.Bytes())
}

// TestReportMTLS checks that an mTLS run says so in both reports.
func TestReportMTLS(t *testing.T) {
	res := fakeResult()
	res.Options.MTLS, res.Hop = true, HopOf(true)
	rep := Summarize(res)
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/report-mtls.golden.md", md.Bytes())
	var j bytes.Buffer
	if err := WriteJSON(&j, res, rep, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mtls": true`, `"serverIdentity": "` + ServerIdentity() + `"`} {
		if strings.Count(j.String(), want) < 2 { // the raw result and the summary
			t.Errorf("JSON report lacks %s twice:\n%s", want, j.String()[:2000])
		}
	}
}

func TestGates(t *testing.T) {
	rep := Summarize(fakeResult())
	g := DefaultGates()
	g.AddedP99Micros, g.IdleRSSMiB = 500, 12
	out := g.Evaluate(rep)
	failed := map[string]bool{}
	for _, c := range out.Checks {
		if c.Skipped == "" && !c.Pass {
			failed[c.ID+" "+c.What] = true
		}
	}
	// meshctl: added p50 ÷ nginx 1.38 (≤ 1.5 passes), added p99 730 µs
	// (> 500 fails), idle RSS 12.5 MiB (> 12 fails).
	for _, want := range []string{"G2 added p99 µs", "G6 idle RSS MiB"} {
		if !failed[want] {
			t.Errorf("%s should fail; failed: %v", want, failed)
		}
	}
	for _, ok := range []string{"G1 added p50 ÷ nginx", "G6 VmHWM after load MiB", "G7 exec → first 200 ms", "G0 share of runs with the generator's lateness resolved"} {
		if failed[ok] {
			t.Errorf("%s should pass", ok)
		}
	}
	if out.Failed != len(failed) {
		t.Errorf("Failed = %d, counted %d", out.Failed, len(failed))
	}

	// Without nginx in the run, ratio gates are skipped, absolute ones still apply.
	res := fakeResult()
	var runs []Run
	for _, r := range res.Runs {
		if r.Config != ConfigNginx {
			runs = append(runs, r)
		}
	}
	res.Runs = runs
	for _, c := range DefaultGates().Evaluate(Summarize(res)).Checks {
		if strings.Contains(c.What, "nginx") && c.Skipped == "" {
			t.Errorf("%s %s checked without an nginx pair", c.ID, c.What)
		}
		if c.What == "idle RSS MiB" && c.Skipped != "" {
			t.Errorf("absolute gate skipped: %s", c.Skipped)
		}
	}
}

func TestLoadGates(t *testing.T) {
	g, err := LoadGates([]byte("addedP50VsNginx: 1.2\nidleRssMiB: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g.AddedP50VsNginx != 1.2 || g.IdleRSSMiB != 10 || g.AddedP99VsNginx != 2 {
		t.Errorf("gates %+v", g)
	}
	if _, err := LoadGates([]byte("addedP50VsNginz: 1\n")); err == nil {
		t.Error("a misspelt gate was accepted")
	}
}

func TestWriteJSON(t *testing.T) {
	res := fakeResult()
	rep := Summarize(res)
	var j bytes.Buffer
	if err := WriteJSON(&j, res, rep, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(j.String(), `"config": "meshctl"`) {
		t.Error("JSON lacks the runs")
	}
}

func TestMarkInvalid(t *testing.T) {
	runs := []Run{
		{Config: ConfigBaseline, Fixed: &LoadResult{Latency: Summary{P50: 200}, Lateness: Summary{P99: 15}}},
		{Config: ConfigMeshctl, Fixed: &LoadResult{Latency: Summary{P50: 400}, Lateness: Summary{P99: 25}}},
		{Config: ConfigBaseline, Fixed: &LoadResult{Latency: Summary{P50: 200}, Lateness: Summary{P99: 20}}},
	}
	markInvalid(runs)
	if runs[0].Invalid != "" || runs[2].Invalid != "" {
		t.Errorf("lateness p99 ≤ 20 µs (10%% of 200) marked invalid: %q %q", runs[0].Invalid, runs[2].Invalid)
	}
	if runs[1].Invalid == "" {
		t.Error("lateness p99 25 µs > 20 µs not marked invalid")
	}
}

func TestBaselineSpreadAndWarning(t *testing.T) {
	runs := []Run{
		{Config: ConfigBaseline, Fixed: &LoadResult{Latency: Summary{P50: 200}}},
		{Config: ConfigMeshctl, Fixed: &LoadResult{Latency: Summary{P50: 900}}},
		{Config: ConfigBaseline, Fixed: &LoadResult{Latency: Summary{P50: 250}}},
	}
	if got := baselineSpread(runs); got != 0.25 {
		t.Errorf("spread %v, want 0.25", got)
	}
	if got := baselineSpread(runs[:2]); got != 0 {
		t.Errorf("spread of one baseline %v, want 0", got)
	}

	res := fakeResult()
	for i := range res.Runs {
		res.Runs[i].FixedUsage.ForeignCPUMillis = 16000 // 80 % of 20,000
	}
	var b bytes.Buffer
	if err := Summarize(res).WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "**Warning:** other work used 80% of the machine's CPU") {
		t.Errorf("no background-load warning:\n%s", b.String())
	}
}

// fakeResultWithBuild is fakeResult with a build "before" beside meshctl
// in both rounds.
func fakeResultWithBuild() *Result {
	res := fakeResult()
	before := Build{Name: "before", Path: "/tmp/meshctl-before"}
	res.Options.Builds = []Build{before}
	res.Machine.ToolVersions[before.Config()] = "v0.9.0"
	res.Runs = append(res.Runs,
		fakeRun(1, 5, before.Config(), 440, 540, 900, 11000, 1650, 11),
		fakeRun(2, 5, before.Config(), 430, 530, 1000, 9900, 1870, 12),
	)
	return res
}

func TestSummarizeBuilds(t *testing.T) {
	rep := Summarize(fakeResultWithBuild())
	var order []string
	for _, c := range rep.Configs {
		order = append(order, c.Config)
	}
	if want := []string{ConfigBaseline, ConfigMeshctl, "meshctl@before", ConfigNginx, ConfigFloor}; !slices.Equal(order, want) {
		t.Errorf("rows %v, want %v", order, want)
	}
	if m, _ := rep.Find(ScenarioS1, ConfigMeshctl); m.VsMeshctl != nil {
		t.Error("meshctl compared with itself")
	}
	b, ok := rep.Find(ScenarioS1, "meshctl@before")
	if !ok || b.VsMeshctl == nil {
		t.Fatalf("no comparison for the build: %+v", b)
	}
	v := b.VsMeshctl
	// Added p50: round 1 +280 against meshctl's +240, round 2 +270 against +300.
	if got := v.AddedP50Ratio; got.N != 2 || got.Min != 0.9 || got.Max != 280.0/240 {
		t.Errorf("added p50 ÷ meshctl %+v", got)
	}
	// p99: 900 against 800, 1000 against 1300.
	if got := v.P99MinusUs; got != (Stat{N: 2, Median: -100, Min: -300, Max: 100}) {
		t.Errorf("p99 − meshctl %+v", got)
	}
	// The build's CPU per request in the closed loop equals meshctl's
	// (1.1 × the CPU for 1.1 × the requests); at the fixed rate it is 1.1 ×.
	near := func(s Stat, want float64) bool {
		return s.N == 2 && math.Abs(s.Min-want) < 1e-9 && math.Abs(s.Max-want) < 1e-9
	}
	if !near(v.RPSRatio, 1.1) || !near(v.ClosedCPURatio, 1) || !near(v.CPUPer1kRatio, 1.1) {
		t.Errorf("rps %+v closed CPU %+v CPU per 1k %+v", v.RPSRatio, v.ClosedCPURatio, v.CPUPer1kRatio)
	}
	if !near(v.IdleRSSMinusMiB, -1) || !near(v.LoadRSSMinusMiB, -1) {
		t.Errorf("rss − meshctl idle %+v load %+v", v.IdleRSSMinusMiB, v.LoadRSSMinusMiB)
	}
}

func TestReportBuildsGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Summarize(fakeResultWithBuild()).WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/report-builds.golden.md", b.Bytes())
}

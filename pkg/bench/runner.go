package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// starter starts one configuration's pair.
type starter func(context.Context, pairEnv) (*pair, error)

// Bench runs the whole benchmark: every scenario, every round, every
// configuration, and returns the raw runs. It fails only when nothing can
// be measured; a configuration that fails to start is recorded in its Run.
func Bench(ctx context.Context, opts Options) (*Result, error) {
	opts = opts.Defaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("bench options: %w", err)
	}
	// Every child runs in a directory of its own, so a relative work
	// directory would name a different place for each of them.
	wd, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("bench: work dir: %w", err)
	}
	opts.WorkDir = wd
	if opts.Binary, err = installBinary(opts.Binary, wd, "meshctl"); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	res := &Result{Options: opts, Machine: machineFacts(), Started: time.Now().UTC(), Hop: HopOf(opts.MTLS), Skipped: map[string]string{}}
	starters := map[string]starter{ConfigMeshctl: startMeshctl}
	tools := map[string]string{}
	configs := []string{ConfigMeshctl}
	for _, bd := range opts.Builds {
		path, err := installBinary(bd.Path, wd, "meshctl@"+bd.Name)
		if err != nil {
			return nil, fmt.Errorf("bench: build %s: %w", bd.Name, err)
		}
		v, err := exec.Command(path, "version", "--client").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("bench: build %s: %s does not run as meshctl (version --client: %w: %s)", bd.Name, bd.Path, err, bytes.TrimSpace(v))
		}
		cfg := bd.Config()
		starters[cfg], tools[cfg] = startMeshctl, path
		res.Machine.ToolVersions[cfg] = versionLine(v)
		configs = append(configs, cfg)
	}
	for _, ref := range opts.References {
		switch ref {
		case ConfigFloor:
			starters[ref] = startFloor
		case ConfigNginx, ConfigHAProxy:
			path, err := opts.LookPath(ref)
			if err != nil {
				res.Skipped[ref] = "not found on PATH"
				continue
			}
			tools[ref] = path
			res.Machine.Tools[ref] = path
			res.Machine.ToolVersions[ref] = toolVersion(path, "-v")
			starters[ref] = map[string]starter{ConfigNginx: startNginx, ConfigHAProxy: startHAProxy}[ref]
		}
		configs = append(configs, ref)
	}
	up, err := StartUpstream(opts.Host, opts.BodySize)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer up.Close()
	b := bencher{opts: opts, fs: procFS{root: "/proc"}, starters: starters, tools: tools}
	if opts.MTLS {
		if b.pki, err = newMeshPKI(opts.WorkDir); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer b.pki.close()
		fmt.Fprintf(opts.Progress, "mtls: trust anchor and issuer generated, certify service on %s, certificates and tokens in %s\n", b.pki.certifyAddr, b.pki.dir)
	}
	if opts.Pin {
		if b.pin, err = newPinning(); err == nil {
			err = b.pin.pinSelf()
		}
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer b.pin.unpinSelf()
	}
	for _, sc := range opts.Scenarios {
		target := up.HTTPAddr
		if sc == ScenarioTCP {
			target = up.TCPAddr
		}
		scConfigs := slices.DeleteFunc(slices.Clone(configs), func(c string) bool {
			if c == ConfigNginx && sc == ScenarioTCP {
				res.Skipped[c+"/"+string(sc)] = "needs nginx's stream module, which Debian ships separately"
				return true
			}
			return false
		})
		for round := range opts.Rounds {
			order := slices.Clone(scConfigs)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			seq := append(append([]string{ConfigBaseline}, order...), ConfigBaseline)
			for attempt := 0; ; attempt++ {
				runs, err := b.runRound(ctx, roundSpec{scenario: sc, target: target, round: round, seq: seq})
				if err != nil {
					return res, err
				}
				spread := baselineSpread(runs)
				if spread <= maxBaselineSpread || attempt >= opts.NoisyRetries {
					res.Runs = append(res.Runs, runs...)
					break
				}
				fmt.Fprintf(opts.Progress, "%s round %d: the baselines' p50 differ by %.0f%% (> %.0f%%): repeating the round\n", sc, round+1, spread*100, maxBaselineSpread*100)
			}
		}
	}
	return res, nil
}

// maxBaselineSpread is how far apart (relative) a round's two baseline p50s
// may be before the round counts as disturbed (perf.md §5.2).
const maxBaselineSpread = 0.15

// bencher holds what every round of a benchmark shares.
type bencher struct {
	opts     Options
	fs       procFS
	starters map[string]starter
	tools    map[string]string
	pin      *pinning
	pki      *meshPKI // nil without mTLS
}

// roundSpec is one round to run: configurations in order, against target.
type roundSpec struct {
	scenario Scenario
	target   string
	round    int
	seq      []string
}

// runRound runs the round's configurations once, in order, and marks invalid runs.
func (b bencher) runRound(ctx context.Context, rs roundSpec) ([]Run, error) {
	opts, sc, round := b.opts, rs.scenario, rs.round
	var runs []Run
	for pos, cfg := range rs.seq {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		dir := filepath.Join(opts.WorkDir, fmt.Sprintf("%s-r%d-%d-%s", sc, round+1, pos, cfg))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		env := pairEnv{opts: opts, pin: b.pin, scenario: sc, upstream: rs.target, dir: dir, tool: b.tools[cfg], pki: b.pki}
		r := runOne(ctx, env, b.fs, cfg, b.starters[cfg])
		r.Round, r.Position = round+1, pos
		fmt.Fprintln(opts.Progress, progressLine(r))
		runs = append(runs, r)
	}
	markInvalid(runs)
	return runs, nil
}

// baselineSpread is (max − min) / min of the round's baseline p50s.
func baselineSpread(runs []Run) float64 {
	var p50 []float64
	for _, r := range runs {
		if r.Config == ConfigBaseline && r.Fixed != nil && r.Err == "" {
			p50 = append(p50, r.Fixed.Latency.P50)
		}
	}
	if len(p50) < 2 || slices.Min(p50) <= 0 {
		return 0
	}
	return (slices.Max(p50) - slices.Min(p50)) / slices.Min(p50)
}

// runOne measures one configuration: start, idle, warm-up, fixed rate,
// closed loop, stop.
func runOne(ctx context.Context, env pairEnv, fs procFS, cfg string, start starter) Run {
	r := Run{Scenario: env.scenario, Config: cfg}
	entry := env.upstream
	var pids []int
	if start != nil {
		p, err := start(ctx, env)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		defer p.stop()
		entry, pids = p.entry, p.pids()
		st := p.startup
		r.Startup = &st
		// A sidecar in a pod is scraped: idle memory counts the code and
		// buffers a scrape maps, as it does in production.
		if err := scrapeMetrics(ctx, p.admins); err != nil {
			r.Err = err.Error()
			return r
		}
	}
	smp := newSampler(fs, pids, runtime.NumCPU())
	smp.begin()
	time.Sleep(env.opts.Idle)
	idle := smp.end()
	r.Idle = &idle
	o := env.opts
	load := Load{Target: entry, Scenario: env.scenario, Conns: o.Conns, Streams: o.Streams, Rate: o.Rate, Spin: o.Spin, BodySize: o.BodySize}
	if o.Warmup > 0 {
		load.Duration = o.Warmup
		if _, err := load.Run(ctx); err != nil {
			r.Err = fmt.Sprintf("warm-up: %v", err)
			return r
		}
	}
	load.Duration = o.Duration
	smp.begin()
	fixed, err := load.Run(ctx)
	u := smp.end()
	r.Fixed, r.FixedUsage = &fixed, &u
	if err != nil {
		r.Err = fmt.Sprintf("fixed rate: %v", err)
		return r
	}
	if o.ClosedLoop.Conns > 0 {
		cl := Load{Target: entry, Scenario: env.scenario, Conns: o.ClosedLoop.Conns, Streams: o.Streams, Duration: o.ClosedLoop.Duration, BodySize: o.BodySize}
		smp.begin()
		closed, err := cl.Run(ctx)
		u := smp.end()
		r.Closed, r.ClosedUsage = &closed, &u
		if err != nil {
			r.Err = fmt.Sprintf("closed loop: %v", err)
		}
	}
	return r
}

// markInvalid flags the runs of a round whose generator lateness p99
// exceeds 10 % of the round's baseline p50.
func markInvalid(runs []Run) {
	var base []float64
	for _, r := range runs {
		if r.Config == ConfigBaseline && r.Fixed != nil && r.Err == "" {
			base = append(base, r.Fixed.Latency.P50)
		}
	}
	if len(base) == 0 {
		return
	}
	limit := median(base) / 10
	for i := range runs {
		if f := runs[i].Fixed; f != nil && f.Lateness.P99 > limit {
			runs[i].Invalid = fmt.Sprintf("generator lateness p99 %.0f µs > 10%% of the baseline p50 (%.0f µs)", f.Lateness.P99, limit)
		}
	}
}

func progressLine(r Run) string {
	s := fmt.Sprintf("%s round %d #%d %-8s", r.Scenario, r.Round, r.Position, r.Config)
	if r.Fixed != nil {
		s += fmt.Sprintf(" p50 %.0f µs p99 %.0f µs (lateness p99 %.0f µs, %d errors)", r.Fixed.Latency.P50, r.Fixed.Latency.P99, r.Fixed.Lateness.P99, r.Fixed.Errors)
		if r.Fixed.PacingPriority != "" {
			s += "; pacing at normal priority: " + r.Fixed.PacingPriority
		}
	}
	if r.Closed != nil {
		s += fmt.Sprintf(", closed loop %.0f rps", r.Closed.RPS)
	}
	if r.Err != "" {
		s += ": " + r.Err
	}
	return s
}

package bench

import (
	"context"
	"fmt"
	"os"
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
	res := &Result{Options: opts, Machine: machineFacts(), Started: time.Now().UTC(), Skipped: map[string]string{}}
	starters := map[string]starter{ConfigMeshctl: startMeshctl}
	tools := map[string]string{}
	configs := []string{ConfigMeshctl}
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
			starters[ref] = map[string]starter{ConfigNginx: startNginx, ConfigHAProxy: startHAProxy}[ref]
		}
		configs = append(configs, ref)
	}
	up, err := StartUpstream(opts.Host, opts.BodySize)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer up.Close()
	fs := procFS{root: "/proc"}
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
			var runs []Run
			for pos, cfg := range seq {
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				dir := filepath.Join(opts.WorkDir, fmt.Sprintf("%s-r%d-%d-%s", sc, round+1, pos, cfg))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, fmt.Errorf("bench: %w", err)
				}
				env := pairEnv{opts: opts, scenario: sc, upstream: target, dir: dir, tool: tools[cfg]}
				r := runOne(ctx, env, fs, cfg, starters[cfg])
				r.Round, r.Position = round+1, pos
				fmt.Fprintln(opts.Progress, progressLine(r))
				runs = append(runs, r)
			}
			markInvalid(runs)
			res.Runs = append(res.Runs, runs...)
		}
	}
	return res, nil
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
	}
	smp := newSampler(fs, pids, runtime.NumCPU())
	smp.begin()
	time.Sleep(env.opts.Idle)
	idle := smp.end()
	r.Idle = &idle
	o := env.opts
	load := Load{Target: entry, Scenario: env.scenario, Conns: o.Conns, Rate: o.Rate, BodySize: o.BodySize}
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
		cl := Load{Target: entry, Scenario: env.scenario, Conns: o.ClosedLoop.Conns, Duration: o.ClosedLoop.Duration, BodySize: o.BodySize}
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
	}
	if r.Closed != nil {
		s += fmt.Sprintf(", closed loop %.0f rps", r.Closed.RPS)
	}
	if r.Err != "" {
		s += ": " + r.Err
	}
	return s
}

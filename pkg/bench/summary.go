package bench

import (
	"math"
	"slices"
)

// Stat is a value across rounds: its median and range.
type Stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func statOf(xs []float64) Stat {
	xs = slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(xs) == 0 {
		return Stat{}
	}
	return Stat{N: len(xs), Median: median(xs), Min: slices.Min(xs), Max: slices.Max(xs)}
}

// median of xs (the mean of the middle two for an even count); 0 when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ConfigSummary is one configuration of one scenario across rounds. Added
// latencies are µs over the median of the same round's baselines; ratios
// are taken per round against the reference measured in that round.
type ConfigSummary struct {
	Scenario Scenario `json:"scenario"`
	Config   string   `json:"config"`
	Runs     int      `json:"runs"`
	Valid    int      `json:"valid"`
	Failed   int      `json:"failed"`
	Errors   int      `json:"errors"`

	// P50, P90 and P99 are the absolute fixed-rate latencies, in µs.
	P50, P90, P99                Stat
	AddedP50, AddedP90, AddedP99 Stat
	P50VsNginx, P99VsNginx       Stat
	P90VsNginx                   Stat
	// P99MinusNginx is this pair's p99 less the nginx pair's, in µs, per
	// round. The round's baseline cancels out, so unlike P99VsNginx it
	// stays meaningful when the baseline's own tail is noise larger than
	// what the pairs add (on a VM whose idle vCPUs wake late).
	P99MinusNginx               Stat
	P50VsFloor, P99VsFloor      Stat
	RPS, RPSVsNginx, RPSVsFloor Stat
	// CPUPer1k is the CPU of both proxies per 1,000 requests at the fixed rate, in ms.
	CPUPer1k Stat
	// CPUPercent is the CPU of one proxy (the busier) at the fixed rate, in % of a core.
	CPUPercent Stat
	// ClosedCPUPerReq is the CPU of both proxies per request in the closed
	// loop, in µs. The pairs share the machine with the generator and the
	// upstream there, so it is what sets the closed-loop rate; at the fixed
	// rate each request also pays the proxies' wake-ups from idle.
	ClosedCPUPerReq Stat
	CPUVsNginx      Stat
	IdleRSSMiB      Stat
	// LoadRSSMiB is the peak VmRSS sampled during the fixed-rate phase;
	// FixedHWMMiB also counts the start-up peak.
	LoadRSSMiB   Stat
	IdlePSSMiB   Stat
	FixedHWMMiB  Stat
	ClosedHWMMiB Stat
	LoadPSSMiB   Stat
	// IdleAnonMiB and LoadAnonMiB are RssAnon, idle and at the fixed rate.
	IdleAnonMiB Stat
	LoadAnonMiB Stat
	ListeningMs Stat
	FirstOKMs   Stat
	LatenessP99 Stat
	// ForeignShare is the background load's share of the machine during the fixed-rate phase.
	ForeignShare Stat
	// VsMeshctl compares a Build's pair with this meshctl's, round by
	// round (builds only).
	VsMeshctl *BuildComparison `json:"vsMeshctl,omitempty"`
}

// BuildComparison is a Build's pair against this meshctl's pair of the
// same rounds: ratios (the build's figure over meshctl's) and differences
// (the build's less meshctl's).
type BuildComparison struct {
	AddedP50Ratio   Stat `json:"addedP50Ratio"`
	P99MinusUs      Stat `json:"p99MinusUs"`
	RPSRatio        Stat `json:"rpsRatio"`
	ClosedCPURatio  Stat `json:"closedCPURatio"`
	CPUPer1kRatio   Stat `json:"cpuPer1kRatio"`
	IdleRSSMinusMiB Stat `json:"idleRSSMinusMiB"`
	LoadRSSMinusMiB Stat `json:"loadRSSMinusMiB"`
}

// Report is the digest of a Result that the tables, chart and gates read.
type Report struct {
	Configs []ConfigSummary   `json:"configs"`
	Machine Machine           `json:"machine"`
	Options Options           `json:"options"`
	Hop     Hop               `json:"hop"`
	Skipped map[string]string `json:"skipped,omitempty"`
}

// Find returns the summary of cfg in scenario sc, if it ran.
func (r Report) Find(sc Scenario, cfg string) (ConfigSummary, bool) {
	for _, c := range r.Configs {
		if c.Scenario == sc && c.Config == cfg {
			return c, true
		}
	}
	return ConfigSummary{}, false
}

// Summarize digests res per scenario and configuration (baseline first).
func Summarize(res *Result) Report {
	out := Report{Machine: res.Machine, Options: res.Options, Hop: res.Hop, Skipped: res.Skipped}
	for _, sc := range res.Options.Scenarios {
		rounds := map[int][]Run{}
		var order []string
		for _, r := range res.Runs {
			if r.Scenario != sc {
				continue
			}
			rounds[r.Round] = append(rounds[r.Round], r)
			if !slices.Contains(order, r.Config) {
				order = append(order, r.Config)
			}
		}
		slices.SortStableFunc(order, func(a, b string) int { return configRank(a) - configRank(b) })
		for _, cfg := range order {
			out.Configs = append(out.Configs, summarizeConfig(sc, cfg, rounds))
		}
	}
	return out
}

// configRank orders a scenario's rows: builds right after meshctl, in the
// order given (the sort is stable).
func configRank(c string) int {
	if isBuild(c) {
		c = ConfigMeshctl
	}
	return slices.Index([]string{ConfigBaseline, ConfigMeshctl, ConfigNginx, ConfigHAProxy, ConfigFloor}, c)
}

// roundView is what one round says about one configuration.
type roundView struct {
	base, nginx, floor *roundAgg
	self               []Run
}

// roundAgg is a configuration's percentiles in one round (median over its runs).
type roundAgg struct {
	p50, p90, p99, rps, cpu float64
}

func aggregate(runs []Run, cfg string) *roundAgg {
	var p50, p90, p99, rps, cpu []float64
	for _, r := range runs {
		if r.Config != cfg || r.Fixed == nil || r.Err != "" {
			continue
		}
		p50 = append(p50, r.Fixed.Latency.P50)
		p90 = append(p90, r.Fixed.Latency.P90)
		p99 = append(p99, r.Fixed.Latency.P99)
		if r.Closed != nil {
			rps = append(rps, r.Closed.RPS)
		}
		if r.FixedUsage != nil {
			cpu = append(cpu, perProxyPercent(r))
		}
	}
	if len(p50) == 0 {
		return nil
	}
	return &roundAgg{p50: median(p50), p90: median(p90), p99: median(p99), rps: median(rps), cpu: median(cpu)}
}

func perProxyPercent(r Run) float64 {
	u := r.FixedUsage
	if u == nil || len(u.CPUMillis) == 0 || r.Fixed.Seconds == 0 {
		return math.NaN()
	}
	return slices.Max(u.CPUMillis) / (r.Fixed.Seconds * 1000) * 100
}

func summarizeConfig(sc Scenario, cfg string, rounds map[int][]Run) ConfigSummary {
	s := ConfigSummary{Scenario: sc, Config: cfg}
	var c collect
	for _, runs := range rounds {
		base := aggregate(runs, ConfigBaseline)
		nginx := aggregate(runs, ConfigNginx)
		floor := aggregate(runs, ConfigFloor)
		me := aggregate(runs, cfg)
		for _, r := range runs {
			if r.Config != cfg {
				continue
			}
			s.Runs++
			if r.Err != "" {
				s.Failed++
				continue
			}
			if r.Invalid == "" {
				s.Valid++
			}
			c.run(r)
			s.Errors += r.Fixed.Errors
			if r.Closed != nil {
				s.Errors += r.Closed.Errors
			}
		}
		if me == nil {
			continue
		}
		c.add("p50", me.p50)
		c.add("p90", me.p90)
		c.add("p99", me.p99)
		c.add("rps", me.rps)
		if cfg == ConfigBaseline || base == nil {
			continue
		}
		added := func(a, b *roundAgg) (float64, float64, float64) {
			return a.p50 - b.p50, a.p90 - b.p90, a.p99 - b.p99
		}
		m50, m90, m99 := added(me, base)
		c.add("a50", m50)
		c.add("a90", m90)
		c.add("a99", m99)
		if nginx != nil {
			n50, n90, n99 := added(nginx, base)
			c.add("n50", ratio(m50, n50))
			c.add("n90", ratio(m90, n90))
			c.add("n99", ratio(m99, n99))
			c.add("n99d", me.p99-nginx.p99)
			c.add("nrps", ratio(me.rps, nginx.rps))
			c.add("ncpu", ratio(me.cpu, nginx.cpu))
		}
		if floor != nil {
			f50, _, f99 := added(floor, base)
			c.add("f50", ratio(m50, f50))
			c.add("f99", ratio(m99, f99))
			c.add("frps", ratio(me.rps, floor.rps))
		}
		if !isBuild(cfg) {
			continue
		}
		if mesh := aggregate(runs, ConfigMeshctl); mesh != nil {
			// of is f's median for the build and for meshctl in this round.
			of := func(f func(Run) (float64, bool)) (float64, float64) {
				return roundMedian(runs, cfg, f), roundMedian(runs, ConfigMeshctl, f)
			}
			b50, _, _ := added(mesh, base)
			c.add("b50", ratio(m50, b50))
			c.add("b99d", me.p99-mesh.p99)
			c.add("brps", ratio(me.rps, mesh.rps))
			c.add("bccpu", ratio(of(closedCPUPerReq)))
			c.add("bcpu1k", ratio(of(fixedCPUPer1k)))
			b, m := of(idleRSSMiB)
			c.add("birss", b-m)
			b, m = of(loadRSSMiB)
			c.add("blrss", b-m)
		}
	}
	if isBuild(cfg) {
		s.VsMeshctl = &BuildComparison{
			AddedP50Ratio: c.stat("b50"), P99MinusUs: c.stat("b99d"), RPSRatio: c.stat("brps"),
			ClosedCPURatio: c.stat("bccpu"), CPUPer1kRatio: c.stat("bcpu1k"),
			IdleRSSMinusMiB: c.stat("birss"), LoadRSSMinusMiB: c.stat("blrss"),
		}
	}
	s.P50, s.P90, s.P99, s.RPS = c.stat("p50"), c.stat("p90"), c.stat("p99"), c.stat("rps")
	s.AddedP50, s.AddedP90, s.AddedP99 = c.stat("a50"), c.stat("a90"), c.stat("a99")
	s.P50VsNginx, s.P90VsNginx, s.P99VsNginx = c.stat("n50"), c.stat("n90"), c.stat("n99")
	s.P99MinusNginx = c.stat("n99d")
	s.RPSVsNginx, s.CPUVsNginx = c.stat("nrps"), c.stat("ncpu")
	s.P50VsFloor, s.P99VsFloor, s.RPSVsFloor = c.stat("f50"), c.stat("f99"), c.stat("frps")
	s.CPUPer1k, s.CPUPercent, s.ClosedCPUPerReq = c.stat("cpu1k"), c.stat("cpupct"), c.stat("ccpu")
	s.IdleRSSMiB, s.IdlePSSMiB, s.LoadRSSMiB = c.stat("irss"), c.stat("ipss"), c.stat("lrss")
	s.FixedHWMMiB, s.ClosedHWMMiB, s.LoadPSSMiB = c.stat("fhwm"), c.stat("chwm"), c.stat("lpss")
	s.IdleAnonMiB, s.LoadAnonMiB = c.stat("ianon"), c.stat("lanon")
	s.ListeningMs, s.FirstOKMs = c.stat("listen"), c.stat("first")
	s.LatenessP99, s.ForeignShare = c.stat("late99"), c.stat("foreign")
	return s
}

// ratio is a/b, NaN when b is not positive (a reference that added nothing
// measurable gives no meaningful ratio).
func ratio(a, b float64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return a / b
}

// collect gathers named per-round values.
type collect map[string][]float64

func (c *collect) add(k string, v float64) {
	if *c == nil {
		*c = collect{}
	}
	(*c)[k] = append((*c)[k], v)
}

func (c collect) stat(k string) Stat { return statOf(c[k]) }

const kib = 1024.0

// run adds the per-run resource figures of r.
func (c *collect) run(r Run) {
	c.add("late99", r.Fixed.Lateness.P99)
	if u := r.FixedUsage; u != nil && u.CapacityMillis > 0 {
		c.add("foreign", u.ForeignCPUMillis/u.CapacityMillis)
	}
	if r.Startup == nil {
		return
	}
	c.add("listen", r.Startup.ListeningMillis)
	c.add("first", r.Startup.FirstOKMillis)
	if v, ok := fixedCPUPer1k(r); ok {
		u := r.FixedUsage
		c.add("cpu1k", v)
		c.add("cpupct", perProxyPercent(r))
		c.add("fhwm", maxMiB(u.HWM))
		c.add("lrss", maxMiB(u.RSS))
		c.add("lpss", maxMiB(u.PSS))
		c.add("lanon", maxMiB(u.Anon))
	}
	if u := r.Idle; u != nil {
		c.add("irss", maxMiB(u.RSS))
		c.add("ipss", maxMiB(u.PSS))
		c.add("ianon", maxMiB(u.Anon))
	}
	if u := r.ClosedUsage; u != nil {
		c.add("chwm", maxMiB(u.HWM))
	}
	if v, ok := closedCPUPerReq(r); ok {
		c.add("ccpu", v)
	}
}

// fixedCPUPer1k is the CPU of both proxies per 1,000 requests at the
// fixed rate, in ms.
func fixedCPUPer1k(r Run) (float64, bool) {
	if u := r.FixedUsage; u != nil && r.Startup != nil && r.Fixed != nil && r.Fixed.Requests > 0 {
		return u.TotalCPUMillis() / float64(r.Fixed.Requests) * 1000, true
	}
	return 0, false
}

// closedCPUPerReq is the CPU of both proxies per request in the closed
// loop, in µs.
func closedCPUPerReq(r Run) (float64, bool) {
	if u := r.ClosedUsage; u != nil && r.Startup != nil && r.Closed != nil && r.Closed.Requests > 0 {
		return u.TotalCPUMillis() * 1000 / float64(r.Closed.Requests), true
	}
	return 0, false
}

// idleRSSMiB and loadRSSMiB are the larger proxy's RSS, idle and at the
// fixed rate.
func idleRSSMiB(r Run) (float64, bool) {
	if r.Startup == nil || r.Idle == nil {
		return 0, false
	}
	return maxMiB(r.Idle.RSS), true
}

func loadRSSMiB(r Run) (float64, bool) {
	if _, ok := fixedCPUPer1k(r); !ok {
		return 0, false
	}
	return maxMiB(r.FixedUsage.RSS), true
}

// roundMedian is the median of f over cfg's runs in one round (NaN when
// none has the figure).
func roundMedian(runs []Run, cfg string, f func(Run) (float64, bool)) float64 {
	var xs []float64
	for _, r := range runs {
		if r.Config != cfg || r.Err != "" {
			continue
		}
		if v, ok := f(r); ok {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return math.NaN()
	}
	return median(xs)
}

// maxMiB is the larger proxy's figure in MiB.
func maxMiB(kb []uint64) float64 {
	if len(kb) == 0 {
		return math.NaN()
	}
	return float64(slices.Max(kb)) / kib
}

package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// scenarioTitles describe each scenario in report headings.
var scenarioTitles = map[Scenario]string{
	ScenarioS1:   "s1: HTTP/1.1 keep-alive",
	ScenarioH2:   "h2: HTTP/2 with prior knowledge from the client",
	ScenarioGRPC: "grpc: gRPC unary over h2c",
	ScenarioTCP:  "tcp: opaque TCP ping-pong",
}

// WriteMarkdown writes the report as markdown tables, one per scenario.
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, kernel %s, %s; meshctl %s, its pairs run from a copy of the binary (in the page cache as a deployed one is).\n", orDash(r.Machine.CPUModel), r.Machine.CPUs, orDash(r.Machine.Kernel), r.Machine.GoVersion, orDash(r.Machine.Meshctl))
	if len(r.Machine.ToolVersions) > 0 {
		var tools []string
		for _, k := range slices.Sorted(maps.Keys(r.Machine.ToolVersions)) {
			tools = append(tools, fmt.Sprintf("%s: %s", k, orDash(r.Machine.ToolVersions[k])))
		}
		fmt.Fprintf(&b, "References: %s.\n", strings.Join(tools, "; "))
	}
	closed := "off"
	if o.ClosedLoop.Conns > 0 {
		closed = fmt.Sprintf("%d connections for %s", o.ClosedLoop.Conns, o.ClosedLoop.Duration)
	}
	streams := ""
	if o.Streams > 1 {
		streams = fmt.Sprintf(" (%d streams each for h2 and grpc)", o.Streams)
	}
	pacing := ""
	if o.Spin > 0 {
		pacing = fmt.Sprintf(" (the generator polls the clock for the last %s before each send: %.0f%% of a CPU)", o.Spin, o.spinShare()*100)
	}
	fmt.Fprintf(&b, "Load: %d rps open loop over %d connections%s for %s after %s warm-up%s; closed loop %s; %d B responses; %d rounds.\n",
		o.Rate, o.Conns, streams, o.Duration, o.Warmup, pacing, closed, o.BodySize, o.Rounds)
	b.WriteString(hopLine(r.Hop, r.ran))
	b.WriteString("Values are median [min–max] over rounds; added latency is over the median of the same round's two baselines; ratios are per round against the pair measured in that round.\n")
	for _, sc := range o.Scenarios {
		r.writeScenario(&b, sc)
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\nNot run:\n")
		keys := make([]string, 0, len(r.Skipped))
		for k := range r.Skipped {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %s\n", k, r.Skipped[k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r Report) writeScenario(b *strings.Builder, sc Scenario) {
	fmt.Fprintf(b, "\n### %s\n\n", scenarioTitles[sc])
	b.WriteString("| config | runs (valid) | added p50 µs | added p90 µs | added p99 µs | p50 ÷ nginx | p99 ÷ nginx | p99 − nginx µs | p50 ÷ floor | closed-loop rps | rps ÷ nginx | closed-loop CPU µs per req (both) | CPU-ms per 1k req (both) | CPU % per proxy | RSS MiB idle / load | VmHWM MiB fixed / closed | PSS MiB idle / load | anon MiB idle / load | exec→listening ms | exec→first 200 ms |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var base *ConfigSummary
	for i, c := range r.Configs {
		if c.Scenario != sc {
			continue
		}
		if c.Config == ConfigBaseline {
			base = &r.Configs[i]
			continue
		}
		runs := fmt.Sprintf("%d (%d)", c.Runs, c.Valid)
		if c.Failed > 0 {
			runs += fmt.Sprintf(", %d failed", c.Failed)
		}
		if c.Errors > 0 {
			runs += fmt.Sprintf(", %d errors", c.Errors)
		}
		cells := []string{
			c.Config, runs,
			signed(c.AddedP50), signed(c.AddedP90), signed(c.AddedP99),
			ratioCell(c.P50VsNginx), ratioCell(c.P99VsNginx), signed(c.P99MinusNginx), ratioCell(c.P50VsFloor),
			num(c.RPS, 0), ratioCell(c.RPSVsNginx), num(c.ClosedCPUPerReq, 1),
			num(c.CPUPer1k, 0), num(c.CPUPercent, 1), num(c.IdleRSSMiB, 1) + " / " + num(c.LoadRSSMiB, 1),
			num(c.FixedHWMMiB, 1) + " / " + num(c.ClosedHWMMiB, 1),
			num(c.IdlePSSMiB, 1) + " / " + num(c.LoadPSSMiB, 1),
			num(c.IdleAnonMiB, 1) + " / " + num(c.LoadAnonMiB, 1),
			num(c.ListeningMs, 1), num(c.FirstOKMs, 1),
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	r.writeBuilds(b, sc)
	if base != nil {
		fmt.Fprintf(b, "\nBaseline (client → upstream directly, %d runs): p50 %s µs, p90 %s µs, p99 %s µs; closed loop %s rps. Generator lateness p99 %s µs; background load %s of the machine's CPU.\n",
			base.Runs, num(base.P50, 0), num(base.P90, 0), num(base.P99, 0), num(base.RPS, 0), num(base.LatenessP99, 0), percent(base.ForeignShare))
	}
	if base != nil && base.ForeignShare.N > 0 && base.ForeignShare.Median > 0.25 {
		fmt.Fprintf(b, "**Warning:** other work used %s of the machine's CPU during the baselines (more than 25%%): read the latency columns as noise and compare same-round ratios only.\n", percent(base.ForeignShare))
	}
	var invalid []string
	for _, c := range r.Configs {
		if c.Scenario == sc && c.Valid < c.Runs-c.Failed {
			invalid = append(invalid, fmt.Sprintf("%s %d of %d", c.Config, c.Runs-c.Failed-c.Valid, c.Runs-c.Failed))
		}
	}
	if len(invalid) > 0 {
		fmt.Fprintf(b, "Runs whose generator lateness p99 exceeded 10%% of the baseline p50 (latency not resolved): %s.\n", strings.Join(invalid, ", "))
	}
}

// writeBuilds writes the builds of scenario sc against this meshctl,
// round by round, when there are any.
func (r Report) writeBuilds(b *strings.Builder, sc Scenario) {
	var rows []string
	for _, c := range r.Configs {
		if c.Scenario != sc || c.VsMeshctl == nil {
			continue
		}
		v := c.VsMeshctl
		cells := []string{
			c.Config, ratioCell(v.AddedP50Ratio), signed(v.P99MinusUs), ratioCell(v.RPSRatio),
			ratioCell(v.ClosedCPURatio), ratioCell(v.CPUPer1kRatio),
			signedNum(v.IdleRSSMinusMiB, 1) + " / " + signedNum(v.LoadRSSMinusMiB, 1),
		}
		rows = append(rows, "| "+strings.Join(cells, " | ")+" |\n")
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("\nBuilds against this meshctl (" + orDash(r.Machine.Meshctl) + "), in the same rounds: ratios are the build's figure over meshctl's, differences the build's less meshctl's.\n\n")
	b.WriteString("| build | added p50 ÷ meshctl | p99 − meshctl µs | closed-loop rps ÷ meshctl | closed-loop CPU per req ÷ meshctl | CPU per 1k req ÷ meshctl | RSS − meshctl MiB idle / load |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		b.WriteString(row)
	}
}

// ran reports whether configuration c ran in any scenario.
func (r Report) ran(c string) bool {
	for _, s := range r.Configs {
		if s.Config == c {
			return true
		}
	}
	return false
}

// hopLine says whether the pairs' middle hop was encrypted and, with mTLS,
// how, for each configuration that ran.
func hopLine(h Hop, ran func(config string) bool) string {
	if !h.MTLS {
		return "Hop A → B: **plaintext** in every pair (the meshctl proxies run without identity; the floor is a TCP splice).\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hop A → B: **mutual TLS 1.3** in every pair; A proves `%s`, B proves `%s` and A checks that name.\n", h.ClientIdentity, h.ServerIdentity)
	for _, c := range []string{ConfigMeshctl, ConfigNginx, ConfigHAProxy, ConfigFloor} {
		if d, ok := h.Configs[c]; ok && ran(c) {
			fmt.Fprintf(&b, "- %s: %s\n", c, d)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// num renders a Stat as "median [min–max]", or the value alone for one round.
func num(s Stat, prec int) string {
	if s.N == 0 {
		return "–"
	}
	f := func(v float64) string { return fmt.Sprintf("%.*f", prec, v) }
	if s.N == 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", f(s.Median), f(s.Min), f(s.Max))
}

func signed(s Stat) string { return signedNum(s, 0) }

// signedNum is num with the sign always shown.
func signedNum(s Stat, prec int) string {
	if s.N == 0 {
		return "–"
	}
	f := func(v float64) string { return fmt.Sprintf("%+.*f", prec, v) }
	if s.N == 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", f(s.Median), f(s.Min), f(s.Max))
}

func ratioCell(s Stat) string {
	if s.N == 0 || math.IsInf(s.Median, 0) {
		return "–"
	}
	return num(s, 2)
}

func percent(s Stat) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", s.Median*100)
}

package bench

import (
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// Gates are the pass/fail thresholds of `meshctl bench --gate`, checked on
// meshctl's medians over rounds. Ratios are to the nginx pair in the same
// rounds; a ratio gate is skipped when no nginx pair ran.
type Gates struct {
	// G1: added p50 ≤ AddedP50VsNginx × nginx's and ≤ AddedP50Micros.
	AddedP50VsNginx float64 `json:"addedP50VsNginx"`
	AddedP50Micros  float64 `json:"addedP50Micros"`
	// G2: added p99 ≤ AddedP99VsNginx × nginx's and ≤ AddedP99Micros.
	AddedP99VsNginx float64 `json:"addedP99VsNginx"`
	AddedP99Micros  float64 `json:"addedP99Micros"`
	// G3: added p90 ≤ AddedP90VsNginx × nginx's.
	AddedP90VsNginx float64 `json:"addedP90VsNginx"`
	// G4: closed-loop throughput ≥ ThroughputVsNginx × nginx's.
	ThroughputVsNginx float64 `json:"throughputVsNginx"`
	// G5: CPU per proxy at the fixed rate ≤ CPUVsNginx × nginx's.
	CPUVsNginx float64 `json:"cpuVsNginx"`
	// G6: RSS per proxy idle and VmHWM after the load phases, in MiB.
	IdleRSSMiB float64 `json:"idleRssMiB"`
	LoadRSSMiB float64 `json:"loadRssMiB"`
	// G7: exec → listening and exec → first response through a fresh pair.
	ListeningMillis float64 `json:"listeningMillis"`
	FirstOKMillis   float64 `json:"firstOkMillis"`
	// G0: at least this share of meshctl's runs must be valid (generator
	// lateness resolved) for the latency gates to mean anything.
	MinValidShare float64 `json:"minValidShare"`
}

// DefaultGates are perf.md §5.1 G1–G7.
func DefaultGates() Gates {
	return Gates{
		AddedP50VsNginx: 1.5, AddedP50Micros: 400,
		AddedP99VsNginx: 2.0, AddedP99Micros: 1000,
		AddedP90VsNginx:   1.5,
		ThroughputVsNginx: 0.6,
		CPUVsNginx:        1.5,
		IdleRSSMiB:        20, LoadRSSMiB: 32,
		ListeningMillis: 50, FirstOKMillis: 100,
		MinValidShare: 0.5,
	}
}

// LoadGates reads thresholds from YAML over the defaults; unknown keys are errors.
func LoadGates(b []byte) (Gates, error) {
	g := DefaultGates()
	if err := yaml.UnmarshalStrict(b, &g); err != nil {
		return Gates{}, fmt.Errorf("gates: %w", err)
	}
	return g, nil
}

// GateCheck is one threshold checked.
type GateCheck struct {
	ID       string   `json:"id"`
	Scenario Scenario `json:"scenario"`
	What     string   `json:"what"`
	Value    float64  `json:"value"`
	Limit    float64  `json:"limit"`
	// AtLeast means Value must be ≥ Limit (else ≤).
	AtLeast bool   `json:"atLeast,omitempty"`
	Pass    bool   `json:"pass"`
	Skipped string `json:"skipped,omitempty"`
}

// GateOutcome is every check and how many failed.
type GateOutcome struct {
	Checks []GateCheck `json:"checks"`
	Failed int         `json:"failed"`
}

// Evaluate checks meshctl's figures in every scenario of rep.
func (g Gates) Evaluate(rep Report) GateOutcome {
	var out GateOutcome
	for _, sc := range rep.Options.Scenarios {
		m, ok := rep.Find(sc, ConfigMeshctl)
		if !ok {
			continue
		}
		_, haveNginx := rep.Find(sc, ConfigNginx)
		add := func(id, what string, s Stat, limit float64, atLeast, needsNginx bool) {
			c := GateCheck{ID: id, Scenario: sc, What: what, Value: s.Median, Limit: limit, AtLeast: atLeast}
			switch {
			case needsNginx && !haveNginx:
				c.Skipped = "no nginx pair in this run"
			case s.N == 0:
				c.Skipped = "not measured"
			case atLeast:
				c.Pass = s.Median >= limit
			default:
				c.Pass = s.Median <= limit
			}
			if c.Skipped == "" && !c.Pass {
				out.Failed++
			}
			out.Checks = append(out.Checks, c)
		}
		valid := Stat{}
		if n := m.Runs - m.Failed; n > 0 {
			valid = Stat{N: 1, Median: float64(m.Valid) / float64(n)}
		}
		add("G0", "share of runs with the generator's lateness resolved", valid, g.MinValidShare, true, false)
		add("G1", "added p50 ÷ nginx", m.P50VsNginx, g.AddedP50VsNginx, false, true)
		add("G1", "added p50 µs", m.AddedP50, g.AddedP50Micros, false, false)
		add("G2", "added p99 ÷ nginx", m.P99VsNginx, g.AddedP99VsNginx, false, true)
		add("G2", "added p99 µs", m.AddedP99, g.AddedP99Micros, false, false)
		add("G3", "added p90 ÷ nginx", m.P90VsNginx, g.AddedP90VsNginx, false, true)
		add("G4", "closed-loop rps ÷ nginx", m.RPSVsNginx, g.ThroughputVsNginx, true, true)
		add("G5", "CPU per proxy ÷ nginx", m.CPUVsNginx, g.CPUVsNginx, false, true)
		add("G6", "idle RSS MiB", m.IdleRSSMiB, g.IdleRSSMiB, false, false)
		add("G6", "VmHWM after load MiB", maxStat(m.FixedHWMMiB, m.ClosedHWMMiB), g.LoadRSSMiB, false, false)
		add("G7", "exec → listening ms", m.ListeningMs, g.ListeningMillis, false, false)
		add("G7", "exec → first 200 ms", m.FirstOKMs, g.FirstOKMillis, false, false)
	}
	return out
}

// maxStat is whichever of a and b has the larger median.
func maxStat(a, b Stat) Stat {
	if b.N > 0 && (a.N == 0 || b.Median > a.Median) {
		return b
	}
	return a
}

// WriteMarkdown writes the checks as a table.
func (o GateOutcome) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("\n### Gates\n\n| gate | scenario | metric | meshctl | limit | result |\n|---|---|---|---|---|---|\n")
	for _, c := range o.Checks {
		op := "≤"
		if c.AtLeast {
			op = "≥"
		}
		res := "pass"
		switch {
		case c.Skipped != "":
			res = "skipped: " + c.Skipped
		case !c.Pass:
			res = "**FAIL**"
		}
		value := fmt.Sprintf("%.2f", c.Value)
		if c.Skipped != "" {
			value = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s %g | %s |\n", c.ID, c.Scenario, c.What, value, op, c.Limit, res)
	}
	fmt.Fprintf(&b, "\n%d of %d checks failed.\n", o.Failed, len(o.Checks))
	_, err := io.WriteString(w, b.String())
	return err
}

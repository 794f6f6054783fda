package bench

import (
	"fmt"
	"image/png"
	"io"
	"math"
)

// chartData is what the PNG shows: one group of bars per proxied
// configuration, one bar per series in each.
type chartData struct {
	title  string
	yLabel string
	labels []string
	series []chartSeries
}

// chartSeries is one bar of every group.
type chartSeries struct {
	name   string
	values []float64
}

// WritePNG draws the added p50, p90 and p99 of every proxied configuration
// (median over rounds) as grouped bars, one group per scenario and config.
//
// The chart is drawn here, on image/png and one embedded Go font, rather
// than with a plotting library: gonum/plot registers and parses twelve
// TrueType fonts in a package initialiser, and every meshctl process
// (each sidecar included) paid for that at start, about 4 MiB of resident
// memory and 7 MiB of executable, for a chart only `meshctl bench` draws.
func (r Report) WritePNG(w io.Writer) error {
	d := chartData{
		title:  fmt.Sprintf("added latency over the baseline, %d rps, median of %d rounds", r.Options.Rate, r.Options.Rounds),
		yLabel: "added latency (µs)",
		series: []chartSeries{{name: "p50"}, {name: "p90"}, {name: "p99"}},
	}
	for _, c := range r.Configs {
		if c.Config == ConfigBaseline || c.AddedP50.N == 0 {
			continue
		}
		d.labels = append(d.labels, fmt.Sprintf("%s %s", c.Scenario, c.Config))
		for i, s := range []Stat{c.AddedP50, c.AddedP90, c.AddedP99} {
			d.series[i].values = append(d.series[i].values, finite(s.Median))
		}
	}
	if len(d.labels) == 0 {
		return fmt.Errorf("chart: no proxied configuration was measured")
	}
	img, err := drawChart(d)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// finite maps NaN and the infinities to 0, so that one broken figure
// cannot break the chart's scale.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

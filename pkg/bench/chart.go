package bench

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WritePNG draws the added p50, p90 and p99 of every proxied configuration
// (median over rounds) as grouped bars, one group per scenario and config.
func (r Report) WritePNG(w io.Writer) error {
	var labels []string
	var p50, p90, p99 plotter.Values
	for _, c := range r.Configs {
		if c.Config == ConfigBaseline || c.AddedP50.N == 0 {
			continue
		}
		labels = append(labels, fmt.Sprintf("%s %s", c.Scenario, c.Config))
		p50 = append(p50, c.AddedP50.Median)
		p90 = append(p90, c.AddedP90.Median)
		p99 = append(p99, c.AddedP99.Median)
	}
	if len(labels) == 0 {
		return fmt.Errorf("chart: no proxied configuration was measured")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("added latency over the baseline, %d rps, median of %d rounds", r.Options.Rate, r.Options.Rounds)
	p.Y.Label.Text = "added latency (µs)"
	width := vg.Points(14)
	colors := []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	}
	for i, s := range []struct {
		name string
		v    plotter.Values
	}{{"p50", p50}, {"p90", p90}, {"p99", p99}} {
		bars, err := plotter.NewBarChart(s.v, width)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		bars.Color = colors[i]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(i-1)
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.X.Padding = vg.Points(30)
	p.NominalX(labels...)
	p.Add(plotter.NewGrid())
	wt, err := p.WriterTo(max(6*vg.Inch, vg.Length(100+110*len(labels))), 4*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

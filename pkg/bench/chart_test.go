package bench

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/golden"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 1000, []float64{0, 200, 400, 600, 800, 1000}},
		{0, 930, []float64{0, 200, 400, 600, 800, 1000}},
		{-120, 480, []float64{-200, 0, 200, 400, 600}},
		{0, 0, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
		{0, 0.05, []float64{0, 0.01, 0.02, 0.03, 0.04, 0.05}},
		{500, 0, []float64{0, 100, 200, 300, 400, 500}},
		{0, 3, []float64{0, 1, 2, 3}},
	}
	for _, tc := range tests {
		if got := niceTicks(tc.lo, tc.hi, 5); !slices.Equal(got, tc.want) {
			t.Errorf("niceTicks(%v, %v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestTickLabel(t *testing.T) {
	tests := []struct {
		v, step float64
		want    string
	}{
		{200, 100, "200"},
		{0.6000000000000001, 0.2, "0.6"},
		{0.05, 0.01, "0.05"},
		{math.Copysign(0, -1), 1, "0"},
		{-200, 200, "-200"},
	}
	for _, tc := range tests {
		if got := tickLabel(tc.v, tc.step); got != tc.want {
			t.Errorf("tickLabel(%v, %v) = %q, want %q", tc.v, tc.step, got, tc.want)
		}
	}
}

// TestWritePNG draws the report of fakeResult and compares it with the
// golden image (go test ./pkg/bench -run TestWritePNG -update rewrites
// it), then checks what the picture must show whatever the font does:
// the size, one bar per series and configuration, and p99 taller than
// p50.
func TestWritePNG(t *testing.T) {
	var b bytes.Buffer
	if err := Summarize(fakeResult()).WritePNG(&b); err != nil {
		t.Fatal(err)
	}
	golden.AssertBinary(t, filepath.Join("testdata", "chart.golden.png"), b.Bytes())
	img, err := png.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: chartMinWidth, Y: chartHeight}) {
		t.Errorf("size %v", got)
	}
	series, _, _, _ := chartPalette()
	// Three proxied configurations (meshctl, nginx, floor): three groups
	// of three bars.
	heights := make([][]int, len(series))
	for i, col := range series {
		heights[i] = barHeights(img, col)
		if len(heights[i]) != 3 {
			t.Fatalf("series %d: %d bars, want 3", i, len(heights[i]))
		}
	}
	for g := range 3 {
		if !(heights[0][g] < heights[2][g]) {
			t.Errorf("group %d: p50 bar %d px not shorter than p99 bar %d px", g, heights[0][g], heights[2][g])
		}
	}
}

// barHeights returns the height in pixels of each run of columns painted
// col (legend swatches excluded: they sit above the plot area).
func barHeights(img image.Image, col color.RGBA) []int {
	var out []int
	inBar := false
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		h := 0
		for y := chartTop; y < img.Bounds().Max.Y; y++ {
			if color.RGBAModel.Convert(img.At(x, y)) == col {
				h++
			}
		}
		switch {
		case h > 0 && !inBar:
			out = append(out, h)
			inBar = true
		case h == 0:
			inBar = false
		}
	}
	return out
}

func TestWritePNGNegativeAndBrokenFigures(t *testing.T) {
	rep := Report{Options: Options{Rate: 1000, Rounds: 1}, Configs: []ConfigSummary{
		{Scenario: ScenarioS1, Config: ConfigMeshctl, AddedP50: Stat{N: 1, Median: -40}, AddedP90: Stat{N: 1, Median: math.NaN()}, AddedP99: Stat{N: 1, Median: math.Inf(1)}},
	}}
	var b bytes.Buffer
	if err := rep.WritePNG(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&b); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
}

func TestWritePNGWithoutProxiedConfigurations(t *testing.T) {
	rep := Report{Configs: []ConfigSummary{{Scenario: ScenarioS1, Config: ConfigBaseline, AddedP50: Stat{N: 1}}}}
	var b bytes.Buffer
	if err := rep.WritePNG(&b); err == nil {
		t.Fatal("no error for a report with nothing to draw")
	}
	if b.Len() != 0 {
		t.Errorf("%d bytes written on error", b.Len())
	}
}

func TestWrap(t *testing.T) {
	c, err := newCanvas(10, 10)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		w    int
		want []string
	}{
		{"s1 meshctl", 200, []string{"s1 meshctl"}},
		{"grpc-stream meshctl", 90, []string{"grpc-stream", "meshctl"}},
		{"a b c d e f g h i j k l m n o p", 30, nil}, // two lines, the second cut
	}
	for _, tc := range tests {
		got := wrap(c.face, tc.in, tc.w)
		if tc.want != nil && !slices.Equal(got, tc.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
		if len(got) > 2 {
			t.Errorf("wrap(%q, %d): %d lines", tc.in, tc.w, len(got))
		}
		for _, l := range got {
			if width(c.face, l) > tc.w {
				t.Errorf("wrap(%q, %d): %q is %d px wide", tc.in, tc.w, l, width(c.face, l))
			}
		}
	}
}

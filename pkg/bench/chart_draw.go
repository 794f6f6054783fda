package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The chart's layout, in pixels.
const (
	chartGroupWidth = 128 // one configuration's bars and label
	chartBarWidth   = 26
	chartMinWidth   = 640
	chartHeight     = 440
	chartLeft       = 72 // room for the y tick labels
	chartRight      = 24
	chartTop        = 64 // title, y label and legend
	chartBottom     = 56 // two lines of x labels
)

// chartPalette returns the series' colours, then the ink, grid and
// background colours.
func chartPalette() (series []color.RGBA, ink, grid, paper color.RGBA) {
	return []color.RGBA{
			{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
			{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
			{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		},
		color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff},
		color.RGBA{R: 0xe0, G: 0xe0, B: 0xe0, A: 0xff},
		color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
}

// canvas is an image with the font its text is set in.
type canvas struct {
	img   *image.RGBA
	face  font.Face
	title font.Face
}

func newCanvas(w, h int) (*canvas, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("parse the chart's font: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 12, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("size the chart's font: %w", err)
	}
	title, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 15, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("size the chart's font: %w", err)
	}
	return &canvas{img: image.NewRGBA(image.Rect(0, 0, w, h)), face: face, title: title}, nil
}

// fill paints the rectangle [x0,x1) x [y0,y1), in either order.
func (c *canvas) fill(x0, y0, x1, y1 int, col color.RGBA) {
	r := image.Rect(x0, y0, x1, y1) // Rect orders its corners
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// width is how wide s is set in face.
func width(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

// text sets s with its baseline at y, starting at x (align -1), centred
// on x (0) or ending at x (1).
func (c *canvas) text(face font.Face, x, y, align int, s string, col color.RGBA) {
	switch align {
	case 0:
		x -= width(face, s) / 2
	case 1:
		x -= width(face, s)
	}
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// wrap breaks s at spaces into at most two lines no wider than w; what
// still does not fit ends in an ellipsis.
func wrap(face font.Face, s string, w int) []string {
	words := strings.Fields(s)
	var lines []string
	line := ""
	for i, word := range words {
		next := strings.TrimSpace(line + " " + word)
		if line == "" || width(face, next) <= w {
			line = next
			continue
		}
		if len(lines) == 1 {
			line = strings.Join(append([]string{line}, words[i:]...), " ")
			break
		}
		lines = append(lines, line)
		line = word
	}
	lines = append(lines, line)
	for i, l := range lines {
		lines[i] = ellipsize(face, l, w)
	}
	return lines
}

// ellipsize shortens s to fit w, ending it in "…" when it had to.
func ellipsize(face font.Face, s string, w int) string {
	if width(face, s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && width(face, string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// drawChart lays out d as grouped vertical bars over a value axis that
// always includes zero, so that a negative added latency (a proxy that
// measured faster than the baseline) shows below the line.
func drawChart(d chartData) (*image.RGBA, error) {
	w := max(chartMinWidth, chartLeft+chartRight+chartGroupWidth*len(d.labels))
	c, err := newCanvas(w, chartHeight)
	if err != nil {
		return nil, err
	}
	seriesColors, ink, grid, paper := chartPalette()
	c.fill(0, 0, w, chartHeight, paper)

	lo, hi := 0.0, 0.0
	for _, s := range d.series {
		for _, v := range s.values {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	ticks := niceTicks(lo, hi, 5)
	lo, hi = ticks[0], ticks[len(ticks)-1]
	step := 0.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	x0, x1, y0, y1 := chartLeft, w-chartRight, chartTop, chartHeight-chartBottom
	y := func(v float64) int {
		return y1 - int((v-lo)/(hi-lo)*float64(y1-y0)+0.5)
	}

	for _, t := range ticks {
		col := grid
		if t == 0 {
			col = ink
		}
		c.fill(x0, y(t), x1, y(t)+1, col)
		c.text(c.face, x0-8, y(t)+4, 1, tickLabel(t, step), ink)
	}
	c.fill(x0, y0, x0+1, y1+1, ink)

	n := len(d.series)
	gw := (x1 - x0) / len(d.labels) // at least chartGroupWidth
	for g, label := range d.labels {
		mid := x0 + gw*g + gw/2
		for i, s := range d.series {
			left := mid - n*chartBarWidth/2 + i*chartBarWidth
			c.fill(left+1, y(0), left+chartBarWidth-1, y(s.values[g]), seriesColors[i%len(seriesColors)])
		}
		for j, line := range wrap(c.face, label, gw-8) {
			c.text(c.face, mid, y1+20+16*j, 0, line, ink)
		}
	}

	c.text(c.title, w/2, 24, 0, d.title, ink)
	c.text(c.face, x0, y0-14, -1, d.yLabel, ink)
	lx := x1
	for i := len(d.series) - 1; i >= 0; i-- {
		lx -= width(c.face, d.series[i].name)
		c.text(c.face, lx, y0-14, -1, d.series[i].name, ink)
		lx -= 16
		c.fill(lx, y0-24, lx+12, y0-12, seriesColors[i%len(seriesColors)])
		lx -= 14
	}
	return c.img, nil
}

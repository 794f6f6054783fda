package output

import (
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// Status glyphs, as in Linkerd: U+221A, U+203C, U+00D7.
const (
	GlyphOK   = "√"
	GlyphWarn = "‼"
	GlyphFail = "×"
)

// Glyphs renders status glyphs, coloured or not.
type Glyphs struct {
	ok, warn, fail *color.Color
}

// NewGlyphs returns glyphs coloured only when enabled is true.
func NewGlyphs(enabled bool) Glyphs {
	g := Glyphs{
		ok:   color.New(color.FgGreen, color.Bold),
		warn: color.New(color.FgYellow),
		fail: color.New(color.FgRed),
	}
	for _, c := range []*color.Color{g.ok, g.warn, g.fail} {
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return g
}

// OK returns the success glyph.
func (g Glyphs) OK() string { return g.ok.Sprint(GlyphOK) }

// Warn returns the warning glyph.
func (g Glyphs) Warn() string { return g.warn.Sprint(GlyphWarn) }

// Fail returns the failure glyph.
func (g Glyphs) Fail() string { return g.fail.Sprint(GlyphFail) }

// ColorEnabled reports whether output to w should be coloured: w must be a
// terminal, NO_COLOR must be unset (https://no-color.org) and noColor false.
func ColorEnabled(w io.Writer, noColor bool, getenv func(string) string) bool {
	if noColor || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

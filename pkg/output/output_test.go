package output

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr string
	}{
		{in: "json", want: JSON},
		{in: " YAML ", want: YAML},
		{in: "xml", wantErr: `unknown output format "xml": use one of yaml, json`},
		{in: "", wantErr: `unknown output format ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in, YAML, JSON)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFormat(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFormat(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestColorEnabled(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	if ColorEnabled(&bytes.Buffer{}, false, env(nil)) {
		t.Error("a buffer is not a terminal")
	}
	if ColorEnabled(os.Stdout, false, env(map[string]string{"NO_COLOR": "1"})) {
		t.Error("NO_COLOR must disable colour")
	}
	if ColorEnabled(os.Stdout, true, env(nil)) {
		t.Error("--no-color must disable colour")
	}
}

func TestGlyphsPlain(t *testing.T) {
	g := NewGlyphs(false)
	if g.OK() != "√" || g.Warn() != "‼" || g.Fail() != "×" {
		t.Fatalf("plain glyphs = %q %q %q", g.OK(), g.Warn(), g.Fail())
	}
	if c := NewGlyphs(true).OK(); !strings.Contains(c, "\x1b[") {
		t.Fatalf("coloured glyph %q has no escape", c)
	}
}

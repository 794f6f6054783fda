package inject

import (
	"strings"
	"testing"
	"time"
)

// TestPathologicalInputs: inputs that stress the YAML parser are refused
// (or processed) quickly.
func TestPathologicalInputs(t *testing.T) {
	for name, in := range map[string]string{
		"open brackets 100k": strings.Repeat("[", 100000),
		"nested maps 50k":    strings.Repeat("{a: ", 50000),
		"keys 100k":          strings.Repeat("? ", 100000),
		"dashes 100k":        strings.Repeat("- ", 100000),
		"anchors":            strings.Repeat("&a ", 100000),
		"quotes":             "\"" + strings.Repeat("\\\"", 100000),
	} {
		start := time.Now()
		if _, err := Run([]Source{{Name: name, Data: []byte(in)}}, testOptions(t)); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %s", name, d)
		}
	}
}

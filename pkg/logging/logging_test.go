package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	cases := []struct {
		name        string
		opts        Options
		wantDebug   bool
		wantInfo    bool
		wantJSON    bool
		wantErrText string
	}{
		{name: "zero value", opts: Options{}, wantInfo: true},
		{name: "debug json", opts: Options{Level: "debug", Format: "json"}, wantDebug: true, wantInfo: true, wantJSON: true},
		{name: "upper case", opts: Options{Level: "WARN", Format: "Plain"}},
		{name: "error", opts: Options{Level: "error"}},
		{name: "bad level", opts: Options{Level: "verbose"}, wantErrText: `unknown log level "verbose" (want one of debug, info, warn, error)`},
		{name: "bad format", opts: Options{Format: "xml"}, wantErrText: `unknown log format "xml" (want one of plain, json)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, tc.opts)
			if tc.wantErrText != "" {
				if err == nil || err.Error() != tc.wantErrText {
					t.Fatalf("got %v, want %q", err, tc.wantErrText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("d", "k", 1)
			l.Info("i", "k", 2)
			out := buf.String()
			if got := strings.Contains(out, "msg=d") || strings.Contains(out, `"msg":"d"`); got != tc.wantDebug {
				t.Errorf("debug logged = %v, want %v: %q", got, tc.wantDebug, out)
			}
			if got := strings.Contains(out, "msg=i") || strings.Contains(out, `"msg":"i"`); got != tc.wantInfo {
				t.Errorf("info logged = %v, want %v: %q", got, tc.wantInfo, out)
			}
			if tc.wantJSON {
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Errorf("line %q is not JSON: %v", line, err)
					}
				}
			}
		})
	}
}

func TestDiscard(t *testing.T) {
	Discard().Error("nothing happens")
}

// TestDynamicLevel: a logger on a LevelVar starts at the chosen level and
// follows the variable afterwards; a refused format leaves it untouched.
func TestDynamicLevel(t *testing.T) {
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelError)
	if _, err := New(&buf, Options{Level: "debug", Format: "xml", Dynamic: lv}); err == nil || lv.Level() != slog.LevelError {
		t.Fatalf("bad format: err %v, level %v; want an error and the level untouched", err, lv.Level())
	}
	l, err := New(&buf, Options{Level: "warn", Dynamic: lv})
	if err != nil {
		t.Fatal(err)
	}
	if lv.Level() != slog.LevelWarn {
		t.Fatalf("level %v after New, want warn", lv.Level())
	}
	l.Info("before")
	lv.Set(slog.LevelDebug)
	l.Debug("after")
	if out := buf.String(); strings.Contains(out, "before") || !strings.Contains(out, "msg=after") {
		t.Errorf("the logger did not follow its level: %q", out)
	}
}

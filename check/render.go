package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meshctl/meshctl/pkg/output"
)

// TableWriter prints results as they arrive: a heading per category, one
// line per check, the error and hint under a failure. With Short, only the
// checks that did not pass are printed (and their headings). Retry attempts
// are not results: they are ignored here (the CLI shows them as progress).
type TableWriter struct {
	W      io.Writer
	Glyphs output.Glyphs
	Short  bool

	lastCategory string
	printedAny   bool
}

// Observe prints one result.
func (t *TableWriter) Observe(r Result) {
	if r.Status == StatusRetrying || t.Short && r.Status == StatusOK {
		return
	}
	if r.Category != t.lastCategory {
		if t.printedAny {
			fmt.Fprintln(t.W)
		}
		fmt.Fprintf(t.W, "%s\n%s\n", r.Category, strings.Repeat("-", len(r.Category)))
		t.lastCategory = r.Category
	}
	t.printedAny = true
	glyph := t.Glyphs.OK()
	switch r.Status {
	case StatusWarning:
		glyph = t.Glyphs.Warn()
	case StatusError:
		glyph = t.Glyphs.Fail()
	}
	fmt.Fprintf(t.W, "%s %s\n", glyph, r.Description)
	if r.Status != StatusOK {
		for _, line := range strings.Split(r.Err, "\n") {
			fmt.Fprintf(t.W, "    %s\n", line)
		}
		if r.Hint != "" {
			fmt.Fprintf(t.W, "    hint: %s\n", r.Hint)
		}
		fmt.Fprintf(t.W, "    see %s for more (%s)\n", r.HintURL, r.Code)
	}
}

// Finish prints the verdict line.
func (t *TableWriter) Finish(s Summary) {
	if t.printedAny {
		fmt.Fprintln(t.W)
	}
	glyph := t.Glyphs.OK()
	if !s.OK() {
		glyph = t.Glyphs.Fail()
	}
	fmt.Fprintf(t.W, "Status check results are %s\n", glyph)
}

// ProgressLine formats a retry for non-terminal output: one plain line per
// attempt, so a waiting check is never silent.
func ProgressLine(r Result, elapsed time.Duration) string {
	return fmt.Sprintf("waiting (%s): %s: %s", elapsed.Round(time.Second), r.Description, firstLine(r.Err))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// jsonReport is the stable JSON schema of `meshctl check -o json`,
// documented in docs/checks.md. It extends Linkerd's with codes.
type jsonReport struct {
	Success    bool           `json:"success"`
	Errors     int            `json:"errors"`
	Warnings   int            `json:"warnings"`
	Categories []jsonCategory `json:"categories"`
}

type jsonCategory struct {
	CategoryName string      `json:"categoryName"`
	Checks       []jsonCheck `json:"checks"`
}

type jsonCheck struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Result      Status `json:"result"`
	Error       string `json:"error,omitempty"`
	Hint        string `json:"hint,omitempty"`
	HintURL     string `json:"hintURL,omitempty"`
}

// WriteJSON writes the summary in the JSON schema.
func WriteJSON(w io.Writer, s Summary) error {
	rep := jsonReport{Success: s.OK(), Errors: s.Errors, Warnings: s.Warnings, Categories: []jsonCategory{}}
	for _, r := range s.Results {
		if n := len(rep.Categories); n == 0 || rep.Categories[n-1].CategoryName != r.Category {
			rep.Categories = append(rep.Categories, jsonCategory{CategoryName: r.Category})
		}
		c := &rep.Categories[len(rep.Categories)-1]
		c.Checks = append(c.Checks, jsonCheck{Code: r.Code, Description: r.Description, Result: r.Status, Error: r.Err, Hint: r.Hint, HintURL: r.HintURL})
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode check results: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

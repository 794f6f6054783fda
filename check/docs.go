package check

import (
	"fmt"
	"io"
)

// WriteDocs writes docs/checks.md: every check with its code, severity,
// what it checks and what to do when it fails. The anchors are the codes,
// which the hints of failed checks link to.
func WriteDocs(w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# meshctl check: the catalogue\n\n")
	p("Generated from the `check` package by `meshctl docs`; do not edit by hand.\n\n")
	p("Each check has a stable code that is never reused. Errors fail the run (exit 1); warnings are\n")
	p("reported but do not; a fatal check stops the run, and a retried check is re-run until `--wait`.\n\n")
	p("`meshctl check -o json` prints `{\"success\", \"errors\", \"warnings\", \"categories\": [{\"categoryName\",\n")
	p("\"checks\": [{\"code\", \"description\", \"result\", \"error\", \"hint\", \"hintURL\"}]}]}`, where `result` is\n")
	p("`success`, `warning` or `error`; `error`, `hint` and `hintURL` appear only when the check did not pass.\n")
	p("\nSome failures have a safe, mechanical fix, marked below. `meshctl check --fix --dry-run` prints the steps\n")
	p("(and the command or YAML to do each by hand; Secrets' data is never shown); `meshctl check --fix` asks y/N\n")
	p("on the terminal before applying them and refuses without one; `--fix --yes` applies them without asking.\n")
	p("Steps no controller can do (a bare pod to re-create) are shown as \"by hand\". Run `meshctl check` again\n")
	p("once restarted pods are ready to see the result.\n")
	for _, cat := range Catalogue() {
		p("\n## %s\n", cat.ID)
		for _, c := range cat.Checks {
			sev := "error"
			if c.Severity == Warning {
				sev = "warning"
			}
			flags := ""
			if c.Fatal {
				flags += ", fatal"
			}
			if c.Retry {
				flags += ", retried until --wait"
			}
			p("\n### %s\n\n", c.Anchor())
			p("**%s** — %s (%s%s)\n\n", c.Code, c.Description, sev, flags)
			p("What to do: %s.\n", c.Hint)
			if c.Fix != nil {
				p("\n`meshctl check --fix` can fix this: `--fix --dry-run` shows the steps, `--fix --yes` applies them.\n")
			}
		}
	}
	return nil
}

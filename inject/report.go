package inject

import (
	"fmt"
	"io"
	"strings"

	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// ReportOptions configure WriteReport.
type ReportOptions struct {
	// Verbose adds a √ line per check every workload passed.
	Verbose bool
	// Glyphs renders √ and ‼; the zero value prints them plain.
	Glyphs output.Glyphs
	// Uninject words the report for uninject.
	Uninject bool
}

// WriteReport writes the human report of res: a blank line, the ‼
// warnings, with Verbose the √ checks, then one line per resource.
func WriteReport(w io.Writer, res *Result, o ReportOptions) error {
	var b strings.Builder
	b.WriteString("\n")
	g := o.Glyphs
	if g == (output.Glyphs{}) {
		g = output.NewGlyphs(false)
	}
	warn, ok := g.Warn(), g.OK()
	supported := false
	for _, r := range res.Resources {
		supported = supported || r.supported
		for _, msg := range r.Warnings {
			fmt.Fprintf(&b, "%s %s\n", warn, msg)
		}
	}
	if !supported && !o.Uninject {
		fmt.Fprintf(&b, "%s no supported objects found\n", warn)
	}
	if o.Verbose && !o.Uninject {
		for _, c := range passedByAll(res.Resources) {
			fmt.Fprintf(&b, "%s %s\n", ok, c)
		}
	}
	if b.Len() > 1 {
		b.WriteString("\n")
	}
	for _, r := range res.Resources {
		if r.Kind == "" {
			fmt.Fprintf(&b, "document missing \"kind\" field, %s\n", r.Action)
			continue
		}
		fmt.Fprintf(&b, "%s %q %s\n", strings.ToLower(r.Kind), r.Name, r.Action)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// passedByAll returns the checks that every decided workload passed, in
// check order.
func passedByAll(rs []Resource) []string {
	all := []string{sidecar.CheckHostNetwork, sidecar.CheckThirdParty, sidecar.CheckDisabled, sidecar.CheckUDP, sidecar.CheckAutomount, sidecar.CheckAnnotations, sidecar.CheckGrace}
	var decided []*sidecar.Decision
	for _, r := range rs {
		if r.Decision != nil {
			decided = append(decided, r.Decision)
		}
	}
	if len(decided) == 0 {
		return nil
	}
	var out []string
	for _, c := range all {
		passed := true
		for _, d := range decided {
			found := false
			for _, p := range d.Passed {
				found = found || p == c
			}
			passed = passed && found
		}
		if passed {
			out = append(out, c)
		}
	}
	return out
}

// WriteExplain writes every resource's decision and reasons as JSON.
func WriteExplain(w io.Writer, res *Result) error {
	rs := res.Resources
	if rs == nil {
		rs = []Resource{}
	}
	return output.WriteJSON(w, struct {
		Resources []Resource `json:"resources"`
	}{rs})
}

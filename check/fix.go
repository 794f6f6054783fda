package check

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Action is one step of a remediation (`meshctl check --fix`).
type Action struct {
	// Description says what the step does and why, as one line.
	Description string
	// Show is what a user would run by hand to do the same: a command, or
	// YAML for `kubectl apply -f -`. Secrets' data is never shown.
	Show string
	// Apply performs the step; nil means it cannot be done mechanically and
	// is shown for the user to do by hand.
	Apply func(ctx context.Context, env *Env) error
}

// FixPlan is the remediation of one failed check.
type FixPlan struct {
	Code        string
	Description string
	Actions     []Action
	// Err says why the remediation could not be planned.
	Err string
}

// PlanFixes plans the remediation of every failed check of the summary
// that has one, in the order the checks ran. Each plan reads the cluster
// under the per-call timeout; a plan that fails carries its error.
func PlanFixes(ctx context.Context, env *Env, categories []Category, s Summary) []FixPlan {
	byCode := map[string]Check{}
	for _, cat := range categories {
		for _, c := range cat.Checks {
			byCode[c.Code] = c
		}
	}
	var plans []FixPlan
	for _, r := range s.Results {
		c, ok := byCode[r.Code]
		if !ok || c.Fix == nil || (r.Status != StatusError && r.Status != StatusWarning) {
			continue
		}
		p := FixPlan{Code: c.Code, Description: c.Description}
		actions, err := planGuarded(ctx, env, c)
		if err != nil {
			p.Err = err.Error()
		}
		p.Actions = actions
		plans = append(plans, p)
	}
	return plans
}

func planGuarded(ctx context.Context, env *Env, c Check) (actions []Action, err error) {
	timeout := env.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error planning the fix of %s: %v", c.Code, p)
		}
	}()
	return c.Fix(cctx, env)
}

// Applicable counts the steps of the plans that can be applied.
func Applicable(plans []FixPlan) int {
	n := 0
	for _, p := range plans {
		for _, a := range p.Actions {
			if a.Apply != nil {
				n++
			}
		}
	}
	return n
}

// WriteFixPlan prints what --fix would do: per failed check, its steps,
// each with what a user would run by hand.
func WriteFixPlan(w io.Writer, plans []FixPlan) {
	if len(plans) == 0 {
		fmt.Fprintln(w, "Nothing to fix: no failed check has a mechanical fix.")
		return
	}
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s %s\n", p.Code, p.Description)
		if p.Err != "" {
			fmt.Fprintf(w, "    cannot plan the fix: %s\n", p.Err)
		}
		if len(p.Actions) == 0 && p.Err == "" {
			fmt.Fprintln(w, "    nothing left to do")
		}
		for _, a := range p.Actions {
			mark := "-"
			if a.Apply == nil {
				mark = "- by hand:"
			}
			fmt.Fprintf(w, "  %s %s\n", mark, a.Description)
			for _, line := range strings.Split(strings.TrimRight(a.Show, "\n"), "\n") {
				if line != "" {
					fmt.Fprintf(w, "      %s\n", line)
				}
			}
		}
	}
}

// ApplyFixes applies every applicable step in order, once (two checks may
// plan the same restart), reporting each to report (a nil error means it
// was applied). It returns how many failed.
func ApplyFixes(ctx context.Context, env *Env, plans []FixPlan, report func(a Action, err error)) int {
	failed := 0
	done := map[string]bool{}
	for _, p := range plans {
		for _, a := range p.Actions {
			if a.Apply == nil || done[a.Show] {
				continue
			}
			done[a.Show] = true
			err := applyGuarded(ctx, env, a)
			if err != nil {
				failed++
			}
			if report != nil {
				report(a, err)
			}
		}
	}
	return failed
}

func applyGuarded(ctx context.Context, env *Env, a Action) (err error) {
	timeout := env.CallTimeout
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return a.Apply(cctx, env)
}

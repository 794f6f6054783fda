package admin

import (
	"fmt"
	"io"
	"sort"
	"sync"
)

// Readiness is a set of named conditions that must all be met before the
// process reports ready, plus notices that are reported either way. The zero
// value has no conditions (ready) and no notices; it is safe for concurrent
// use.
type Readiness struct {
	mu         sync.Mutex
	conditions map[string]Condition
	notices    map[string]string
}

// Condition is the state of one readiness condition.
type Condition struct {
	// Name identifies the condition, e.g. "admin" or "issuer-loaded".
	Name string
	// Met reports whether the condition holds.
	Met bool
	// Message explains the state, above all why it is not met.
	Message string
}

// Set records the state of the named condition.
func (r *Readiness) Set(name string, met bool, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conditions == nil {
		r.conditions = map[string]Condition{}
	}
	r.conditions[name] = Condition{Name: name, Met: met, Message: message}
}

// Notice records an informational line reported by /ready whatever the
// state of the conditions; an empty message removes it.
func (r *Readiness) Notice(name, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if message == "" {
		delete(r.notices, name)
		return
	}
	if r.notices == nil {
		r.notices = map[string]string{}
	}
	r.notices[name] = message
}

// Status reports whether every condition is met, and the conditions and
// notices sorted by name.
func (r *Readiness) Status() (ready bool, conditions []Condition, notices []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ready = true
	for _, c := range r.conditions {
		conditions = append(conditions, c)
		ready = ready && c.Met
	}
	sort.Slice(conditions, func(i, j int) bool { return conditions[i].Name < conditions[j].Name })
	names := make([]string, 0, len(r.notices))
	for n := range r.notices {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		notices = append(notices, r.notices[n])
	}
	return ready, conditions, notices
}

// Ready reports whether every condition is met.
func (r *Readiness) Ready() bool {
	ready, _, _ := r.Status()
	return ready
}

// writeReport writes the /ready body: "ready" or "not ready", then one line
// per unmet condition and one per notice.
func (r *Readiness) writeReport(w io.Writer) (bool, error) {
	ready, conds, notices := r.Status()
	var err error
	line := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format+"\n", args...)
		}
	}
	if ready {
		line("ready")
	} else {
		line("not ready")
	}
	for _, c := range conds {
		if !c.Met {
			line("unmet %s: %s", c.Name, c.Message)
		}
	}
	for _, n := range notices {
		line("notice: %s", n)
	}
	return ready, err
}

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
	// became is closed the first time every condition is met; nil until
	// WhenReady or that moment asks for it.
	became chan struct{}
	// wasReady is true once every condition has been met.
	wasReady bool
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
	if !r.wasReady && r.allMet() {
		r.wasReady = true
		if r.became != nil {
			close(r.became)
		}
	}
}

// WhenReady returns a channel closed the first time every condition is
// met (checked as conditions are set, so never while none is), and closed
// already if that has happened. Later unmet conditions do not reopen it:
// it marks the end of starting up.
func (r *Readiness) WhenReady() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.became == nil {
		r.became = make(chan struct{})
		if r.wasReady {
			close(r.became)
		}
	}
	return r.became
}

// allMet reports whether there are conditions and all are met; r.mu is
// held.
func (r *Readiness) allMet() bool {
	for _, c := range r.conditions {
		if !c.Met {
			return false
		}
	}
	return len(r.conditions) > 0
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

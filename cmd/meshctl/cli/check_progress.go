package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/meshctl/meshctl/check"
)

// checkProgress shows what a retried check waits for: a spinner line
// redrawn in place on terminals, plain lines (when the reason changes, or
// every 10 s) otherwise. Never a silent wait.
type checkProgress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	started  map[string]time.Time
	lastMsg  string
	lastLine time.Time
	drawn    bool
	frame    int
}

func newCheckProgress(w io.Writer, terminal bool, now func() time.Time) *checkProgress {
	return &checkProgress{w: w, terminal: terminal, now: now, started: map[string]time.Time{}}
}

func (p *checkProgress) retrying(r check.Result) {
	now := p.now()
	if _, ok := p.started[r.Code]; !ok {
		p.started[r.Code] = now
	}
	line := check.ProgressLine(r, now.Sub(p.started[r.Code]))
	if p.terminal {
		frames := []string{"|", "/", "-", "\\"}
		p.frame++
		fmt.Fprintf(p.w, "\r\x1b[K%s %s", frames[p.frame%len(frames)], line)
		p.drawn = true
		return
	}
	msg := r.Code + r.Err
	if msg != p.lastMsg || now.Sub(p.lastLine) >= 10*time.Second {
		fmt.Fprintln(p.w, line)
		p.lastMsg, p.lastLine = msg, now
	}
}

// clear erases the spinner line before a result is printed.
func (p *checkProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

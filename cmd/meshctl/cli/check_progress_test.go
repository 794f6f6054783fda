package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/check"
)

func TestCheckProgress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r := check.Result{Code: "MESH206", Description: "control plane pods are running and ready", Err: "pod a: pending\npod b: pending", Status: check.StatusRetrying}

	var plain bytes.Buffer
	p := newCheckProgress(&plain, false, clock)
	p.retrying(r) // first attempt: printed
	now = now.Add(2 * time.Second)
	p.retrying(r) // same reason 2 s later: quiet
	now = now.Add(10 * time.Second)
	p.retrying(r) // still waiting 12 s in: printed again
	r2 := r
	r2.Err = "pod a: crash loop"
	p.retrying(r2) // the reason changed: printed
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	want := []string{
		"waiting (0s): control plane pods are running and ready: pod a: pending",
		"waiting (12s): control plane pods are running and ready: pod a: pending",
		"waiting (12s): control plane pods are running and ready: pod a: crash loop",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plain progress:\n%s\nwant:\n%s", plain.String(), strings.Join(want, "\n"))
	}

	var tty bytes.Buffer
	p = newCheckProgress(&tty, true, clock)
	p.retrying(r)
	p.clear()
	if got := tty.String(); !strings.HasPrefix(got, "\r\x1b[K") || !strings.Contains(got, "pod a: pending") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Fatalf("terminal progress %q: want a redrawn line, then erased", got)
	}
}

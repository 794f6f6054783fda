package bench

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// timerSlack is the calling thread's timer slack in nanoseconds.
func timerSlack(t *testing.T) int {
	t.Helper()
	v, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatalf("PR_GET_TIMERSLACK: %v", err)
	}
	return v
}

// TestRaiseSetsAndRestoresRealTimePriority raises a pinned thread to
// SCHED_FIFO and puts it back, or, without the privilege, says which one
// is missing.
func TestRaiseSetsAndRestoresRealTimePriority(t *testing.T) {
	clk := newClock()
	defer clk.pin()()
	policy := func() uint32 {
		attr, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			t.Fatalf("sched_getattr: %v", err)
		}
		return attr.Policy
	}
	before := policy()
	release, err := clk.raise()
	if err != nil {
		if !strings.Contains(err.Error(), "CAP_SYS_NICE") {
			t.Fatalf("raise failed without naming the privilege it needs: %v", err)
		}
		t.Skipf("no privilege to raise: %v", err)
	}
	if got := policy(); got != unix.SCHED_FIFO {
		t.Errorf("policy after raise = %d, want SCHED_FIFO (%d)", got, unix.SCHED_FIFO)
	}
	release()
	if got := policy(); got != before {
		t.Errorf("policy after release = %d, want %d as before", got, before)
	}
}

package bench

import (
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

package bench

import (
	"math"
	"runtime"
	"slices"
	"testing"
	"time"
)

func nan() float64 { return math.NaN() }

func TestScheduleSlots(t *testing.T) {
	s := schedule{rate: 1000, conns: 4}
	tests := []struct {
		w, k int
		want time.Duration
	}{
		{0, 0, 0},
		{1, 0, time.Millisecond},
		{3, 0, 3 * time.Millisecond},
		{0, 1, 4 * time.Millisecond},
		{2, 5, 22 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := s.at(tt.w, tt.k); got != tt.want {
			t.Errorf("at(%d, %d) = %s, want %s", tt.w, tt.k, got, tt.want)
		}
	}
}

// TestScheduleEvenlyInterleaved checks that all connections together send
// exactly rate × duration requests, one every 1/rate, with no two at once.
func TestScheduleEvenlyInterleaved(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		conns int
		d     time.Duration
	}{{1000, 16, time.Second}, {200, 3, 2 * time.Second}, {7, 7, time.Second}} {
		s := schedule{rate: tc.rate, conns: tc.conns}
		var all []time.Duration
		total := 0
		for w := range tc.conns {
			n := s.count(w, tc.d)
			total += n
			for k := range n {
				all = append(all, s.at(w, k))
			}
		}
		if want := int(tc.rate * tc.d.Seconds()); total != want {
			t.Errorf("rate %v conns %d: %d requests in %s, want %d", tc.rate, tc.conns, total, tc.d, want)
		}
		slices.Sort(all)
		gap := time.Duration(float64(time.Second) / tc.rate)
		for i := 1; i < len(all); i++ {
			if d := all[i] - all[i-1]; d < gap-time.Microsecond || d > gap+time.Microsecond {
				t.Fatalf("rate %v conns %d: gap %s between sends %d and %d, want %s", tc.rate, tc.conns, d, i-1, i, gap)
			}
		}
	}
}

// TestClockNeverEarly checks the pacing clock's one hard property: it does
// not wake before the instant asked for. How late it wakes depends on the
// machine and is reported by the generator, not asserted here.
func TestClockNeverEarly(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := newClock()
	for i := range 20 {
		due := c.now() + time.Duration(200+i*50)*time.Microsecond
		c.sleepUntil(due)
		if now := c.now(); now < due {
			t.Fatalf("woke %s early", due-now)
		}
	}
	// An instant in the past returns at once.
	c.sleepUntil(0)
}

// TestClockPinSetsAndRestoresTimerSlack checks that a pacing thread asks
// the kernel for 1 ns of timer slack and that the thread goes back to
// Go's pool with the slack it had.
func TestClockPinSetsAndRestoresTimerSlack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timer slack is Linux's")
	}
	runtime.LockOSThread() // the same thread before, during and after
	defer runtime.UnlockOSThread()
	before := timerSlack(t)
	release := newClock().pin()
	if got := timerSlack(t); got != 1 {
		t.Errorf("timer slack while pinned %d ns, want 1", got)
	}
	release()
	if got := timerSlack(t); got != before {
		t.Errorf("timer slack after release %d ns, want %d as before", got, before)
	}
}

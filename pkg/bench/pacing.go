package bench

import "time"

// schedule is the open-loop plan of perf.md §3.6: Conns connections share
// Rate requests per second, each with its own fixed slot, so that connection
// w sends its k-th request at w/Rate + k·Conns/Rate after the start. The
// sends of all connections interleave evenly, like wrk2's.
type schedule struct {
	rate  float64
	conns int
}

// at is the intended send time of connection w's k-th request, relative to
// the start of the phase.
func (s schedule) at(w, k int) time.Duration {
	sec := (float64(w) + float64(k)*float64(s.conns)) / s.rate
	return time.Duration(sec * float64(time.Second))
}

// count is how many requests connection w sends in a phase of length d.
func (s schedule) count(w int, d time.Duration) int {
	n := 0
	for s.at(w, n) < d {
		n++
	}
	return n
}

// clock measures time on the monotonic clock and sleeps until an absolute
// instant. Durations are relative to the clock's creation.
type clock interface {
	// now is the time since the clock's origin.
	now() time.Duration
	// sleepUntil blocks the calling OS thread until now() ≥ t.
	sleepUntil(t time.Duration)
	// pin locks the calling goroutine to its OS thread and readies the
	// thread for sleepUntil; release undoes both.
	pin() (release func())
	// raise puts the pinned thread above ordinary threads, so that a
	// proxy's thread waking on its CPU does not preempt it while it polls
	// the clock; release puts it back.
	raise() (release func(), err error)
}

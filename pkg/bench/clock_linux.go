package bench

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// absClock sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which
// wakes within tens of microseconds here where Go's runtime timers are
// 0.5–1 ms late (perf.md §3.6). Callers lock their goroutine to its OS
// thread so that the wake-up is not followed by a scheduling hop.
type absClock struct {
	origin time.Time
	mono0  int64 // CLOCK_MONOTONIC at origin, in ns
}

func newClock() clock {
	var ts unix.Timespec
	origin := time.Now()
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	// Go's monotonic clock is CLOCK_MONOTONIC on Linux, so origin and mono0
	// name the same instant to within the two calls' gap.
	return &absClock{origin: origin, mono0: ts.Nano()}
}

func (c *absClock) now() time.Duration { return time.Since(c.origin) }

func (c *absClock) sleepUntil(t time.Duration) {
	ts := unix.NsecToTimespec(c.mono0 + int64(t))
	for {
		err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil)
		if err != unix.EINTR { // Go's preemption signals interrupt the sleep
			return
		}
	}
}

// pin locks the goroutine to its thread and sets the thread's timer slack
// to 1 ns. The kernel may otherwise fire a normal thread's timer up to
// 50 µs late, to batch wake-ups: on this 2-CPU VM, 16 pacing threads on
// an idle machine woke 100 µs late at p50 with the default slack and 43 µs
// with 1 ns (p90 128 -> 68 µs). The previous slack comes back on release,
// since the thread returns to Go's pool.
func (c *absClock) pin() (release func()) {
	runtime.LockOSThread()
	prev, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) != nil {
		return runtime.UnlockOSThread
	}
	return func() {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(prev), 0, 0, 0)
		runtime.UnlockOSThread()
	}
}

// raise gives the calling thread SCHED_FIFO priority 1, the lowest
// real-time one. A thread polling the clock is otherwise preempted by
// every proxy thread that wakes on its CPU, and the send waits for the
// CPU instead of the clock (generator lateness p99 30-55 µs with a 200 µs
// spin here, 0-1 µs at SCHED_FIFO). It needs CAP_SYS_NICE.
func (c *absClock) raise() (release func(), err error) {
	prev, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return nil, fmt.Errorf("read the pacing thread's scheduling policy: %w", err)
	}
	attr := &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return nil, fmt.Errorf("put the pacing thread at SCHED_FIFO (needs CAP_SYS_NICE): %w", err)
	}
	return func() { _ = unix.SchedSetAttr(0, prev, 0) }, nil
}

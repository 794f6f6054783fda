//go:build !linux

package bench

import (
	"runtime"
	"time"
)

// sleepClock paces with time.Sleep where clock_nanosleep is not available;
// its lateness is recorded like any other and usually marks runs invalid.
type sleepClock struct{ origin time.Time }

func newClock() clock { return &sleepClock{origin: time.Now()} }

func (c *sleepClock) now() time.Duration { return time.Since(c.origin) }

func (c *sleepClock) sleepUntil(t time.Duration) {
	if d := t - c.now(); d > 0 {
		time.Sleep(d)
	}
}

func (c *sleepClock) pin() (release func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

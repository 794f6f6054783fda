//go:build !linux

package bench

import (
	"errors"
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

func (c *sleepClock) raise() (release func(), err error) {
	return nil, errors.New("real-time priority is only set on Linux")
}

func (c *sleepClock) pin() (release func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

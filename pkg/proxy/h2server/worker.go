package h2server

import "time"

// Handlers run on the connection's workers: a goroutine that has served a
// stream waits for the next instead of exiting. A new goroutine per stream
// starts on a small stack and grows it, copying, to the depth of a proxy's
// handler each time (runtime.newstack and copystack were about 5 % of the
// CPU of the meshed hop's server side); a worker keeps the stack it grew.

// workerIdleTimeout is, by default, how long a worker may wait for a
// stream before the connection retires it, so that the workers of a burst
// do not stay once traffic is back to what fewer of them serve.
// Retirement is lazy (all that waited too long go when another worker
// goes idle), and a connection with nothing to do closes at its idle
// timeout, taking its workers with it. Until then the collector shrinks
// the stacks of those that wait.
const workerIdleTimeout = 10 * time.Second

// idleWorker is a worker waiting for a stream on next (buffered, one).
type idleWorker struct {
	next  chan *stream
	since time.Time
}

// startHandlerLocked runs s's handler on the worker that went idle last
// (its stack the most likely still warm in cache), or on a new one.
func (c *conn) startHandlerLocked(s *stream) {
	if n := len(c.idle); n > 0 {
		w := c.idle[n-1]
		c.idle[n-1] = idleWorker{}
		c.idle = c.idle[:n-1]
		w.next <- s
		return
	}
	go c.work(s)
}

// work serves s, then the streams handed to it, until retired.
func (c *conn) work(s *stream) {
	next := make(chan *stream, 1)
	for s != nil {
		c.runHandler(s)
		s = c.awaitStream(next)
	}
}

// awaitStream parks the calling worker until a stream is handed to it; nil
// means it is retired: the connection closed, enough workers are idle
// already, or it waited past workerIdleTimeout.
func (c *conn) awaitStream(next chan *stream) *stream {
	now := time.Now()
	c.mu.Lock()
	if c.closed || len(c.idle) >= int(c.maxStreams) {
		c.mu.Unlock()
		return nil
	}
	// The list is in the order the workers went idle: those that waited
	// too long are a prefix of it.
	expired := 0
	for expired < len(c.idle) && now.Sub(c.idle[expired].since) > c.workerIdle {
		expired++
	}
	c.retireIdleLocked(expired)
	c.idle = append(c.idle, idleWorker{next: next, since: now})
	c.mu.Unlock()
	return <-next
}

// retireIdleLocked ends the n workers that have been idle longest (all of
// them when the connection closes).
func (c *conn) retireIdleLocked(n int) {
	for _, w := range c.idle[:n] {
		w.next <- nil
	}
	m := copy(c.idle, c.idle[n:])
	clear(c.idle[m:])
	c.idle = c.idle[:m]
}

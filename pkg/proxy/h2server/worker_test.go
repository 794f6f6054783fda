package h2server

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// idleWorkers counts the workers waiting for a stream on srv's
// connections.
func idleWorkers(srv *Server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	n := 0
	for c := range srv.conns {
		c.mu.Lock()
		n += len(c.idle)
		c.mu.Unlock()
	}
	return n
}

// parkedWorkers counts the goroutines waiting for a stream in the whole
// test binary (earlier tests' connections included).
func parkedWorkers() int {
	buf := make([]byte, 1<<20)
	return bytes.Count(buf[:runtime.Stack(buf, true)], []byte("h2server.(*conn).awaitStream("))
}

// eventuallyCount waits up to five seconds for count() to be within
// [lo, hi].
func eventuallyCount(t *testing.T, count func() int, lo, hi int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := count()
		if lo <= got && got <= hi {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d idle workers, want %d to %d", when, got, lo, hi)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustGet(t *testing.T, c *http.Client, url string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
}

// TestWorkersServeStreamsInTurn: a connection's streams, one after
// another, are served by goroutines that wait between them; a burst's
// workers are retired once they have waited past the idle time and
// traffic goes on, and the last ones end with the connection.
func TestWorkersServeStreamsInTurn(t *testing.T) {
	const burst = 5
	var (
		mu      sync.Mutex
		ids     = map[string]bool{}
		arrived sync.WaitGroup
		gate    = make(chan struct{})
	)
	srv := &Server{workerIdle: 100 * time.Millisecond, Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/burst" {
			arrived.Done()
			<-gate
			return
		}
		buf := make([]byte, 64)
		id := string(bytes.Fields(buf[:runtime.Stack(buf, false)])[1]) // "goroutine N [running]:"
		mu.Lock()
		ids[id] = true
		mu.Unlock()
	})}
	url := "http://" + serve(t, srv)
	c := client(t)
	before := parkedWorkers()
	idle := func() int { return idleWorkers(srv) }

	for range 10 {
		mustGet(t, c, url+"/turn")
	}
	// The client's next request can reach the server between a
	// handler's response and its worker's wait: a second worker then
	// takes it, and the two take turns.
	if len(ids) > 2 {
		t.Errorf("10 streams in turn ran on %d goroutines, want at most 2", len(ids))
	}
	eventuallyCount(t, idle, 0, 2, "after streams in turn")

	arrived.Add(burst)
	var done sync.WaitGroup
	for range burst {
		done.Go(func() { mustGet(t, c, url+"/burst") })
	}
	arrived.Wait()
	close(gate)
	done.Wait()
	// Each of the burst's streams had a worker; a worker of the streams
	// in turn that was still on its way back to waiting when the burst
	// came is one more.
	eventuallyCount(t, idle, burst, burst+2, "after a burst")

	// Past the idle time, the next worker to go idle retires all that
	// waited too long.
	time.Sleep(150 * time.Millisecond)
	mustGet(t, c, url+"/turn")
	eventuallyCount(t, idle, 0, 2, "once the burst's workers waited past the idle time")

	// The goroutines themselves end: none more than before the test.
	c.Transport.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	eventuallyCount(t, parkedWorkers, 0, before, "after the connection closed")
}

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

// idleWorkers counts the goroutines waiting for a stream, in every
// connection of the test binary.
func idleWorkers() int {
	buf := make([]byte, 1<<20)
	return bytes.Count(buf[:runtime.Stack(buf, true)], []byte("h2server.(*conn).awaitStream("))
}

// waitForIdleWorkers waits up to five seconds for want idle workers.
func waitForIdleWorkers(t *testing.T, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := idleWorkers()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d idle workers, want %d", when, got, want)
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
// another, are served by one goroutine that waits between them; a burst's
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
	before := idleWorkers()

	for range 10 {
		mustGet(t, c, url+"/turn")
	}
	if len(ids) != 1 {
		t.Errorf("10 streams in turn ran on %d goroutines, want 1", len(ids))
	}
	waitForIdleWorkers(t, before+1, "after streams in turn")

	arrived.Add(burst)
	var done sync.WaitGroup
	for range burst {
		done.Go(func() { mustGet(t, c, url+"/burst") })
	}
	arrived.Wait()
	close(gate)
	done.Wait()
	waitForIdleWorkers(t, before+burst, "after a burst")

	// Past the idle time, each stream served retires the longest idle.
	time.Sleep(150 * time.Millisecond)
	for range burst {
		mustGet(t, c, url+"/turn")
	}
	waitForIdleWorkers(t, before+1, "once the burst's workers waited past the idle time")

	c.Transport.(interface{ CloseIdleConnections() }).CloseIdleConnections()
	waitForIdleWorkers(t, before, "after the connection closed")
}

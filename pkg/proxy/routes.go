package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/meshctl/meshctl/pkg/proxy/profile"
)

// maxRetryBody is the largest request body kept for a retry, as in
// Linkerd: a larger one streams through and its request is not retried.
const maxRetryBody = 64 << 10

// maxRouteRetries bounds the retries of one request; the budget bounds
// them across requests.
const maxRouteRetries = 3

// maxBudgets bounds the retry budgets kept, one per Service port.
const maxBudgets = 1024

// routeOf finds the ServiceProfile route of a request to target and counts
// the request on it. Nothing happens without a profile.
func (hp *httpProxy) routeOf(ctx context.Context, r *http.Request, t Target, ex *exchange) {
	pf, ok := hp.s.deps.Destination.(Profiles)
	if !ok {
		return
	}
	prof := pf.Profile(ctx, t)
	if prof == nil {
		return
	}
	ex.route = prof.Match(r.Method, r.URL.Path)
	ex.routeLabels = []string{string(hp.s.direction), prof.Authority, ex.route.Label()}
	hp.s.metrics.routeRequests.WithLabelValues(ex.routeLabels...).Inc()
	if hp.s.direction == Outbound && ex.route != nil && ex.route.Retryable {
		ex.budget = hp.budgetFor(prof)
		ex.budget.Deposit()
	}
}

// budgetFor returns the retry budget of prof's Service port, shared by
// every request to it and kept across profile updates.
func (hp *httpProxy) budgetFor(prof *profile.Profile) *profile.Budget {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if b, ok := hp.budgets[prof.Authority]; ok {
		b.Update(prof.Budget)
		return b
	}
	b := profile.NewBudget(prof.Budget, nil)
	if len(hp.budgets) < maxBudgets {
		hp.budgets[prof.Authority] = b
	}
	return b
}

// routeClass is the classification label of an exchange on ex's route.
func routeClass(ex *exchange, status int, grpc string, failed bool) string {
	if ex.route.IsFailure(status, grpc, failed) {
		return "failure"
	}
	return "success"
}

// recordRoute counts the response the client saw; called with ex.mu held.
func (hp *httpProxy) recordRoute(ex *exchange) {
	if ex.routeLabels == nil {
		return
	}
	class := routeClass(ex, ex.status, ex.grpc, ex.err != "")
	hp.s.metrics.routeResponses.WithLabelValues(append(append([]string(nil), ex.routeLabels...), statusLabel(ex.status), class)...).Inc()
}

// observeRouteLatency records the time to the response's headers.
func (hp *httpProxy) observeRouteLatency(ex *exchange, status int, ms float64) {
	if ex.routeLabels == nil {
		return
	}
	hp.s.metrics.routeLatency.WithLabelValues(append(append([]string(nil), ex.routeLabels...), statusLabel(status))...).Observe(ms)
}

// actualRequest counts an attempt sent to a server.
func (hp *httpProxy) actualRequest(ex *exchange) {
	if ex.routeLabels == nil || hp.s.direction != Outbound {
		return
	}
	hp.s.metrics.routeActualRequests.WithLabelValues(ex.routeLabels...).Inc()
}

// actualResponse counts the outcome of an attempt, judged at its headers
// (resp nil: none came).
func (hp *httpProxy) actualResponse(ex *exchange, resp *http.Response) {
	if ex.routeLabels == nil || hp.s.direction != Outbound {
		return
	}
	status, grpc := 0, ""
	if resp != nil {
		status, grpc = resp.StatusCode, resp.Header.Get("Grpc-Status")
	}
	class := routeClass(ex, status, grpc, resp == nil)
	hp.s.metrics.routeActualResponses.WithLabelValues(append(append([]string(nil), ex.routeLabels...), statusLabel(status), class)...).Inc()
}

// retryResponse decides whether a response is to be retried: its route
// is retryable and calls it a failure, the request body can be sent again,
// the request has retries left and the budget allows one.
func (hp *httpProxy) retryResponse(ex *exchange, r *http.Request, resp *http.Response, rec *replayBody, retries int) bool {
	if ex.budget == nil || retries >= maxRouteRetries || r.Context().Err() != nil {
		return false
	}
	if !ex.route.IsFailure(resp.StatusCode, resp.Header.Get("Grpc-Status"), false) || resp.StatusCode == http.StatusSwitchingProtocols {
		return false
	}
	if rec != nil && !rec.complete() {
		return false
	}
	if !ex.budget.Withdraw() {
		hp.s.metrics.routeRetriesSkipped.WithLabelValues(ex.routeLabels[1], ex.routeLabels[2]).Inc()
		return false
	}
	return true
}

// replayBody records a request body as it streams to the server, up to
// maxRetryBody, so that the request can be sent again once the body has
// been read whole. Streaming is never held up: nothing is read ahead.
type replayBody struct {
	rc io.ReadCloser

	mu   sync.Mutex
	buf  []byte
	eof  bool
	over bool // more than maxRetryBody: not replayable
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	if !b.over {
		if len(b.buf)+n > maxRetryBody {
			b.over, b.buf = true, nil
		} else {
			b.buf = append(b.buf, p[:n]...)
		}
	}
	if err == io.EOF {
		b.eof = true
	}
	b.mu.Unlock()
	return n, err
}

func (b *replayBody) Close() error { return b.rc.Close() }

// complete reports whether the whole body was read and kept.
func (b *replayBody) complete() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof && !b.over
}

// replay returns the body afresh, for another attempt.
func (b *replayBody) replay() (io.ReadCloser, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return io.NopCloser(bytes.NewReader(b.buf)), int64(len(b.buf))
}

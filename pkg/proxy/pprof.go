package proxy

import (
	"net/http"
	"net/http/pprof"
)

// mountPprof adds Go's runtime profiles under /debug/pprof/ to mux, for
// loopback clients only: a profile names the proxy's code paths and a
// trace or a CPU profile costs it CPU while it runs, so neither is for
// the pod network. The handlers are net/http/pprof's; its package
// registration on http.DefaultServeMux is never served.
//
// A CPU profile or trace runs for ?seconds=N and must end within the
// admin server's write timeout (admin.DefaultWriteTimeout, 30s), which the
// handlers check before they start; without the parameter they run for
// defaultProfileSeconds rather than net/http/pprof's 30, which that
// timeout would refuse.
func mountPprof(mux *http.ServeMux) {
	for path, h := range map[string]http.HandlerFunc{
		"/debug/pprof/":        pprof.Index, // and the named profiles: heap, goroutine, allocs...
		"/debug/pprof/cmdline": pprof.Cmdline,
		"/debug/pprof/profile": withDefaultSeconds(pprof.Profile),
		"/debug/pprof/symbol":  pprof.Symbol,
		"/debug/pprof/trace":   withDefaultSeconds(pprof.Trace),
	} {
		mux.Handle(path, loopbackOnly("profiles", h))
	}
}

// defaultProfileSeconds is the length of a CPU profile or trace whose
// request does not say.
const defaultProfileSeconds = "10"

// withDefaultSeconds runs h with ?seconds=defaultProfileSeconds when the
// request has no seconds parameter.
func withDefaultSeconds(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("seconds") == "" {
			q.Set("seconds", defaultProfileSeconds)
			r2 := r.Clone(r.Context())
			r2.URL.RawQuery = q.Encode()
			r = r2
		}
		h(w, r)
	}
}

// loopbackOnly refuses h to clients that are not on loopback.
func loopbackOnly(what string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) {
			http.Error(w, what+" are only served to loopback clients: use kubectl port-forward to the pod's admin port", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

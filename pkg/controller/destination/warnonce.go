package destination

import (
	"log/slog"
	"sync"
)

// maxProfileWarnings bounds the distinct ServiceProfile problems
// remembered (and so logged) over the controller's life.
const maxProfileWarnings = 1024

// warnOnce logs each distinct ServiceProfile problem once: resolution runs
// again at every change for every stream, and the same bad route would
// otherwise flood the log.
type warnOnce struct {
	log  *slog.Logger
	max  int
	mu   sync.Mutex
	seen map[string]struct{}
}

func newWarnOnce(log *slog.Logger, maxEntries int) *warnOnce {
	return &warnOnce{log: log, max: maxEntries, seen: map[string]struct{}{}}
}

func (w *warnOnce) profileError(namespace, name string, err error) {
	key := namespace + "/" + name + ": " + err.Error()
	w.mu.Lock()
	_, dup := w.seen[key]
	fresh := !dup && len(w.seen) < w.max
	if fresh {
		w.seen[key] = struct{}{}
	}
	w.mu.Unlock()
	if fresh {
		w.log.Warn("serviceprofile route left out", "namespace", namespace, "serviceprofile", name, "error", err)
	}
}

package memtrim

import (
	"context"
	"log/slog"
)

// ReleaseWhenReady waits until ready is closed, the end of the process's
// start (a proxy or controller meeting its readiness conditions), then
// releases the executable's start-up pages and logs the outcome at debug
// level. It returns without releasing when ctx ends first. Run it in its
// own goroutine.
func ReleaseWhenReady(ctx context.Context, ready <-chan struct{}, log *slog.Logger) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	r, err := ReleaseExecutablePages()
	if err != nil {
		log.Debug("could not release startup pages", "error", err)
		return
	}
	log.Debug("released startup pages", "mappings", r.Mappings, "bytes", r.Bytes)
}

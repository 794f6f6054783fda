package memtrim

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

func TestReleaseWhenReady(t *testing.T) {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ReleaseWhenReady(ctx, make(chan struct{}), log)
	if logs.String() != "" {
		t.Fatalf("released, or tried, after the context ended: %q", logs.String())
	}

	ready := make(chan struct{})
	close(ready)
	ReleaseWhenReady(t.Context(), ready, log)
	got := logs.String()
	if !strings.Contains(got, `msg="released startup pages"`) {
		t.Fatalf("log = %q, want the release recorded", got)
	}
	if runtime.GOOS == "linux" && strings.Contains(got, "bytes=0") {
		t.Errorf("log = %q: nothing of the executable released", got)
	}
}

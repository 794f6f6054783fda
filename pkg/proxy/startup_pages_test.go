package proxy

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

// A proxy that is ready gives back the executable's pages that only its
// start touched (memtrim); until then it keeps them.
func TestProxyReleasesStartupPagesOnceReady(t *testing.T) {
	ls := Listeners{Inbound: listenLoopback(t), Outbound: listenLoopback(t), Admin: listenLoopback(t)}
	cfg := Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1"}
	cfg.InboundAddr, cfg.OutboundAddr, cfg.AdminAddr = ls.Inbound.Addr().String(), ls.Outbound.Addr().String(), ls.Admin.Addr().String()
	cfg = cfg.Defaults()
	var logs syncbuf.Buffer
	p, err := New(cfg, Deps{}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), ls)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="released startup pages"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no release logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if ready, released := strings.Index(out, `msg="proxy ready"`), strings.Index(out, `msg="released startup pages"`); ready < 0 || released < ready {
		t.Errorf("released before the proxy was ready:\n%s", out)
	}
}

// Package proxytest runs a real meshctl proxy for the tests of the
// packages that talk to one (the CLI's viz commands, the dashboard).
package proxytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/meshctl/meshctl/pkg/logging"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

// Start runs a proxy with cfg and deps on loopback ports chosen by the
// system (the control port too, bound when cfg enables tap), stops it when
// the test ends, and returns its listeners once /ready answers 200.
func Start(t testing.TB, cfg proxy.Config, deps proxy.Deps) proxy.Listeners {
	t.Helper()
	cfg.InboundAddr, cfg.OutboundAddr, cfg.AdminAddr, cfg.ControlAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if cfg.ShutdownGracePeriod == 0 {
		cfg.ShutdownGracePeriod = time.Second
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ls, err := proxy.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy's log is kept and shown when the test fails.
	var logs syncbuf.Buffer
	log, err := logging.New(&logs, logging.Options{Level: "info"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("proxy log:\n%s", logs.String())
		}
	})
	p, err := proxy.New(cfg, deps, log, ls)
	if err != nil {
		ls.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("proxy: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("proxy did not stop within 5s")
		}
	})
	WaitReady(t, ls.Admin.Addr().String())
	return ls
}

// WaitReady waits up to 5 s for the proxy admin server at addr to answer
// /ready with 200.
func WaitReady(t testing.TB, admin string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy admin %s not ready: %v", admin, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TapTokenSHA256 is the value of proxy.Config.TapTokenSHA256 that admits
// token.
func TapTokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

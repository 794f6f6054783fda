package controller_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshctl/meshctl/pkg/admin"
	"github.com/meshctl/meshctl/pkg/controller"
	"github.com/meshctl/meshctl/pkg/controller/policy"
	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

func TestComponents(t *testing.T) {
	type runFunc func(context.Context, controller.Config, controller.Deps) error
	cases := []struct {
		name     string
		run      runFunc
		notice   string
		grpcPort string
	}{
		{"policy", func(ctx context.Context, c controller.Config, d controller.Deps) error {
			return policy.Run(ctx, policy.Config{Config: c}, d)
		}, "policy: inbound policy discovery (gRPC :8090) not implemented yet (no issue yet); serving admin only", "8090"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var logs syncbuf.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- tc.run(ctx, controller.Config{}, controller.Deps{
					Logger:        slog.New(slog.NewJSONHandler(&logs, nil)),
					AdminListener: ln,
				})
			}()
			base := "http://" + ln.Addr().String()

			code, body := waitGet(t, base+"/ready")
			if code != http.StatusOK || !strings.Contains(body, "notice: "+tc.notice) {
				t.Errorf("/ready: %d %q, want 200 with notice %q", code, body, tc.notice)
			}
			if code, body := waitGet(t, base+"/live"); code != http.StatusOK || body != "live\n" {
				t.Errorf("/live: %d %q", code, body)
			}
			_, metrics := waitGet(t, base+"/metrics")
			for _, want := range []string{
				`meshctl_controller_capabilities{capability="`,
				`component="` + tc.name + `",implemented="false"} 1`,
				`meshctl_controller_info{component="` + tc.name + `",version="dev"} 1`,
				"go_goroutines ", "process_start_time_seconds ",
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			// The component's own port must not be served by this stub.
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+tc.grpcPort, 200*time.Millisecond); err == nil {
				c.Close()
				t.Logf("note: something else listens on :%s on this machine", tc.grpcPort)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run returned %v after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of cancel")
			}
			if _, err := http.Get(base + "/live"); err == nil {
				t.Error("admin server still answers after Run returned")
			}
			checkLogs(t, logs.String(), tc.notice)
		})
	}
}

func checkLogs(t *testing.T, logs, notice string) {
	t.Helper()
	var sawWarn, sawStart, sawStop bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		switch {
		case rec["level"] == "WARN" && rec["msg"] == notice:
			sawWarn = true
		case rec["msg"] == "controller started" && rec["admin_addr"] != nil:
			sawStart = true
		case rec["msg"] == "controller stopped":
			sawStop = true
		}
	}
	if !sawWarn || !sawStart || !sawStop {
		t.Errorf("logs miss the warning (%v), start (%v) or stop (%v) line:\n%s", sawWarn, sawStart, sawStop, logs)
	}
}

func waitGet(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	spec := controller.Spec{Component: "test"}

	err = controller.Serve(context.Background(), spec, controller.Config{AdminAddr: busy.Addr().String()}, controller.Deps{})
	if err == nil || !strings.Contains(err.Error(), "test: admin server: listen tcp") {
		t.Errorf("busy port: got %v", err)
	}

	err = controller.Serve(context.Background(), spec, controller.Config{ShutdownTimeout: -time.Second, AdminAddr: "127.0.0.1:0"}, controller.Deps{})
	if err == nil || !strings.Contains(err.Error(), "shutdown timeout -1s is negative") {
		t.Errorf("negative timeout: got %v", err)
	}

	// A registry reused by a second component in one process is an error
	// Serve reports instead of panicking.
	reg := prometheus.NewRegistry()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := controller.Serve(ctx, spec, controller.Config{}, controller.Deps{Registry: reg, AdminListener: ln}); err != nil {
		t.Fatalf("first serve: %v", err)
	}
	err = controller.Serve(ctx, spec, controller.Config{AdminAddr: "127.0.0.1:0"}, controller.Deps{Registry: reg})
	if err == nil || !strings.Contains(err.Error(), "test: register meshctl_controller_info") {
		t.Errorf("reused registry: got %v", err)
	}
}

// The executable's start-up pages are released once the component is
// ready, not before: a controller still syncing its caches is still
// starting.
func TestServeReleasesStartupPagesOnceReady(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	ready := &admin.Readiness{}
	ready.Set("synced", false, "caches not synced yet")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- controller.Serve(ctx, controller.Spec{Component: "test"}, controller.Config{}, controller.Deps{
			Logger:        slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			AdminListener: ln,
			Readiness:     ready,
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if code, _ := waitGet(t, "http://"+ln.Addr().String()+"/ready"); code != http.StatusServiceUnavailable {
		t.Fatalf("/ready = %d while syncing, want 503", code)
	}
	if strings.Contains(logs.String(), "released startup pages") {
		t.Fatal("released before the component was ready")
	}
	ready.Set("synced", true, "caches synced")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"released startup pages"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no release logged once ready:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

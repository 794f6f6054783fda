package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
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

func TestControllerCommands(t *testing.T) {
	// The injector, identity and destination controllers need a cluster:
	// tested in their packages and on the real cluster (test/e2e).
	for _, name := range []string{"policy"} {
		t.Run(name, func(t *testing.T) {
			addr := "127.0.0.1:" + freePort(t)
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			done := make(chan int, 1)
			go func() {
				done <- Execute(ctx, streams, []string{"controller", name, "--admin-addr", addr, "--log-format", "json", "--mesh-namespace", "mesh-test"})
			}()

			base := "http://" + addr
			if code, body := httpGet(t, base+"/live"); code != 200 || body != "live\n" {
				t.Errorf("/live: %d %q", code, body)
			}
			code, body := httpGet(t, base+"/ready")
			if code != 200 || !strings.HasPrefix(body, "ready\n") || !strings.Contains(body, "notice: "+name+": ") || !strings.Contains(body, "not implemented yet") {
				t.Errorf("/ready: %d %q", code, body)
			}
			if _, metrics := httpGet(t, base+"/metrics"); !strings.Contains(metrics, `component="`+name+`",implemented="false"} 1`) || !strings.Contains(metrics, "go_goroutines") {
				t.Errorf("/metrics lacks the capabilities gauge or Go metrics:\n%s", metrics)
			}

			cancel() // what main does on SIGTERM
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d after cancel; stderr:\n%s", code, errOut)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("controller did not stop within 10s of cancel")
			}
			if out.Len() != 0 {
				t.Errorf("stdout is not empty: %q", out)
			}
			logs := errOut.String()
			for _, want := range []string{`"level":"WARN"`, `not implemented yet`, `"msg":"controller started"`, `"mesh_namespace":"mesh-test"`, `"msg":"controller stopped"`} {
				if !strings.Contains(logs, want) {
					t.Errorf("logs lack %s:\n%s", want, logs)
				}
			}
		})
	}
}

func TestControllerUsageErrors(t *testing.T) {
	cases := []struct {
		args, want string
	}{
		{"controller", "a component is required: identity, destination, policy, injector"},
		{"controller nope", `unknown component "nope"`},
		{"controller identity extra", "unknown command \"extra\""},
		{"controller identity --log-level loud", `unknown log level "loud"`},
		{"controller policy --log-format xml", `unknown log format "xml"`},
		{"controller injector --shutdown-timeout -1s", "--shutdown-timeout -1s is negative"},
		{"controller destination --bogus", "unknown flag: --bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.args, func(t *testing.T) {
			r := run(t, tc.args)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit 2 and %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}

func TestControllerBusyAdminPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := run(t, "controller policy --admin-addr "+ln.Addr().String())
	if r.code != ExitFailure || !strings.Contains(r.stderr, "policy: admin server: listen tcp") {
		t.Errorf("got exit %d, stderr %q", r.code, r.stderr)
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster: {server: %q, insecure-skip-tls-verify: true}
  name: c
contexts:
- context: {cluster: c, user: u}
  name: c
current-context: c
users:
- name: u
  user: {token: t}
`, server)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckBadClusters: an unreachable, black-holed or unconfigured API
// fails the first checks with a clear message, in bounded time, exit 1.
func TestCheckBadClusters(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	blackhole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer blackhole.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := blackhole.Accept()
			if err != nil {
				for _, h := range held {
					h.Close()
				}
				return
			}
			held = append(held, c) // accept, never answer
		}
	}()

	tests := []struct {
		name, args, want string
	}{
		{"closed port", "check --pre --request-timeout 2s --kubeconfig " + writeKubeconfig(t, "https://"+closedAddr), "connection refused"},
		{"black-holed", "check --request-timeout 2s --kubeconfig " + writeKubeconfig(t, "https://"+blackhole.Addr().String()), "can query the Kubernetes API"},
		{"missing kubeconfig", "check --kubeconfig " + filepath.Join(t.TempDir(), "none"), "can initialize the client"},
		{"wrong context", "check --context nope --kubeconfig " + writeKubeconfig(t, "https://"+closedAddr), `context "nope" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := run(t, tt.args)
			if d := time.Since(start); d > 8*time.Second {
				t.Fatalf("took %v", d)
			}
			if r.code != 1 || !strings.Contains(r.stdout, tt.want) || !strings.Contains(r.stdout, "Status check results are ×") {
				t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s\nwant %q", r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
}

func TestCheckUsage(t *testing.T) {
	for _, args := range []string{"check -o yaml", "check --wait 0s", "check --wait soon", "check extra"} {
		t.Run(args, func(t *testing.T) {
			r := run(t, args)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestCheckJSONOnFailure(t *testing.T) {
	r := run(t, "check -o json --kubeconfig "+filepath.Join(t.TempDir(), "none"))
	var got struct {
		Success    bool `json:"success"`
		Categories []struct {
			Checks []struct {
				Code   string `json:"code"`
				Result string `json:"result"`
			} `json:"checks"`
		} `json:"categories"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if r.code != 1 || got.Success || got.Categories[0].Checks[0].Code != "MESH101" || got.Categories[0].Checks[0].Result != "error" {
		t.Fatalf("code %d, %+v", r.code, got)
	}
}

func TestCheckFlagConflicts(t *testing.T) {
	for _, args := range []string{"check --pre --proxy", "check -n shop", "check --pre -n shop"} {
		t.Run(args, func(t *testing.T) {
			r := run(t, args)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

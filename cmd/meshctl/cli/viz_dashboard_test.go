package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
)

// TestVizDashboardServes runs the dashboard command over the offline
// fixture on a free loopback port: it prints the URL, serves the stat
// JSON there, refuses another Host, and stops cleanly when cancelled.
func TestVizDashboardServes(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- Execute(ctx, streams, strings.Fields("viz dashboard --port 0 -v"+shopScrapes()))
	}()
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stderr: %s", errOut.String())
		}
		if s := out.String(); strings.HasSuffix(s, "\n") {
			url = strings.TrimSpace(s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(errOut.String(), "metrics from 9 saved scrapes (--metrics-file)") {
		t.Fatalf("url %q, stderr %q", url, errOut.String())
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url + "api/stat?resource=deploy&namespace=shop")
	if err != nil {
		t.Fatal(err)
	}
	var stat struct {
		Rows []struct {
			Name string   `json:"name"`
			RPS  *float64 `json:"rps"`
		} `json:"rows"`
	}
	err = json.NewDecoder(resp.Body).Decode(&stat)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(stat.Rows) != 3 || stat.Rows[2].Name != "web" || *stat.Rows[2].RPS != 12 {
		t.Fatalf("code %d, err %v, rows %+v", resp.StatusCode, err, stat.Rows)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = "evil.example"
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example: code %d, want 421", resp.StatusCode)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d: %s", c, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dashboard did not stop when cancelled")
	}
}

func TestVizDashboardUsage(t *testing.T) {
	tests := []struct{ args, stderr string }{
		{"viz dashboard --show grafana", "only url is supported"},
		{"viz dashboard --port 70000", "not a TCP port"},
		{"viz dashboard --address example.com", "not an IP address"},
		{"viz dashboard --metrics-file a.prom", "two or more scrapes"},
		{"viz dashboard --metrics-file a --metrics-file b --prometheus-url http://p", "exclude each other"},
	}
	for _, tc := range tests {
		r := run(t, tc.args)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("meshctl %s: code %d, stderr %q; want a usage error mentioning %q", tc.args, r.code, r.stderr, tc.stderr)
		}
	}
}

func TestAllowedHosts(t *testing.T) {
	tests := []struct {
		address string
		want    string
	}{
		{"127.0.0.1", "localhost:80 127.0.0.1:80 [::1]:80"},
		{"0.0.0.0", "localhost:80 127.0.0.1:80 [::1]:80"},
		{"192.168.1.5", "localhost:80 127.0.0.1:80 [::1]:80 192.168.1.5:80"},
	}
	for _, tc := range tests {
		if got := strings.Join(allowedHosts(tc.address, 80), " "); got != tc.want {
			t.Errorf("allowedHosts(%s) = %s, want %s", tc.address, got, tc.want)
		}
	}
}

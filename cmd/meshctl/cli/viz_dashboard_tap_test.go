package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/meshctl/meshctl/pkg/testutil/syncbuf"
	"github.com/meshctl/meshctl/viz"
)

// dashboardURL waits for the URL the dashboard command prints.
func dashboardURL(t *testing.T, out, errOut *syncbuf.Buffer) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s := out.String(); strings.HasSuffix(s, "\n") {
			return strings.TrimSpace(s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stderr: %s", errOut)
		}
	}
}

// dashboardMessage is a message of the dashboard's tap websocket.
type dashboardMessage struct {
	Kind   string        `json:"kind"`
	Event  *viz.TapEvent `json:"event"`
	Text   string        `json:"text"`
	Failed bool          `json:"failed"`
}

// dialDashboardTap opens the tap websocket of the dashboard at url as its
// page does, and returns its messages as they come.
func dialDashboardTap(t *testing.T, url, query string) <-chan dashboardMessage {
	t.Helper()
	origin := strings.TrimSuffix(url, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"api/tap?"+query, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		t.Fatalf("dial the tap: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	msgs := make(chan dashboardMessage, 64)
	go func() {
		defer close(msgs)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var m dashboardMessage
			if json.Unmarshal(b, &m) == nil {
				msgs <- m
			}
		}
	}()
	return msgs
}

// TestVizDashboardTapRealProxy runs `meshctl viz dashboard` with saved
// scrapes for its numbers and a cluster (an API-server stand-in in front
// of a real proxy) for its tap: /api/routes serves the fixture's routes,
// and the tap websocket streams the requests sent through the proxy,
// found with the token of Secret meshctl-tap-token, through the pod proxy.
// Stopping the command ends the open tap.
func TestVizDashboardTapRealProxy(t *testing.T) {
	const token = "s3cret-tap-token"
	inbound, control := startTapTestProxy(t, tapBackend(t), token)
	kubeconfig := tapAPIServer(t, control, token)
	out, errOut, stop := startCommand(t, "viz dashboard --port 0 --kubeconfig "+kubeconfig+routesScrapes())
	url := dashboardURL(t, out, errOut)

	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url + "api/routes?resource=deploy&namespace=demo&name=web")
	if err != nil {
		t.Fatal(err)
	}
	var routes struct {
		Server, Client []viz.RouteJSON
	}
	err = json.NewDecoder(resp.Body).Decode(&routes)
	resp.Body.Close()
	if err != nil || len(routes.Server) != 0 || len(routes.Client) != 4 || routes.Client[1].Route != "GET /books/{id}" || *routes.Client[1].ActualRequests != 60 {
		t.Fatalf("routes: %v, %+v; want web's four called routes, GET /books/{id} with 60 attempts", err, routes)
	}

	msgs := dialDashboardTap(t, url, "resource=po&namespace=shop&name=web-1&path=/api")
	var req *viz.TapEvent
	for deadline := time.Now().Add(10 * time.Second); req == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("no tapped request within 10s; stderr: %s", errOut)
		}
		get(t, "http://"+inbound+"/other", "web.shop") // filtered out: path
		get(t, "http://"+inbound+"/api/books", "web.shop")
		select {
		case m, ok := <-msgs:
			if !ok || m.Kind == "end" {
				t.Fatalf("the tap ended: %+v", m)
			}
			if m.Kind == "event" && m.Event.Type == "req" {
				req = m.Event
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	if req.Path != "/api/books" || req.Authority != "web.shop" || req.Pod != "shop/web-1" || req.SourcePod != "web-1" {
		t.Errorf("request event = %+v", req)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	for timeout := time.After(5 * time.Second); ; {
		select {
		case _, ok := <-msgs:
			if !ok {
				return // the connection is closed
			}
		case <-timeout:
			t.Fatal("the tap stayed open after the dashboard stopped")
		}
	}
}

// TestVizDashboardTapWrongToken: a proxy that refuses the token ends the
// page's tap with the reason; --token-file is where the token came from.
func TestVizDashboardTapWrongToken(t *testing.T) {
	_, control := startTapTestProxy(t, tapBackend(t), "the-real-token")
	kubeconfig := tapAPIServer(t, control, "the-real-token")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("a-stolen-guess\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, stop := startCommand(t, "viz dashboard --port 0 --token-file "+tokenFile+" --kubeconfig "+kubeconfig+routesScrapes())
	msgs := dialDashboardTap(t, dashboardURL(t, out, errOut), "resource=po&namespace=shop&name=web-1")
	var end dashboardMessage
	for m := range msgs {
		if m.Kind == "end" {
			end = m
			break
		}
	}
	if !end.Failed || !strings.Contains(end.Text, "no pod could be tapped") || !strings.Contains(end.Text, "forbidden") {
		t.Errorf("end = %+v, want the proxy's refusal", end)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
}

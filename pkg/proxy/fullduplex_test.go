package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestPOSTEchoNeverCut: an HTTP/1.1 POST whose echo comes back chunked and
// larger than one read buffer arrives whole. The server used to read the
// rest of the request body when the response headers were written, racing
// the upstream transport's last read of it; the transport then closed the
// upstream connection mid-response (cut at 3965 bytes, about one run in a
// hundred under load). The proxy now serves such requests full duplex.
func TestPOSTEchoNeverCut(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || int64(len(b)) != r.ContentLength {
			t.Errorf("backend read %d of %d bytes: %v", len(b), r.ContentLength, err)
		}
		_, _ = w.Write(b)
	}))
	defer backend.Close()
	eps := endpointList{{Addr: netip.MustParseAddrPort(strings.TrimPrefix(backend.URL, "http://"))}}
	ctx, cancel := context.WithCancel(context.Background())
	_, ls, done := startProxyWith(t, ctx, Config{OutboundTarget: "127.0.0.1:1", ShutdownGracePeriod: time.Second}, Deps{Destination: eps}, Listeners{})
	defer func() { cancel(); <-done }()
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 300 {
		body := strings.Repeat("x", i*37)
		resp, err := client.Post("http://"+ls.Outbound.Addr().String()+"/", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(got) != body {
			t.Fatalf("POST %d: %d, %d bytes back of %d (%v)", i, resp.StatusCode, len(got), len(body), err)
		}
	}
}

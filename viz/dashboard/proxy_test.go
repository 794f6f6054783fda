package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tapapi "github.com/meshctl/meshctl/pkg/api/tap"
	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/kube/kubefake"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/testutil/proxytest"
	"github.com/meshctl/meshctl/viz"
)

// hostilePath is a request path whose query would be markup, quotes and a
// bidirectional override if a page took it for HTML or unescaped text. The
// proxy reports the query byte for byte (and the path escaped, so the
// markup is in the query).
const hostilePath = "/api/books?q=<b>x</b><img/src=x/onerror=alert(1)>\"\u202eevil\"\\"

// tapProxy is a real meshctl proxy with tap enabled, in explicit-target
// mode in front of a backend that answers "hello" (503 under /fail).
type tapProxy struct {
	inbound, control string
}

// startTapProxy runs the proxy on loopback ports until the test ends.
func startTapProxy(t *testing.T, token string) tapProxy {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(backend.Close)
	ls := proxytest.Start(t, proxy.Config{
		InboundTarget:  strings.TrimPrefix(backend.URL, "http://"),
		TapTokenSHA256: proxytest.TapTokenSHA256(token),
	}, proxy.Deps{})
	return tapProxy{inbound: ls.Inbound.Addr().String(), control: ls.Control.Addr().String()}
}

// get sends a request through the proxy's inbound side with a raw request
// line, so that the path reaches it byte for byte (Go's client would
// escape it).
func (p tapProxy) get(t *testing.T, path, host string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.inbound, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host)
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatal(err)
	}
}

// tapper returns the real viz.Tapper over a fake cluster that has one
// meshed pod, demo/web-1 of deployment/web, at 127.0.0.1: it opens the
// stream straight to the proxy's control port, as the API server's pod
// proxy would, with the token.
func (p tapProxy) tapper(t *testing.T, token string) *viz.Tapper {
	t.Helper()
	ff, err := kubefake.NewFakeFactory(
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"demo","uid":"d1"}}`,
		`{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-7d9f","namespace":"demo","uid":"r1",
		  "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"d1","controller":true}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"demo","labels":{"app":"web"},
		  "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f","uid":"r1","controller":true}]},
		 "spec":{"initContainers":[{"name":"meshctl-proxy","image":"meshctl","restartPolicy":"Always"}],"containers":[{"name":"app","image":"app"}]},
		 "status":{"phase":"Running","podIP":"127.0.0.1"}}`,
	)
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context, _ kube.Clientset, _ viz.Pod, token string, body []byte) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.control+tapapi.Path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set(tapapi.HeaderToken, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("tap server: %s", resp.Status)
		}
		return resp.Body, nil
	}
	return &viz.Tapper{Kube: ff.Clientset, Token: token, Open: open}
}

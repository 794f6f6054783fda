package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		ok             bool
	}{
		{"GET", "/", true},
		{"GET", "/a?b=c", true},
		{"GET", "http://web.shop:8080/a", true},
		{"GET", "https://web.shop/a", true},
		{"OPTIONS", "*", true},
		{"CONNECT", "web.shop:443", true},
		{"GET", "a:0", false},
		{"GET", "mailto:x@y", false},
		{"GET", "ftp://web.shop/a", false},
		{"GET", "http:/a", false},
		{"GET", "*", false},
		{"GET", `http://"x/`, false},
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.method + " " + tc.target + " HTTP/1.1\r\nHost: web.shop\r\n\r\n")))
		if err != nil {
			if tc.ok {
				t.Errorf("%s %s: %v", tc.method, tc.target, err)
			}
			continue
		}
		if err := checkTarget(r); (err == nil) != tc.ok {
			t.Errorf("%s %s: checkTarget = %v, want ok %v", tc.method, tc.target, err, tc.ok)
		}
	}
	// Over HTTP/2 the target is :path: a path, or * for OPTIONS, only.
	for _, tc := range []struct {
		method, path string
		ok           bool
	}{
		{"GET", "/a", true},
		{"OPTIONS", "*", true},
		{"GET", "http://web.shop/a", false},
		{"GET", "a:/admin", false},
	} {
		r := &http.Request{Method: tc.method, RequestURI: tc.path, ProtoMajor: 2}
		if err := checkTarget(r); (err == nil) != tc.ok {
			t.Errorf("HTTP/2 %s %s: checkTarget = %v, want ok %v", tc.method, tc.path, err, tc.ok)
		}
	}
}

// TestUnforwardableTargetIsBadRequest: a target that is not a path or an
// http(s) URI is the client's error (400 bad_request), not an upstream the
// proxy could not reach (502), and reaches nothing.
func TestUnforwardableTargetIsBadRequest(t *testing.T) {
	up := startRawUpstream(t, keepAlive(func(*http.Request) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" }))
	ctx, cancel := context.WithCancel(context.Background())
	_, ls, done := startProxyWith(t, ctx, Config{InboundTarget: up.addr}, Deps{}, Listeners{})
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", ls.Inbound.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET a:0 HTTP/1.1\r\nHost: web.shop\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("meshctl-proxy-error") != "bad_request" {
		t.Errorf("got %d %q, want 400 bad_request", resp.StatusCode, resp.Header.Get("meshctl-proxy-error"))
	}
	if n := up.conns.Load(); n != 0 {
		t.Errorf("the upstream saw %d connections", n)
	}
}

func TestDropBadTrailerNames(t *testing.T) {
	r := &http.Request{Trailer: http.Header{"X-Sum": nil, `0000"`: nil, "A b": nil, "X-Other": nil}}
	dropBadTrailerNames(r)
	if len(r.Trailer) != 2 || r.Trailer["X-Sum"] != nil || r.Trailer["X-Other"] != nil {
		t.Errorf("trailers %v, want X-Sum and X-Other", r.Trailer)
	}
	if _, ok := r.Trailer["X-Sum"]; !ok {
		t.Errorf("trailers %v lost X-Sum", r.Trailer)
	}
}

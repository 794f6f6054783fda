package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// TestWriteRequestHeadMatchesRequestWrite: for every bodiless request the
// HTTP/1 client sends, writeRequestHead writes what http.Request.Write
// writes, byte for byte, and fails where it fails.
func TestWriteRequestHeadMatchesRequestWrite(t *testing.T) {
	req := func(method, rawURL string, h http.Header, edit func(*http.Request)) *http.Request {
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			h = http.Header{}
		}
		r := &http.Request{Method: method, URL: u, Header: h, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: u.Host}
		if edit != nil {
			edit(r)
		}
		return r
	}
	many := http.Header{}
	for i := range 40 {
		many.Set(fmt.Sprintf("X-Field-%02d", 40-i), fmt.Sprint(i))
	}
	cases := []struct {
		name string
		r    *http.Request
	}{
		{"get", req("GET", "http://10.0.0.1:8080/a/b?x=1&y=2", http.Header{"Accept": {"*/*"}, "X-B": {"2", "3"}, "X-A": {"1"}}, nil)},
		{"head", req("HEAD", "http://svc.ns:80/", nil, nil)},
		{"options", req("OPTIONS", "http://svc.ns:80/x", nil, nil)},
		{"trace", req("TRACE", "http://svc.ns:80/x", nil, nil)},
		{"empty method is GET", req("", "http://svc.ns:80/x", nil, nil)},
		{"no user agent field: Go's", req("GET", "http://h/", nil, nil)},
		{"empty user agent: none", req("GET", "http://h/", http.Header{"User-Agent": {""}}, nil)},
		{"user agent cleaned", req("GET", "http://h/", http.Header{"User-Agent": {"  curl/8\r\n x \t"}}, nil)},
		{"user agent field without values", req("GET", "http://h/", http.Header{"User-Agent": {}}, nil)},
		{"close", req("GET", "http://h/", nil, func(r *http.Request) { r.Close = true })},
		{"close already said", req("GET", "http://h/", http.Header{"Connection": {"keep-alive, Close"}}, func(r *http.Request) { r.Close = true })},
		{"close said with a space", req("GET", "http://h/", http.Header{"Connection": {"upgrade close"}}, func(r *http.Request) { r.Close = true })},
		{"close not a token", req("GET", "http://h/", http.Header{"Connection": {"keep-aliveclose"}}, func(r *http.Request) { r.Close = true })},
		{"close in a second value only", req("GET", "http://h/", http.Header{"Connection": {"keep-alive", "close"}}, func(r *http.Request) { r.Close = true })},
		{"host from the URL", req("GET", "http://from-url:81/", nil, func(r *http.Request) { r.Host = "" })},
		{"host overrides the URL", req("GET", "http://10.0.0.1:80/", nil, func(r *http.Request) { r.Host = "web.example:80" })},
		{"idn host punycoded", req("GET", "http://h/", nil, func(r *http.Request) { r.Host = "bücher.example:80" })},
		{"ipv6 zone removed", req("GET", "http://h/", nil, func(r *http.Request) { r.Host = "[fe80::1%en0]:8080" })},
		{"invalid host dropped", req("GET", "http://h/", nil, func(r *http.Request) { r.Host = "bad host" })},
		{"excluded fields", req("GET", "http://h/", http.Header{"Host": {"evil"}, "Content-Length": {"5"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"}, "X-Ok": {"1"}}, nil)},
		{"line breaks in values", req("GET", "http://h/", http.Header{"X-A": {"a\r\nb", "\nc\r", " d "}}, nil)},
		{"escaped path and query", req("GET", "http://h/a%2Fb/c%20d?q=%41&r", nil, nil)},
		{"opaque", req("GET", "http://h/", nil, func(r *http.Request) { r.URL.Opaque = "//h/opaque/path" })},
		{"control byte in the target", req("GET", "http://h/", nil, func(r *http.Request) { r.URL.Opaque = "/a\x01b" })},
		{"length without a body", req("GET", "http://h/", nil, func(r *http.Request) { r.ContentLength = 5 })},
		{"no body", req("GET", "http://h/", nil, func(r *http.Request) { r.Body = http.NoBody })},
		{"options, no body", req("OPTIONS", "http://h/", nil, func(r *http.Request) { r.Body = http.NoBody })},
		{"forty fields", req("GET", "http://h/", many, nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			wantErr := tc.r.Write(&want)
			bw := bufio.NewWriter(&got)
			gotErr := writeRequestHead(bw, tc.r)
			_ = bw.Flush()
			if (wantErr != nil) != (gotErr != nil) {
				t.Fatalf("error %v, Request.Write's %v", gotErr, wantErr)
			}
			if wantErr != nil {
				if gotErr.Error() != wantErr.Error() {
					t.Errorf("error %q, Request.Write's %q", gotErr, wantErr)
				}
				return
			}
			if got.String() != want.String() {
				t.Errorf("wrote\n%q\nRequest.Write wrote\n%q", got.String(), want.String())
			}
		})
	}
}

// FuzzWriteRequestHead: whatever the method, target, host and fields,
// writeRequestHead writes what http.Request.Write writes, or fails as it
// does. The head is what the proxy puts on an upstream connection, so a
// difference could be a header injection.
func FuzzWriteRequestHead(f *testing.F) {
	f.Add("GET", "/a/b?x=1", "svc.ns:80", "Accept", "*/*", "X-B", "2", false)
	f.Add("HEAD", "//h/opaque", "", "User-Agent", "  curl\r\n x", "Connection", "keep-alive, Close", true)
	f.Add("", "/a%2Fb", "[fe80::1%en0]:8080", "Host", "evil", "Transfer-Encoding", "chunked", false)
	f.Add("OPTIONS", "*", "bücher.example", "X-A", "a\r\nb", "bad name", "v", true)
	f.Add("TRACE", "/\x01", "bad host", "Content-Length", "5", "X:Y", "\x00", false)
	f.Fuzz(func(t *testing.T, method, target, host, k1, v1, k2, v2 string, closeConn bool) {
		u := &url.URL{Scheme: "http", Host: "10.0.0.1:8080", Opaque: target}
		r := &http.Request{Method: method, URL: u, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: host, Close: closeConn}
		r.Header[k1] = append(r.Header[k1], v1)
		r.Header[k2] = append(r.Header[k2], v2)
		var want, got bytes.Buffer
		wantErr := r.Write(&want)
		bw := bufio.NewWriter(&got)
		gotErr := writeRequestHead(bw, r)
		_ = bw.Flush()
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("error %v, Request.Write's %v", gotErr, wantErr)
		}
		if wantErr != nil {
			return
		}
		if got.String() != want.String() {
			t.Fatalf("wrote\n%q\nRequest.Write wrote\n%q", got.String(), want.String())
		}
	})
}

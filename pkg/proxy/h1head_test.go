package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// responseHeads are response heads (and what follows them) in and out of
// the simple form, for the table test and as fuzz seeds.
var responseHeads = []struct {
	name, method, in string
	simple           bool
}{
	{"plain", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", true},
	{"no reason", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", true},
	{"odd reason", "GET", "HTTP/1.1 404 Not  Found \x01\r\nContent-Length: 2\r\n\r\nno", true},
	{"names canonicalised", "GET", "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nx-a-b: 1\r\nX-A-B: 2\r\n\r\nx", true},
	{"values trimmed", "GET", "HTTP/1.1 200 OK\r\nContent-Length:\t 1 \t\r\nX-Y:  a b  \r\nX-Empty:\r\n\r\nx", true},
	{"obs-text value", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: caf\xc3\xa9\r\n\r\nx", true},
	{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx", true},
	{"head with length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true},
	{"head without length", "HEAD", "HTTP/1.1 200 OK\r\n\r\n", true},
	{"no content", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", true},
	{"not modified", "GET", "HTTP/1.1 304 Not Modified\r\n\r\n", true},
	{"next response after", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n", true},
	{"trailer declared, not chunked", "GET", "HTTP/1.1 200 OK\r\nTrailer: X\r\nContent-Length: 1\r\n\r\nx", true},
	{"short body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},

	{"http/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
	{"informational", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false},
	{"close-delimited", "GET", "HTTP/1.1 200 OK\r\n\r\nuntil the end", false},
	{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false},
	{"two lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false},
	{"bad length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx", false},
	{"empty length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", false},
	{"obs-fold", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\r\n b\r\n\r\nx", false},
	{"bare LF", "GET", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", false},
	{"bare LF in the status line", "GET", "HTTP/1.1 200 OK\nX: y\r\nContent-Length: 1\r\n\r\nx", false},
	{"bare LF in a field line", "GET", "HTTP/1.1 200 OK\r\nX: a\nY: b\r\nContent-Length: 1\r\n\r\nx", false},
	{"obs-fold with a tab", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\r\n\tb\r\n\r\nx", false},
	{"space before colon", "GET", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", false},
	{"control in value", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: a\x7fb\r\n\r\nx", false},
	{"pragma", "GET", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 1\r\n\r\nx", false},
	{"two-digit status", "GET", "HTTP/1.1 20 OK\r\nContent-Length: 1\r\n\r\nx", false},
	{"leading space status", "GET", "HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\nx", false},
	{"incomplete head", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", false},
}

func TestReadSimpleResponse(t *testing.T) {
	for _, tc := range responseHeads {
		t.Run(tc.name, func(t *testing.T) {
			got := checkSimpleResponse(t, tc.method, []byte(tc.in))
			if got != tc.simple {
				t.Errorf("parsed here: %v, want %v", got, tc.simple)
			}
		})
	}
}

func FuzzSimpleResponse(f *testing.F) {
	for _, tc := range responseHeads {
		f.Add(tc.method == http.MethodHead, []byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, head bool, in []byte) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		checkSimpleResponse(t, method, in)
	})
}

// checkSimpleResponse parses in as the response to a method request with
// readSimpleResponse and with http.ReadResponse, and fails unless they
// agree: the same response, the same body and error, the same bytes left.
// When readSimpleResponse declines, the reader must be as it was. It
// reports whether readSimpleResponse took the head.
func checkSimpleResponse(t *testing.T, method string, in []byte) bool {
	t.Helper()
	req, err := http.NewRequest(method, "http://upstream.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	got := readSimpleResponse(br, req)
	if got == nil {
		requireUnread(t, br, in)
		return false
	}
	wbr := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	want, err := http.ReadResponse(wbr, req)
	if err != nil {
		t.Fatalf("parsed here, but net/http refuses it: %v\n%q", err, in)
	}
	gotBody, gotErr := io.ReadAll(got.Body)
	wantBody, wantErr := io.ReadAll(want.Body)
	if !bytes.Equal(gotBody, wantBody) || !sameError(gotErr, wantErr) {
		t.Errorf("body %q (%v), net/http %q (%v)", gotBody, gotErr, wantBody, wantErr)
	}
	checkSameRest(t, "the response", br, wbr)
	got.Body, want.Body = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("response differs from net/http's:\n got %+v\nwant %+v", got, want)
	}
	return true
}

func TestReadSimpleResponseLeavesTheRest(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\nrest"
	br := bufio.NewReader(strings.NewReader(in))
	for _, want := range []string{"abc", ""} {
		resp := readSimpleResponse(br, nil)
		if resp == nil {
			t.Fatalf("declined %q", in)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != want {
			t.Fatalf("body %q, %v; want %q", body, err, want)
		}
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "rest" {
		t.Fatalf("left %q, want %q", rest, "rest")
	}
}

// sameError reports whether a and b are both nil or say the same.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return errors.Is(a, b) || a.Error() == b.Error()
}

// requestHeads are request heads in and out of the simple form; all pass
// the loop's own check (fastPathHead) unless noted.
var requestHeads = []struct {
	name, in string
	simple   bool
}{
	{"plain", "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n", true},
	{"escaped path", "GET /a%20b/%2F?x=%zz HTTP/1.1\r\nHost: h:8080\r\n\r\n", true},
	{"names canonicalised", "OPTIONS / HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 1\r\nX-Forwarded-For: 2\r\n\r\n", true},
	{"zero length", "DELETE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", true},
	{"connection close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", true},
	{"odd method", "M-SEARCH * HTTP/1.1\r\nHost: h\r\n\r\n", false}, // not origin form: net/http serves it
	{"custom method", "PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n", true},
	{"values trimmed", "GET / HTTP/1.1\r\nHost:  h \t\r\nX:\r\n\r\n", true},

	{"body", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", false},
	{"pragma", "GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n", false},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", false},
	{"control in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", false},
	{"bad target", "GET /%zz\x7f HTTP/1.1\r\nHost: h\r\n\r\n", false},
	{"bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", false},
}

func TestReadSimpleRequest(t *testing.T) {
	for _, tc := range requestHeads {
		t.Run(tc.name, func(t *testing.T) {
			got := checkSimpleRequest(t, []byte(tc.in))
			if got != tc.simple {
				t.Errorf("parsed here: %v, want %v", got, tc.simple)
			}
		})
	}
}

func FuzzSimpleRequest(f *testing.F) {
	for _, tc := range requestHeads {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSimpleRequest(t, in)
	})
}

// checkSimpleRequest parses the request in in with readSimpleRequest, when
// the loop would (fastPathHead), and with http.ReadRequest, and fails
// unless they agree; when readSimpleRequest declines, the reader must be
// as it was. It reports whether readSimpleRequest took the head.
func checkSimpleRequest(t *testing.T, in []byte) bool {
	t.Helper()
	i := bytes.Index(in, []byte(headEnd))
	if i < 0 || !fastPathHead(in[:i+len(headEnd)]) {
		return false
	}
	n := i + len(headEnd)
	br := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	if _, err := br.Peek(min(n, br.Size())); err != nil || n > br.Size() {
		return false
	}
	got := readSimpleRequest(br, n)
	if got == nil {
		requireUnread(t, br, in)
		return false
	}
	wbr := bufio.NewReaderSize(bytes.NewReader(in), 4096)
	want, err := http.ReadRequest(wbr)
	if err != nil {
		t.Fatalf("parsed here, but net/http refuses it: %v\n%q", err, in)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request differs from net/http's:\n got %+v\nwant %+v", got, want)
	}
	checkSameRest(t, "the head", br, wbr)
	return true
}

// requireUnread fails unless br still holds all of in: a parser that
// declines a head must leave it to net/http's.
func requireUnread(t *testing.T, br *bufio.Reader, in []byte) {
	t.Helper()
	rest, _ := io.ReadAll(br)
	if !bytes.Equal(rest, in) {
		t.Fatalf("declined, but the reader moved: %q left of %q", rest, in)
	}
}

// checkSameRest fails unless the bytes left in got after what (a head, a
// response) are those net/http's parser left in want.
func checkSameRest(t *testing.T, what string, got, want *bufio.Reader) {
	t.Helper()
	gotRest, _ := io.ReadAll(got)
	wantRest, _ := io.ReadAll(want)
	if !bytes.Equal(gotRest, wantRest) {
		t.Errorf("left %q after %s, net/http %q", gotRest, what, wantRest)
	}
}

package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

// A request head as a browser behind an API gateway sends it, and its
// upstream's answer.
const (
	benchRequestHead = "GET /api/v1/items?page=2 HTTP/1.1\r\n" +
		"Host: web.default.svc.cluster.local\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n" +
		"Accept: application/json\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-GB,en;q=0.9\r\n" +
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo\r\n" +
		"Connection: keep-alive\r\n" +
		"X-Request-Id: 7f1c2a9e-3b7d-4c61-9a0e-2f6f3d9b8c11\r\n\r\n"
	benchResponseHead = "HTTP/1.1 200 OK\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: 1024\r\n" +
		"Date: Sat, 28 Nov 2026 04:00:00 GMT\r\n" +
		"Cache-Control: no-store\r\n" +
		"Vary: Accept-Encoding\r\n\r\n"
)

// BenchmarkHeaderHandling measures the proxy's own work on HTTP/1.1 heads:
// parsing a request head, dropping the hop-by-hop fields, writing the head
// upstream, and parsing the response head.
func BenchmarkHeaderHandling(b *testing.B) {
	in := []byte(benchRequestHead)
	parse := func() *http.Request { return readSimpleRequest(bufferedHeads(in)(), len(in)) }
	if parse() == nil {
		b.Fatal("the request head is not on the fast path")
	}
	b.Run("request-read", func(b *testing.B) {
		buffered := bufferedHeads(in)
		b.ReportAllocs()
		for b.Loop() {
			if readSimpleRequest(buffered(), len(in)) == nil {
				b.Fatal("declined")
			}
		}
	})
	b.Run("hop-by-hop", func(b *testing.B) {
		req := parse()
		b.ReportAllocs()
		for b.Loop() {
			h := req.Header.Clone()
			removeHopByHop(h)
		}
	})
	b.Run("request-write", func(b *testing.B) {
		req := parse()
		removeHopByHop(req.Header)
		bw := bufio.NewWriterSize(io.Discard, 4096)
		b.ReportAllocs()
		for b.Loop() {
			if err := writeRequestHead(bw, req); err != nil {
				b.Fatal(err)
			}
			_ = bw.Flush()
		}
	})
	b.Run("response-read", func(b *testing.B) {
		buffered := bufferedHeads([]byte(benchResponseHead))
		req := parse()
		b.ReportAllocs()
		for b.Loop() {
			if readSimpleResponse(buffered(), req) == nil {
				b.Fatal("declined")
			}
		}
	})
}

// bufferedHeads returns a function that gives a reader with head buffered
// at its front, as a connection's reader has it, each time reusing the
// same reader and buffer.
func bufferedHeads(head []byte) func() *bufio.Reader {
	br := bufio.NewReaderSize(nil, 4096)
	r := bytes.NewReader(head)
	return func() *bufio.Reader {
		r.Reset(head)
		br.Reset(r)
		_, _ = br.Peek(len(head))
		return br
	}
}

package proxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Protocol
		done bool
	}{
		{"empty", "", ProtocolOpaque, false},
		{"h2 preface prefix", "PRI * HTTP/2", ProtocolOpaque, false},
		{"h2 preface", http2Preface, ProtocolHTTP2, true},
		{"h2 preface and settings frame", http2Preface + "\x00\x00\x12\x04\x00", ProtocolHTTP2, true},
		{"http/1.1 request line", "GET / HTTP/1.1\r\nHost: x\r\n", ProtocolHTTP1, true},
		{"http/1.0 bare LF", "POST /x HTTP/1.0\n", ProtocolHTTP1, true},
		{"partial method", "GE", ProtocolOpaque, false},
		{"partial line", "GET /very/long/path", ProtocolOpaque, false},
		{"binary", "\x16\x03\x01\x02\x00", ProtocolOpaque, true},
		{"lower case", "get / HTTP/1.1\r\n", ProtocolOpaque, true},
		{"redis inline", "PING\r\n", ProtocolOpaque, true},
		{"http/2 over h1 line", "GET / HTTP/2.0\r\n", ProtocolOpaque, true},
		{"no space after method", "GET/ HTTP/1.1\r\n", ProtocolOpaque, true},
		{"absurd method", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", ProtocolOpaque, true},
		// Found by FuzzClassify: 21 letters alone were decided opaque while
		// the same bytes with " HTTP/1.0" in the same read gave HTTP/1.
		{"absurd method and a request line", "AAAAAAAAAAAAAAAAAAAAA / HTTP/1.0\n", ProtocolOpaque, true},
		{"longest method taken", "AAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n", ProtocolHTTP1, true},
		{"twenty letters, more to come", "AAAAAAAAAAAAAAAAAAAA", ProtocolOpaque, false},
		{"WebDAV method with a hyphen", "VERSION-CONTROL /doc HTTP/1.1\r\n", ProtocolHTTP1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done := classify([]byte(tt.in))
			if got != tt.want || done != tt.done {
				t.Fatalf("classify(%q) = %v, %v; want %v, %v", tt.in, got, done, tt.want, tt.done)
			}
		})
	}
}

func TestDetectTimesOutToOpaque(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	start := time.Now()
	p, err := detect(a, bufio.NewReaderSize(a, maxRequestLine), 50*time.Millisecond)
	if err != nil || p != ProtocolOpaque {
		t.Fatalf("detect on a silent client = %v, %v", p, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("detect took %v", d)
	}
}

// FuzzClassify checks that classification never panics and is stable: once
// decided, more bytes never change the answer.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{http2Preface, "GET / HTTP/1.1\r\n", "PING\r\n", "\x00", "PRI * HTTP/2.0\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i <= len(b); i++ {
			p, done := classify(b[:i])
			if !done {
				continue
			}
			if q, _ := classify(b); q != p {
				t.Fatalf("classify(%q) decided %v, but the longer %q gives %v", b[:i], p, b, q)
			}
			return
		}
	})
}

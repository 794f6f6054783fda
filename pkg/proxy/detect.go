package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"time"
)

// Protocol is the result of protocol detection.
type Protocol int

// Detected protocols.
const (
	ProtocolOpaque Protocol = iota
	ProtocolHTTP1
	ProtocolHTTP2
)

func (p Protocol) String() string {
	switch p {
	case ProtocolHTTP1:
		return "http/1"
	case ProtocolHTTP2:
		return "h2"
	default:
		return "opaque"
	}
}

// http2Preface is the client connection preface of RFC 9113 section 3.4.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// maxMethod is the longest method detection takes for HTTP/1 (the
// longest registered one, UPDATEREDIRECTREF, has 17 letters).
const maxMethod = 20

// maxRequestLine is how much of a connection detection reads looking for an
// HTTP/1 request line; longer lines are treated as opaque, as Linkerd does.
const maxRequestLine = 8 << 10

// detect reads from br until the protocol is known, the client goes silent
// for timeout, or maxRequestLine bytes have arrived. It never consumes
// bytes: callers read them back from br.
func detect(conn net.Conn, br *bufio.Reader, timeout time.Duration) (Protocol, error) {
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return ProtocolOpaque, err
	}
	defer conn.SetReadDeadline(time.Time{}) //nolint:errcheck // best effort reset
	n := 1
	for {
		_, err := br.Peek(n)
		// Classify everything received so far, not just the n bytes asked
		// for: a whole request line usually arrives in the first read.
		buf, _ := br.Peek(br.Buffered())
		if p, done := classify(buf); done {
			return p, nil
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return ProtocolOpaque, nil // a silent client: proxy the bytes as they come
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return ProtocolOpaque, nil
			}
			return ProtocolOpaque, err
		}
		n = br.Buffered() + 1
		if n > maxRequestLine {
			return ProtocolOpaque, nil
		}
	}
}

// classify decides on a prefix of a connection's first bytes: done is false
// while more bytes could change the answer.
func classify(b []byte) (p Protocol, done bool) {
	if len(b) == 0 {
		return ProtocolOpaque, false
	}
	if bytes.HasPrefix(b, []byte(http2Preface)) {
		return ProtocolHTTP2, true
	}
	if len(b) < len(http2Preface) && bytes.HasPrefix([]byte(http2Preface), b) {
		return ProtocolOpaque, false // a prefix of the preface so far
	}
	// An HTTP/1 request line is METHOD SP request-target SP HTTP/1.x CRLF
	// (RFC 9112 section 3). Methods are tokens; in practice upper-case
	// letters, and hyphens in WebDAV's (VERSION-CONTROL).
	i := 0
	for i < len(b) && (b[i] >= 'A' && b[i] <= 'Z' || b[i] == '-') {
		i++
		// Decided on the method alone, so that the answer does not depend
		// on whether the space after it came in the same read.
		if i > maxMethod {
			return ProtocolOpaque, true // a method that long is not HTTP
		}
	}
	if i == len(b) {
		return ProtocolOpaque, false
	}
	if i == 0 || b[i] != ' ' {
		return ProtocolOpaque, true
	}
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		return ProtocolOpaque, false
	}
	line := bytes.TrimSuffix(b[:eol], []byte("\r"))
	if bytes.HasSuffix(line, []byte(" HTTP/1.1")) || bytes.HasSuffix(line, []byte(" HTTP/1.0")) {
		return ProtocolHTTP1, true
	}
	return ProtocolOpaque, true
}

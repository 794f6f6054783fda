package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A refused request whose body is still arriving gets its 400, then end of
// stream: the proxy closes such a connection without the reset that unread
// bytes would otherwise send, which can overtake the response.
func TestRefusalSurvivesUnreadRequestBytes(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, ls, done := startProxy(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: "127.0.0.1:1"})
	defer func() { cancel(); <-done }()
	for i := range 5 {
		c, err := net.Dial("tcp", ls.Outbound.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		// Both Content-Length and Transfer-Encoding: refused with 400
		// and closed as soon as the head is read; the rest of the body
		// is still being sent.
		head := "POST / HTTP/1.1\r\nHost: app\r\nContent-Length: 300000\r\nTransfer-Encoding: chunked\r\n\r\n"
		go func() { _, _ = io.WriteString(c, head+strings.Repeat("x", 200_000)) }()
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.Close()
			t.Fatalf("attempt %d: no response: %v", i, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		if err == nil {
			_, err = br.ReadByte()
		}
		c.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("attempt %d: status %d, want 400", i, resp.StatusCode)
		}
		if errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("attempt %d: the connection was reset after the 400: %v", i, err)
		}
		if err != io.EOF {
			t.Fatalf("attempt %d: after the 400: %v, want end of stream", i, err)
		}
	}
}

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

	"github.com/prometheus/client_golang/prometheus"
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

// lingerPair returns a server-side meteredConn with the given lingering
// slots, the client end, and a channel closed when the server side has
// really closed.
func lingerPair(t *testing.T, slots chan struct{}) (*meteredConn, net.Conn, chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	info := &connInfo{direction: Inbound}
	m := newMetrics(prometheus.NewRegistry(), 16)
	mc := newMeteredConn(withRawIO(server), nil, m.openConn(info.labelValues(), "src"), info)
	mc.lingerSlots = slots
	closed := make(chan struct{})
	mc.onClose = func() { close(closed) }
	return mc, client, closed
}

func TestLingerCloseHalfClosesThenDrains(t *testing.T) {
	mc, client, closed := lingerPair(t, make(chan struct{}, 1))
	if _, err := io.WriteString(client, "late bytes the server never read"); err != nil {
		t.Fatal(err)
	}
	if err := mc.Close(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	// Closed at once, the server's unread bytes would have made it a
	// reset (ECONNRESET here).
	if n, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read %d bytes, %v: want end of stream (the server's FIN)", n, err)
	}
	// More late bytes are taken, not answered with a reset.
	if _, err := io.WriteString(client, "more"); err != nil {
		t.Fatalf("write after the server's half-close: %v", err)
	}
	client.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server side did not close after the client did")
	}
	if len(mc.lingerSlots) != 0 {
		t.Errorf("%d lingering slots still taken", len(mc.lingerSlots))
	}
}

func TestLingerCloseWithoutAFreeSlotClosesAtOnce(t *testing.T) {
	slots := make(chan struct{}, 1)
	slots <- struct{}{} // another connection lingers
	mc, _, closed := lingerPair(t, slots)
	if err := mc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	default:
		t.Fatal("not closed at once with every lingering slot taken")
	}
}

func TestLingerCloseGivesUpAfterTheTimeout(t *testing.T) {
	mc, client, closed := lingerPair(t, make(chan struct{}, 1))
	if _, err := io.WriteString(client, "x"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = mc.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("a client that never closes kept the connection past the linger timeout")
	}
	if waited := time.Since(start); waited < lingerTimeout/2 {
		t.Errorf("closed after %s, before the client closed or the linger timeout", waited)
	}
}

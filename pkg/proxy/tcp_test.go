package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// TestOpaqueHalfClose sends bytes through an opaque port, half-closes, and
// expects the server's answer to arrive after the server saw EOF: the FIN is
// forwarded in each direction.
func TestOpaqueHalfClose(t *testing.T) {
	ln := listenLoopback(t)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		got, _ := io.ReadAll(c) // until the client's FIN
		_, _ = c.Write(append([]byte("got:"), got...))
	}()
	port, _ := strconv.Atoi(ln.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1:"):])
	p := newPair(t, ln.Addr().String(), func(c *Config) {
		c.OpaquePorts = PortSet{uint16(port): {}}
	})
	_ = p
	// The pair's server proxy forwards to ln; the port is opaque on the
	// server side only (the client side's target is the server proxy).
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("\x00\x01binary")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reply, []byte("got:\x00\x01binary")) {
		t.Fatalf("reply %q", reply)
	}
}

// TestServerSpeaksFirst: on an opaque port the proxy connects at once, so a
// server greeting (MySQL, SMTP) reaches a client that says nothing.
func TestServerSpeaksFirst(t *testing.T) {
	ln := listenLoopback(t)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("220 hello\r\n"))
		time.Sleep(100 * time.Millisecond)
	}()
	p := newPair(t, ln.Addr().String(), func(c *Config) {
		c.OpaquePorts = PortSet{}
		for i := 1; i < 65536; i++ {
			c.OpaquePorts[uint16(i)] = struct{}{}
		}
	})
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 11)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "220 hello\r\n" {
		t.Fatalf("greeting %q, %v", buf, err)
	}
}

// TestSilentClientFallsBackToOpaque: on a detected port a client that says
// nothing is proxied as TCP once the detect timeout passes.
func TestSilentClientFallsBackToOpaque(t *testing.T) {
	ln := listenLoopback(t)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("banner\n"))
		time.Sleep(100 * time.Millisecond)
	}()
	p := newPair(t, ln.Addr().String(), func(c *Config) {
		c.OpaquePorts = PortSet{}
		c.DetectTimeout = 100 * time.Millisecond
	})
	c, err := net.Dial("tcp", p.outbound)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 7)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "banner\n" {
		t.Fatalf("banner %q, %v", buf, err)
	}
}

// TestLoopRefused: a target that is the proxy's own listener is dropped
// instead of recursing until file descriptors run out.
func TestLoopRefused(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The outbound target is the proxy's own outbound listener.
	out := listenLoopback(t)
	_, _, done := startProxyWith(t, ctx, Config{InboundTarget: "127.0.0.1:1", OutboundTarget: out.Addr().String()}, Deps{}, Listeners{Outbound: out})
	c, err := net.Dial("tcp", out.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("looping connection was served (%d bytes, %v)", n, err)
	}
	cancel()
	<-done
}

// TestInboundDialsLoopback: without an explicit target, inbound connections
// go to the application on loopback at their original port, never back to
// the pod address (which the redirect rules would send to the proxy again).
func TestInboundDialsLoopback(t *testing.T) {
	app := listenLoopback(t)
	defer app.Close()
	go func() {
		c, err := app.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("app"))
		c.Close()
	}()
	port := app.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The original destination claims a pod address; the app listens on loopback only.
	podAddr := netip.MustParseAddrPort("10.244.0.9:" + strconv.Itoa(port))
	deps := Deps{OriginalDst: func(net.Conn) (netip.AddrPort, error) { return podAddr, nil }}
	_, ls, done := startProxyWith(t, ctx, Config{OpaquePorts: PortSet{uint16(port): {}}}, deps, Listeners{})
	c, err := net.Dial("tcp", ls.Inbound.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != "app" {
		t.Fatalf("got %q, want the loopback application's greeting", got)
	}
	c.Close() // else shutdown waits its grace period for this half-open splice
	cancel()
	<-done
}

// TestOpaqueHintSkipsDetection: a server that speaks first (MySQL, SMTP)
// behind endpoints the destination hints opaque greets the client at
// once; without the hint the proxy would wait for the client's first
// bytes until the detect timeout.
func TestOpaqueHintSkipsDetection(t *testing.T) {
	ln := listenLoopback(t)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("220 greetings\r\n"))
			_ = c.Close()
		}
	}()
	backend := netip.MustParseAddrPort(ln.Addr().String())
	for _, tc := range []struct {
		name     string
		protocol EndpointProtocol
		greeted  bool
	}{
		{"hinted opaque", EndpointOpaque, true},
		{"no hint", EndpointDetect, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ls := startOutbound(t, Config{OutboundTarget: "127.0.0.1:1", DetectTimeout: 20 * time.Second},
				Deps{Destination: endpointList{{Addr: backend, Protocol: tc.protocol}}})
			c, err := net.Dial("tcp", ls.Outbound.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Far below the detect timeout: only a skipped detection greets.
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if greeted := err == nil && line == "220 greetings\r\n"; greeted != tc.greeted {
				t.Errorf("greeted %v (%q, %v), want %v", greeted, line, err, tc.greeted)
			}
		})
	}
}

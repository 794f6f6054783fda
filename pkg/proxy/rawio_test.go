package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// rawPair returns a raw-I/O client connection and the server's end.
func rawPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln := listenLoopback(t)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rc := withRawIO(c)
	if _, ok := rc.(*rawTCPConn); !ok {
		t.Fatalf("withRawIO(%T) = %T", c, rc)
	}
	peer := <-accepted
	t.Cleanup(func() { rc.Close(); peer.Close() })
	return rc, peer
}

func TestRawIOTransfersAndEnds(t *testing.T) {
	rc, peer := rawPair(t)
	// 8 MiB: far more than the socket buffers, so the write waits for the
	// reader (EAGAIN, then the poller) many times.
	want := bytes.Repeat([]byte("0123456789abcdef"), 512<<10)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	n, err := rc.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("write: %d, %v", n, err)
	}
	_ = rc.(*rawTCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer read %d bytes, want %d", len(b), len(want))
	}
	if _, err := peer.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	_ = peer.Close()
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "reply" {
		t.Fatalf("read %q, %v; want the reply, then EOF", b, err)
	}
}

func TestRawIOErrors(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		rc, _ := rawPair(t)
		_ = rc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := rc.Read(make([]byte, 10))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v, want a timeout", err)
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "read" {
			t.Errorf("error %v is not a read OpError", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		rc, _ := rawPair(t)
		_ = rc.Close()
		if _, err := rc.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: %v, want net.ErrClosed", err)
		}
		if _, err := rc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write after close: %v, want net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		rc, peer := rawPair(t)
		_ = peer.(*net.TCPConn).SetLinger(0)
		_ = peer.Close() // RST
		time.Sleep(20 * time.Millisecond)
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			_, err = rc.Write(make([]byte, 64<<10))
		}
		var errno syscall.Errno
		if !errors.As(err, &errno) || (errno != syscall.ECONNRESET && errno != syscall.EPIPE) {
			t.Fatalf("write to a reset peer: %v, want ECONNRESET or EPIPE", err)
		}
		if l := errnoLabel(err); l != "ECONNRESET" && l != "EPIPE" {
			t.Errorf("errno label %q", l)
		}
	})
}

func TestRawIOOnlyForTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if c := withRawIO(a); c != a {
		t.Errorf("withRawIO wrapped a %T", a)
	}
}

// Whatever follows a read (more bytes later, the rest of a larger write,
// EOF, EOF again) arrives without waiting for an event that will not come.
// Reading only after the poller's event once a short read drained the
// socket, as nginx does, lost wake-ups here: syscall.RawConn's Read
// clears the connection's readiness before its first call.
func TestRawIOReadsWhatFollows(t *testing.T) {
	read := func(t *testing.T, c net.Conn, size int) (string, error) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, size)
		n, err := c.Read(b)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("read waited for bytes that were already there")
		}
		return string(b[:n]), err
	}
	t.Run("more bytes later", func(t *testing.T) {
		rc, peer := rawPair(t)
		_, _ = peer.Write([]byte("a"))
		if got, err := read(t, rc, 16); got != "a" || err != nil {
			t.Fatalf("%q, %v", got, err)
		}
		go func() { time.Sleep(50 * time.Millisecond); _, _ = peer.Write([]byte("b")) }()
		if got, err := read(t, rc, 16); got != "b" || err != nil {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("rest of a larger write", func(t *testing.T) {
		rc, peer := rawPair(t)
		_, _ = peer.Write([]byte("0123456789"))
		time.Sleep(20 * time.Millisecond)
		if got, _ := read(t, rc, 4); got != "0123" {
			t.Fatalf("%q", got)
		}
		if got, _ := read(t, rc, 16); got != "456789" {
			t.Fatalf("%q", got)
		}
	})
	t.Run("eof after a short read", func(t *testing.T) {
		rc, peer := rawPair(t)
		_, _ = peer.Write([]byte("a"))
		if got, _ := read(t, rc, 16); got != "a" {
			t.Fatalf("%q", got)
		}
		_ = peer.Close()
		for i := 0; i < 2; i++ { // and again: EOF at once, no waiting
			if _, err := read(t, rc, 16); err != io.EOF {
				t.Fatalf("read %d after close: %v, want EOF", i, err)
			}
		}
	})
}

// net.Conn allows concurrent calls: writers (and readers) that overlap
// are ordered, and every byte arrives (run with -race).
func TestRawIOConcurrentCalls(t *testing.T) {
	rc, peer := rawPair(t)
	const writers, size = 4, 64 << 10
	done := make(chan struct{})
	for i := 0; i < writers; i++ {
		go func() {
			_, _ = rc.Write(make([]byte, size))
			done <- struct{}{}
		}()
	}
	go func() {
		for i := 0; i < writers; i++ {
			<-done
		}
		_ = rc.(*rawTCPConn).CloseWrite()
	}()
	n, err := io.Copy(io.Discard, peer)
	if err != nil || n != writers*size {
		t.Fatalf("peer read %d bytes, %v; want %d", n, err, writers*size)
	}
}

// TestRawIOInputPending: nothing to read, bytes (left for the next read),
// the peer's close and the connection's own close, in that order.
func TestRawIOInputPending(t *testing.T) {
	c, peer := rawPair(t)
	rc := c.(*rawTCPConn)
	if rc.inputPending() {
		t.Fatal("input pending on a silent connection")
	}
	if _, err := peer.Write([]byte("stray")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, rc.inputPending, "the peer's bytes")
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "stray" {
		t.Fatalf("read after the check: %q, %v; want the bytes it saw", buf[:n], err)
	}
	if rc.inputPending() {
		t.Fatal("input pending after it was read")
	}
	peer.Close()
	waitFor(t, rc.inputPending, "the peer's close")
	c.Close()
	if !rc.inputPending() {
		t.Fatal("a closed connection has no input pending")
	}
}

// waitFor polls cond for up to a second.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not seen within a second: %s", what)
		}
	}
}

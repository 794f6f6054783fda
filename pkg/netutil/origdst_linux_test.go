package netutil

import (
	"errors"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOriginalDstUntracked checks the syscall plumbing on a connection no
// rule rewrote: the answer is the local address, or ENOENT when conntrack
// is not tracking this namespace. The redirected case is proven in
// pkg/proxyinit, whose tests program real rules in a network namespace.
func TestOriginalDstUntracked(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "tcp6" {
				addr = "[::1]:0"
			}
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			defer ln.Close()
			client, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			got, err := OriginalDst(server.(*net.TCPConn))
			if _, err2 := OriginalDstOf(server); !errors.Is(err2, unix.ENOENT) != !errors.Is(err, unix.ENOENT) {
				t.Fatalf("OriginalDstOf() error %v, OriginalDst() error %v: want the same", err2, err)
			}
			if errors.Is(err, unix.ENOENT) {
				t.Logf("conntrack does not track this namespace: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != ln.Addr().String() {
				t.Fatalf("OriginalDst() = %s, want the local address %s", got, ln.Addr())
			}
			if got2, err := OriginalDstOf(server); err != nil || got2 != got {
				t.Fatalf("OriginalDstOf() = %s, %v; want %s", got2, err, got)
			}
		})
	}
}

func TestOriginalDstOfRejectsNonSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := OriginalDstOf(a); err == nil {
		t.Fatal("OriginalDstOf(net.Pipe) succeeded, want an error")
	}
}

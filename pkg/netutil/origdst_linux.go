package netutil

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soOriginalDst is SO_ORIGINAL_DST (SOL_IP) and IP6T_SO_ORIGINAL_DST
// (SOL_IPV6); both are 80.
const soOriginalDst = 80

// OriginalDst returns the destination the peer of conn originally dialled,
// as recorded by conntrack before a REDIRECT or DNAT rewrote it. For a
// connection that was not rewritten it is the local address. IPv4
// destinations are returned as plain IPv4, also when conn is an IPv6 socket.
func OriginalDst(conn *net.TCPConn) (netip.AddrPort, error) {
	return originalDst(conn)
}

// OriginalDstOf is OriginalDst for any accepted TCP connection that exposes
// its socket (syscall.Conn), with the signature of the proxy's
// Deps.OriginalDst seam.
func OriginalDstOf(conn net.Conn) (netip.AddrPort, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("original destination: %T does not expose its socket", conn)
	}
	return originalDst(socketConn{Conn: conn, sc: sc})
}

// socketConn joins a net.Conn to the syscall.Conn it also is.
type socketConn struct {
	net.Conn
	sc syscall.Conn
}

func (c socketConn) SyscallConn() (syscall.RawConn, error) { return c.sc.SyscallConn() }

// tcpSocket is what originalDst needs of a connection.
type tcpSocket interface {
	LocalAddr() net.Addr
	SyscallConn() (syscall.RawConn, error)
}

func originalDst(conn tcpSocket) (netip.AddrPort, error) {
	local, ok := conn.LocalAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("original destination: local address %v is not TCP", conn.LocalAddr())
	}
	level := unix.SOL_IPV6
	if local.IP.To4() != nil {
		// IPv4, or IPv4 mapped into an IPv6 socket: conntrack tracked it as IPv4.
		level = unix.SOL_IP
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", err)
	}
	var (
		buf    [sockaddrIn6Size]byte
		size   = uint32(len(buf))
		sysErr error
	)
	err = raw.Control(func(fd uintptr) {
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, uintptr(level), soOriginalDst,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		if errno != 0 {
			sysErr = errno
		}
	})
	if err == nil {
		err = sysErr
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: getsockopt SO_ORIGINAL_DST: %w", err)
	}
	ap, err := parseSockaddr(buf[:size])
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", err)
	}
	return ap, nil
}

//go:build !linux

package netutil

import (
	"net"
	"net/netip"
)

// OriginalDst returns ErrUnsupported: SO_ORIGINAL_DST is Linux only.
func OriginalDst(conn *net.TCPConn) (netip.AddrPort, error) {
	return netip.AddrPort{}, ErrUnsupported
}

// OriginalDstOf returns ErrUnsupported: SO_ORIGINAL_DST is Linux only.
func OriginalDstOf(conn net.Conn) (netip.AddrPort, error) {
	return netip.AddrPort{}, ErrUnsupported
}

package netutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// ErrUnsupported is returned by OriginalDst on platforms without
// SO_ORIGINAL_DST.
var ErrUnsupported = errors.New("original destination is only available on linux")

// Sizes and layout of struct sockaddr_in and struct sockaddr_in6, which the
// kernel fills in for SO_ORIGINAL_DST. Ports and addresses are in network
// byte order; the family is in host byte order.
const (
	sockaddrIn4Size = 16
	sockaddrIn6Size = 28
	afInet          = 2
	afInet6         = 10
)

// parseSockaddr decodes the sockaddr_in or sockaddr_in6 the kernel returned.
func parseSockaddr(b []byte) (netip.AddrPort, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, fmt.Errorf("short sockaddr of %d bytes", len(b))
	}
	family := binary.NativeEndian.Uint16(b)
	switch {
	case family == afInet && len(b) >= sockaddrIn4Size:
		port := binary.BigEndian.Uint16(b[2:4])
		addr := netip.AddrFrom4([4]byte(b[4:8]))
		return netip.AddrPortFrom(addr, port), nil
	case family == afInet6 && len(b) >= sockaddrIn6Size:
		port := binary.BigEndian.Uint16(b[2:4])
		// b[4:8] is the flow info; b[24:28] the scope id, unused here.
		addr := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		return netip.AddrPortFrom(addr, port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("unexpected sockaddr: family %d, %d bytes", family, len(b))
}

package netutil

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func sockaddr4(addr string, port uint16) []byte {
	b := make([]byte, sockaddrIn4Size)
	binary.NativeEndian.PutUint16(b, afInet)
	binary.BigEndian.PutUint16(b[2:], port)
	a := netip.MustParseAddr(addr).As4()
	copy(b[4:], a[:])
	return b
}

func sockaddr6(addr string, port uint16) []byte {
	b := make([]byte, sockaddrIn6Size)
	binary.NativeEndian.PutUint16(b, afInet6)
	binary.BigEndian.PutUint16(b[2:], port)
	a := netip.MustParseAddr(addr).As16()
	copy(b[8:], a[:])
	return b
}

func TestParseSockaddr(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr bool
	}{
		{"ipv4", sockaddr4("10.1.2.3", 80), "10.1.2.3:80", false},
		{"ipv4 high port", sockaddr4("192.168.0.1", 65535), "192.168.0.1:65535", false},
		{"ipv6", sockaddr6("fd00:1::3", 8080), "[fd00:1::3]:8080", false},
		{"ipv4-mapped ipv6 is unmapped", sockaddr6("::ffff:10.0.0.1", 443), "10.0.0.1:443", false},
		{"empty", nil, "", true},
		{"short ipv4", sockaddr4("10.1.2.3", 80)[:8], "", true},
		{"short ipv6", sockaddr6("::1", 80)[:16], "", true},
		{"unknown family", []byte{1, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSockaddr(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseSockaddr() = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSockaddr(): %v", err)
			}
			if got.String() != tt.want {
				t.Fatalf("parseSockaddr() = %s, want %s", got, tt.want)
			}
		})
	}
}

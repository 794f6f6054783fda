// Package netutil holds small socket helpers shared by the data plane.
//
// OriginalDst recovers the destination a client dialled before netfilter
// redirected its connection to the proxy (the rules of `meshctl proxy
// init`), with the SO_ORIGINAL_DST socket option of IPv4 and its IPv6 twin
// IP6T_SO_ORIGINAL_DST. It works for IPv4 sockets, IPv6 sockets and IPv4
// connections accepted on a dual-stack IPv6 socket; on platforms other than
// Linux it returns ErrUnsupported.
package netutil

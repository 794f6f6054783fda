// Package destination is the destination controller, run as `meshctl
// controller destination`.
//
// Its job (not yet scheduled in an issue): stream endpoint sets, server
// identities, protocol hints and route configuration to proxies, over gRPC
// on :8086.
//
// Until then Run serves only the admin endpoints (see package controller)
// and says so in its logs, on /ready and in the
// meshctl_controller_capabilities gauge. Its own port is not opened.
package destination

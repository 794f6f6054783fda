// Package policy is the policy controller, run as `meshctl controller
// policy`.
//
// Its job (not yet scheduled in an issue): serve inbound authorization
// policy (Server, AuthorizationPolicy, ...) to proxies, over gRPC on :8090.
//
// Until then Run serves only the admin endpoints (see package controller)
// and says so in its logs, on /ready and in the
// meshctl_controller_capabilities gauge. Its own port is not opened.
package policy

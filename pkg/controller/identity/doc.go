// Package identity is the identity controller, run as `meshctl controller
// identity`.
//
// Its job (issue 5): validate the ServiceAccount tokens of proxies and sign
// their workload certificates with the identity issuer, over gRPC on :8080.
//
// Until then Run serves only the admin endpoints (see package controller)
// and says so in its logs, on /ready and in the
// meshctl_controller_capabilities gauge. Its own port is not opened.
package identity

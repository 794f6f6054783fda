// Package injector is the injector controller, run as `meshctl controller
// injector`.
//
// Its job (issue 3): the mutating admission webhook that adds the proxy to
// pods, over TLS on :8443 behind Service port 443.
//
// Until then Run serves only the admin endpoints (see package controller)
// and says so in its logs, on /ready and in the
// meshctl_controller_capabilities gauge. Its own port is not opened.
package injector

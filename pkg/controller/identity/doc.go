// Package identity is the identity controller, run as `meshctl controller
// identity`.
//
// It serves the Certify gRPC service (pkg/api/identity/v1) on :8080: a proxy
// presents its projected ServiceAccount token and a CSR; the controller
// reviews the token with the API server (audience identity.meshctl.io, no
// fallback), derives the identity from the reviewed ServiceAccount, checks
// the CSR names exactly that identity and signs a short-lived leaf with the
// issuer. The issuer Secret is watched: a rotated issuer is used without a
// restart, a bad one is refused (Event, metric) and the current one kept.
// An issuer past its NotAfter signs nothing (no_issuer) and turns the
// controller's readiness off until a new one is loaded; a request refused
// that way spends none of its identity's rate limit. Token, CSR and
// requested name are bounded in size before anything reads them.
//
// The service speaks plaintext gRPC: the controller's pod is meshed, and its
// own proxy terminates the mTLS that other proxies open to it (they verify
// the controller's identity name; they have no certificate of their own yet).
//
// NewServer serves the same Certify service outside Run, with a token
// reviewer the caller supplies: meshctl bench uses it to certify its
// loopback proxies without Kubernetes. Run itself always reviews tokens
// with the API server.
package identity

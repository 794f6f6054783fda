// Package mtls is the proxy's workload identity: it generates the private
// key in memory (it never leaves the process), obtains a certificate from
// the identity service with the pod's projected ServiceAccount token,
// renews it at 70 % of its lifetime, and builds the TLS 1.3 configurations
// the proxy uses between meshed pods. It implements proxy.TLS.
//
// Failure behaviour, chosen to fail closed: until the first certificate
// arrives the proxy neither listens nor reports ready; while the identity
// service is unreachable the current certificate keeps serving and renewal
// is retried with jittered backoff; peers are verified against the trust
// anchors with an exact identity-name check, never a wildcard.
package mtls

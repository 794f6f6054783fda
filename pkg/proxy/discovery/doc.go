// Package discovery is the proxy's client of the destination controller:
// Client implements proxy.Destination by asking the controller's Get
// stream (pkg/api/destination/v1) which endpoints serve a connection's
// original destination and which TLS identity each must prove.
//
// Per target it opens one stream on first use and keeps the latest
// snapshot; the first Resolve of a target waits for the first snapshot,
// bounded by Options.InitialTimeout, and fails rather than guess. A broken
// stream is reopened with jittered backoff while the last snapshot keeps
// being served. Targets unused for Options.IdleTimeout are forgotten and
// their streams closed. Targets outside Options.ClusterNetworks are never
// asked about: they resolve to themselves, in plaintext.
//
// # Wiring (cmd/meshctl/cli/proxy.go)
//
// The caller owns the connection and its credentials: dial
// MESHCTL_PROXY_DESTINATION_SVC_ADDR with grpc.NewClient and mTLS whose
// server name is MESHCTL_PROXY_DESTINATION_SVC_NAME, build the client with
// New(conn, Options{Namespace: <pod namespace>}), pass it as
// proxy.Deps.Destination, and Close it (then the connection) on shutdown.
// DialOptions returns the recommended keepalive and reconnect settings.
package discovery

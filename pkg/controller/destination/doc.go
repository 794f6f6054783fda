// Package destination is the destination controller, run as `meshctl
// controller destination`.
//
// It serves the Destination gRPC service (pkg/api/destination/v1) on
// :8086: for a connection's original destination, a pod IP or a Service
// ClusterIP and port, it streams full snapshots of the endpoints that serve
// it, each with the TLS identity it must prove, its metric labels and a
// protocol hint. The rules are in docs/destination.md.
//
// The answers come from a Source: KubeSource watches Pods, Services and
// EndpointSlices through shared informers; MemorySource is edited in
// memory (tests, and later the local mode). Resolver applies the rules to
// a Source, Server streams them, Run puts it together with the admin
// server.
//
// Each answer also carries the route configuration of the Service behind
// the target, from its ServiceProfile (profile.go); HTTPRoute and
// TrafficSplit are not served yet.
package destination

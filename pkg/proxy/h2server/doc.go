// Package h2server serves HTTP/2 connections (RFC 9113, prior knowledge) to
// an http.Handler, for the proxy's listeners: the hop between two meshed
// proxies and the applications' own HTTP/2 and gRPC clients.
//
// It exists for what a proxy pays per request. net/http's HTTP/2 server
// runs a serving goroutine per connection between the frame reader and the
// handlers, so every frame a handler writes is handed to it over a channel,
// and every flush runs on a goroutine of its own; a response's HEADERS and
// DATA then often leave in two TLS records and two system calls. Here one
// goroutine per connection reads and acts on the frames; a handler writes
// its own frames under the connection's write lock, and the last of the
// writers waiting to flush flushes for all of them, so a response leaves in
// one write.
//
// Framing and HPACK are golang.org/x/net/http2's Framer (with its header
// list and CONTINUATION bounds) and hpack. What this package adds is the
// connection and stream state, flow control, the mapping to net/http's
// Request and ResponseWriter, and the defences of the bundled server:
// MAX_CONCURRENT_STREAMS enforced, handlers of reset streams counted until
// they return (rapid reset, CVE-2023-44487), bounded buffering per
// connection (the receive windows), a write deadline on every flush and an
// idle timeout.
package h2server

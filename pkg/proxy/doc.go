// Package proxy is meshctl's data plane: the transparent sidecar proxy run by
// `meshctl proxy` in every meshed pod.
//
// Two listeners take the connections iptables (meshctl proxy init) redirects
// to them: inbound (4143, traffic for the local application) and outbound
// (127.0.0.1:4140, traffic the application sends). Each connection's original
// destination is recovered with SO_ORIGINAL_DST (or, outside a pod, taken from
// an explicit target), its protocol is detected (HTTP/1.x, HTTP/2 with prior
// knowledge, else opaque TCP), and it is proxied:
//
//   - HTTP through a reverse proxy with pooled upstream connections, trailers,
//     upgrades, CONNECT tunnels and streaming bodies, recording request
//     metrics. Plain HTTP/1.1 requests are served on the goroutine that
//     detected the connection (h1server.go, h1response.go; bodiless ones
//     with the reverse proxy's rules but not its copies, forward.go); any
//     other HTTP/1.x hands the connection to net/http's server (upgrades,
//     chunked bodies, HTTP/1.0). HTTP/2 connections are served by
//     h2server, whose handlers write their own frames (serveHTTP2,
//     side.go), and HTTP/2 upstreams by h2client. Between two proxies
//     HTTP/1 travels over HTTP/2,
//     one connection per endpoint (origproto.go); to an application or a
//     server outside the mesh, bodiless GET/HEAD/OPTIONS/TRACE requests are
//     sent on the goroutine that serves them (h1client.go, heads written by
//     h1request.go), the rest through net/http's Transport. Request and
//     response heads in the common form are parsed into one string each
//     (h1head.go), the others by net/http. HTTP sockets
//     are read and written with raw system calls (rawio.go); each
//     connection remembers its request metric series (series.go);
//   - anything else as a byte splice with half-close forwarded.
//
// A client's HTTP connection closes lingering (linger.go): write side first,
// then the client's late bytes dropped for a bounded time, so that a final
// response or GOAWAY is not overtaken by a reset.
//
// The seams where the control plane plugs in are interfaces with simple
// defaults: Destination (where does this go; default: the original
// destination), TLS (who are we and who should answer; default: plaintext)
// and InboundPolicy (may this peer talk to this port; default: allow).
//
// Once ready, the proxy gives back the executable's pages that only start-up
// touched (pkg/memtrim).
//
// The package never imports client-go: the data plane learns about the
// cluster only from the control plane.
package proxy

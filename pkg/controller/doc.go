// Package controller is the runtime shared by meshctl's control-plane
// components (identity, destination, policy, injector), each run as
// `meshctl controller <name>` and implemented in a subpackage with
// Run(ctx, Config, Deps) error.
//
// Serve runs one component: it binds the admin server (default :9990),
// records the component's capabilities, logs structured lines through the
// injected slog.Logger, and shuts down cleanly when ctx is cancelled (main
// turns SIGTERM into cancellation).
//
// # Capabilities and readiness
//
// A component declares its capabilities (certificate signing, endpoint
// discovery, ...) and whether each is implemented. The components' real
// logic arrives in later issues, so today none is, and each says so plainly:
//
//   - a WARN log line at start-up per missing capability, e.g. "identity:
//     certificate signing (gRPC :8080) not implemented yet (issue 5); serving
//     admin only";
//   - the same sentence as a "notice:" line in every /ready body;
//   - the gauge meshctl_controller_capabilities{component, capability,
//     implemented="true|false"} = 1 on /metrics.
//
// The component's own port (gRPC or webhook) is not opened while nothing
// real serves it, so a client fails fast instead of talking to a stub.
//
// /ready answers 200 once the admin server is listening and every readiness
// condition a component adds is met, even with unimplemented capabilities.
// That is a deliberate choice: a 503 would keep every control-plane pod
// un-Ready forever, blocking `kubectl rollout status` and the install tests
// while gaining nothing (no Service routes to a port that is not open). The
// body's notices and the capabilities gauge make the gap explicit, and
// `meshctl check` can read the gauge. When a capability is implemented, its
// component adds real readiness conditions (issuer loaded, informers
// synced, ...) that do gate /ready.
package controller

// Package bench is the engine of `meshctl bench`: it builds a loopback-only
// topology (a built-in upstream, a pair of real `meshctl proxy`
// subprocesses, a Go L4 splice pair as the floor, and nginx and haproxy
// pairs when they are on PATH), drives it with a built-in load generator,
// samples each proxy's CPU and memory from /proc, and reports the added
// latency, throughput, CPU and memory of every configuration relative to a
// direct-to-upstream baseline measured in the same round.
//
// With Options.MTLS the hop between the two proxies of every pair is mutual
// TLS 1.3: the run generates its trust anchor and issuer, serves the identity
// controller's Certify service on loopback for the meshctl proxies (with a
// token reviewer that knows only the tokens the run wrote), and gives nginx,
// haproxy and the floor (then a crypto/tls splice) certificates from the
// same issuer.
//
// The method follows shared/reference/perf.md sections 3 and 5:
//
//   - open-loop load paced per connection on a locked OS thread with
//     clock_nanosleep(TIMER_ABSTIME), latency measured from the intended send
//     time (corrected for coordinated omission), exact percentiles at 1 µs
//     resolution, and the generator's own lateness recorded; a run whose
//     lateness p99 exceeds 10 % of the round's baseline p50 is marked invalid;
//   - a closed-loop phase (N connections as fast as they go) for throughput;
//   - configurations interleaved over rounds in alternating order, with a
//     baseline run at both ends of every round.
//
// The package never prints to the process's standard streams and never
// exits: progress goes to Options.Progress and reports to the writers the
// caller passes.
package bench

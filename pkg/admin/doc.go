// Package admin is the admin HTTP server of meshctl's processes: the
// control-plane controllers serve it on :9990 and the proxy will on :4191.
//
// It serves
//
//   - /metrics: the Prometheus text exposition of a per-process
//     prometheus.Gatherer (NewRegistry builds one with the process and Go
//     collectors; the global default registry is never used);
//   - /live: 200 while the process can answer HTTP at all;
//   - /ready: 200 with a plain-text body when every readiness condition is
//     met, 503 listing the unmet conditions otherwise. Notices (for example
//     "certificate signing is not implemented yet") are listed in both
//     cases, so that a probe or a human reading the body learns what the
//     process does not do.
//
// pprof is not served here: the proxy mounts it on its own admin routes,
// opt-in and for loopback clients only. Every server timeout and the
// header size limit are set, with defaults documented on Config.
package admin

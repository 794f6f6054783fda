// Package check is the cluster doctor behind `meshctl check`: a catalogue of
// checks, grouped into explicit ordered categories (one file each), a
// runner with fatal, warning and retry semantics, and renderers for the
// table, short and JSON outputs.
//
// Checks are data: each has a stable code (MESH1xx for the cluster,
// MESH2xx for the control plane, MESH3xx for identity and certificates,
// MESH4xx for the data plane, MESH5xx for the viz extension; a retired code is never reused), a
// description, a hint with an anchor into docs/checks.md (generated from
// the catalogue), a severity, and a function of an explicit, read-only
// environment. No check reads state another check wrote.
package check

// Package memtrim gives back the resident pages a long-running process
// touched only while it started.
//
// A Go binary runs every package initialiser of everything it links before
// main, whichever subcommand it serves. For meshctl that is Helm, client-go
// and gRPC, and the kernel's fault-around maps up to 16 neighbouring pages
// of the executable on each fault: `meshctl proxy` starts with about 36 MiB
// of the executable's text and read-only data resident, of which the proxy's
// steady state uses a small part. Those pages are clean and file-backed, so
// dropping the process's mappings of them loses nothing: the page cache
// keeps them, and a page the process touches again is mapped back by a
// minor fault. Writable mappings are never touched.
package memtrim

// Package dashboard is the web UI behind `meshctl viz dashboard`: an
// http.Handler built from a viz.Source that serves a small embedded page
// (plain HTML, JavaScript and CSS, no build step) and the JSON it polls,
// /api/stat, /api/edges and /api/routes, computed exactly as `viz stat -o
// json`, `viz edges -o json` and `viz routes -o json`.
//
// The handler is meant for a loopback listener: it answers only requests
// whose Host is on an allow-list (against DNS rebinding), refuses any
// request whose Origin is not one of those hosts, serves GET and HEAD only,
// and sets a strict Content-Security-Policy. Serving it (address, timeouts)
// is the caller's job.
package dashboard

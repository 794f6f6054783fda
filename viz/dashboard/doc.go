// Package dashboard is the web UI behind `meshctl viz dashboard`: an
// http.Handler built from a viz.Source that serves a small embedded page
// (plain HTML, JavaScript and CSS, no build step) and the JSON it polls,
// /api/stat, /api/edges and /api/routes, computed exactly as `viz stat -o
// json`, `viz edges -o json` and `viz routes -o json`, and /api/tap, a
// websocket of a workload's tap events from a Tapper (as `viz tap -o
// json`), bounded in rate, duration and number.
//
// The handler is meant for a loopback listener: it answers only requests
// whose Host is on an allow-list (against DNS rebinding), refuses any
// request whose Origin is not one of those hosts (and a tap websocket
// without one), serves GET and HEAD only, and sets a strict
// Content-Security-Policy; the page inserts data as text only. Serving it
// (address, timeouts) is the caller's job, and so is ending its tap
// streams with Close when the server stops.
package dashboard

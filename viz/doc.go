// Package viz computes Linkerd-style traffic views (stat, routes, edges)
// from the meshctl proxy's Prometheus metrics.
//
// A Source returns two scrapes of every selected proxy, a window apart:
// Direct scrapes live proxies through the Kubernetes API server's pod proxy
// subresource, Offline reads scrapes saved to files, Prometheus asks a
// Prometheus for the increases. Stat, Routes and Edges turn the difference
// between the two scrapes into rows, and the Write* functions
// render them as tables or JSON. Nothing here prints to a terminal: writers
// are parameters, and docs/viz.md documents every number.
package viz

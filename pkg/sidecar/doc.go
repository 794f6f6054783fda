// Package sidecar is the one definition of what a meshed pod looks like and
// of when a pod must not be meshed. `meshctl inject` and the injector webhook
// both call it; neither knows how the proxy is built.
//
// Decide looks at a pod template (its metadata and spec), the mesh values
// (the control-plane chart's values tree, as stored in meshctl-config), the
// annotations of the pod's namespace and its owner, and returns a Decision:
// either a Patch, rendered from the patch chart and the shared partials in
// templates/ (the same partials install renders the control plane's own
// proxies from), or the precise reasons not to inject.
//
// config.meshctl.io/* annotations override mesh values per pod: namespace
// annotations first, then the pod's own (the pod wins). Settings lists the
// supported keys; OverrideAnnotations computes them from two sets of values
// for `meshctl inject`'s annotation mode.
//
// Rendering is cached per distinct configuration: the owner's kind, name and
// namespace are rendered as placeholders and filled in afterwards, so that
// meshing ten thousand workloads with one configuration renders the chart
// once. An Injector is safe for concurrent use.
package sidecar

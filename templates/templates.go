// Package templates holds meshctl's Helm charts, embedded in the binary:
// crds (chart meshctl-crds), control-plane (chart meshctl-control-plane),
// patch (the sidecar of one pod), viz (chart meshctl-viz, the
// viz extension's Prometheus) and partials, the one definition of a meshed
// pod's proxy that every chart shares. pkg/render renders them; this package
// has no logic.
package templates

import "embed"

// FS holds the charts. The all: prefixes keep the _*.tpl partials and
// helpers, which go:embed would otherwise skip.
//
//go:embed all:crds all:control-plane all:partials all:patch all:viz
var FS embed.FS

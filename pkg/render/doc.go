// Package render renders a Helm chart held in an fs.FS (usually the embedded
// templates.FS) in process with the helm/v3 engine, deterministically: the
// same chart and values always give the same bytes.
//
// Partial directories (templates/partials) are loaded into every chart's
// templates, so that several charts share one definition of the proxy
// sidecar, as Linkerd shares its partials chart. The release is rendered with
// Release.Service "CLI". The documents are split, stripped of empty ones and
// ordered by kind (namespaces first, webhooks last, as Helm installs them),
// then by template path and position.
package render

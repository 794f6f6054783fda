// Package inject is the stream transform behind `meshctl inject` and
// `meshctl uninject`: it reads Kubernetes manifests (YAML or JSON, many
// documents, kind: List), adds or removes the meshctl proxy on every
// workload's pod template, and reports what it did per resource.
//
// The transform edits a YAML node tree (go.yaml.in/yaml/v3) rather than
// round-tripping through Go structs, so comments, key order and quoting of
// the user's YAML survive wherever the patch does not touch them, and
// documents it does not change are copied byte for byte. Whether and how a
// pod is meshed is decided by pkg/sidecar, the same library the injector
// webhook uses; this package only finds the pod templates, applies the
// decisions to the tree and writes the report.
//
// The transform is all or nothing: any document that cannot be parsed or
// any workload that must not be meshed makes Run return an error naming it,
// and the caller writes nothing to stdout.
package inject

// Package install renders the meshctl CRDs and control plane from the
// embedded charts (templates.FS) and decides, with the help of a narrow
// ClusterInfo, whether installing, upgrading, uninstalling or pruning makes
// sense for the cluster at hand.
//
// The package never prints to the process's streams and never exits: the
// manifest goes to the io.Writer given to Render (and friends), reports to
// Options.ErrOut. Everything is rendered into a buffer first, so that a
// rejected input never leaves half a manifest on stdout.
//
// Values (values.go) mirror templates/control-plane/values.yaml and decode
// strictly: unknown keys and wrong types are errors naming the key. The
// certificates install generates come from a CertSource (certs.go), which
// tests replace with FixedCerts to make renders byte-for-byte reproducible
// (key generation in Go ignores any seeded randomness, so there is no seeded
// mode).
package install

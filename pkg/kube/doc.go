// Package kube builds Kubernetes clients lazily from kubeconfig flags and
// caches them, so that commands which never talk to the cluster never load a
// kubeconfig. Libraries receive a Factory (or a narrower interface) as a
// parameter; nothing here is global.
package kube

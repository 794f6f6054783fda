// Command coredns is CoreDNS with only the plugins the local cluster's
// Corefile uses (hack/cluster/manifests), where CoreDNS's own main links
// all of its ~60 plugins and their cloud SDKs (AWS, Azure, Google): less to
// download and compile on a cold machine. go.mod raises the k8s.io modules
// to the Kubernetes build's versions, so those are compiled once for both.
// Keep the list in step with the Corefile.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() { coremain.Run() }

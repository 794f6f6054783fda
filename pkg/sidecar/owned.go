package sidecar

import (
	"strings"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Volume names the patch adds to a pod.
const (
	VolumeEndEntity = "meshctl-identity-end-entity"
	VolumeToken     = "meshctl-identity-token"
)

// OwnedContainer reports whether a container or init container of that name
// is one meshctl adds (and uninject removes).
func OwnedContainer(name string) bool {
	return name == meshapi.ProxyContainerName || name == meshapi.InitContainerName
}

// OwnedVolume reports whether a pod volume of that name is one meshctl adds.
func OwnedVolume(name string) bool {
	return name == VolumeEndEntity || name == VolumeToken
}

// OwnedLabel reports whether a pod label is one meshctl adds.
func OwnedLabel(key string) bool {
	return key == meshapi.LabelControlPlaneNS || key == meshapi.LabelWorkloadNS ||
		strings.HasPrefix(key, meshapi.Prefix+"proxy-")
}

// OwnedAnnotation reports whether a pod annotation is one meshctl adds:
// every meshctl.io/* annotation except meshctl.io/inject: disabled, which
// is the user's. config.meshctl.io/* annotations are the user's too.
func OwnedAnnotation(key, value string) bool {
	if !strings.HasPrefix(key, meshapi.Prefix) {
		return false
	}
	return key != meshapi.AnnotationInject || value != meshapi.InjectDisabled
}

// thirdPartyContainers are container names of other meshes' sidecars and
// init containers.
func thirdPartyContainers() []string {
	return []string{
		"istio-proxy", "istio-init", "istio-validation",
		"linkerd-proxy", "linkerd-init", "linkerd-network-validator",
		"kuma-sidecar", "kuma-init",
		"envoy", "envoy-sidecar", "osm-init",
		"consul-dataplane", "consul-connect-envoy-sidecar", "consul-connect-inject-init",
		"traefik-mesh-proxy", "cilium-envoy",
	}
}

// thirdPartyImages are image fragments of other meshes' proxies.
func thirdPartyImages() []string {
	return []string{
		"istio/proxyv2", "istio-release/proxyv2", "cr.l5d.io/linkerd/proxy", "linkerd/proxy:", "linkerd/proxy-init",
		"kumahq/kuma-dp", "kuma-dp:", "envoyproxy/envoy", "openservicemesh/init", "hashicorp/consul-dataplane",
	}
}

// thirdParty reports why a container is another mesh's, or "".
func thirdParty(name, image string) string {
	for _, n := range thirdPartyContainers() {
		if name == n {
			return "container " + name
		}
	}
	for _, frag := range thirdPartyImages() {
		if strings.Contains(image, frag) {
			return "container " + name + " (image " + image + ")"
		}
	}
	return ""
}

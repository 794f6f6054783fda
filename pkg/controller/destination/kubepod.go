package destination

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// annotationOpaquePorts is the pod annotation that overrides the proxy's
// opaque ports (config.meshctl.io/opaque-ports, see pkg/sidecar).
const annotationOpaquePorts = meshapi.ConfigPrefix + "opaque-ports"

// envOpaquePorts is the proxy container's variable holding the opaque
// ports it actually uses (templates/partials/_proxy.tpl).
const envOpaquePorts = "MESHCTL_PROXY_OPAQUE_PORTS"

// envSkipInboundPorts is meshctl-init's variable holding the inbound ports
// its iptables rules let through to the application
// (templates/partials/_proxy-init.tpl).
const envSkipInboundPorts = "MESHCTL_PROXY_INIT_SKIP_INBOUND_PORTS"

// podModel is what the controller keeps of a Kubernetes pod.
func podModel(p *corev1.Pod) Pod {
	m := Pod{Namespace: p.Namespace, Name: p.Name, ServiceAccount: p.Spec.ServiceAccountName}
	proxy := proxyContainer(&p.Spec)
	m.Meshed = proxy != nil && !p.Spec.HostNetwork
	m.OwnerKind, m.OwnerName = owner(p)
	// What the server-side proxy runs with wins over the annotation it was
	// rendered from; a pod edited by hand may carry only the annotation.
	opaque, found := "", false
	if proxy != nil {
		for _, e := range proxy.Env {
			if e.Name == envOpaquePorts && e.ValueFrom == nil {
				opaque, found = e.Value, true
			}
		}
	}
	if !found {
		opaque = p.Annotations[annotationOpaquePorts]
	}
	m.OpaquePorts = parsePortRanges(opaque)
	m.SkipInboundPorts = parsePortRanges(initEnv(&p.Spec, envSkipInboundPorts))
	return m
}

// initEnv is the literal value of meshctl-init's variable name, "" when
// the pod has no meshctl-init container or it does not set name.
func initEnv(spec *corev1.PodSpec, name string) string {
	for _, c := range spec.InitContainers {
		if c.Name != meshapi.InitContainerName {
			continue
		}
		for _, e := range c.Env {
			if e.Name == name && e.ValueFrom == nil {
				return e.Value
			}
		}
	}
	return ""
}

// proxyContainer returns the meshctl proxy of spec: a native sidecar (an
// init container that restarts Always) or a plain container.
func proxyContainer(spec *corev1.PodSpec) *corev1.Container {
	for i, c := range spec.InitContainers {
		if c.Name == meshapi.ProxyContainerName && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return &spec.InitContainers[i]
		}
	}
	for i, c := range spec.Containers {
		if c.Name == meshapi.ProxyContainerName {
			return &spec.Containers[i]
		}
	}
	return nil
}

// owner names the workload owning p: from the injector's
// meshctl.io/proxy-<kind> label when present, else from the controller
// owner reference, a ReplicaSet with a pod-template-hash standing for its
// Deployment (the controller may not read ReplicaSets).
func owner(p *corev1.Pod) (kind, name string) {
	for _, k := range []string{"deployment", "statefulset", "daemonset", "job", "cronjob", "replicaset"} {
		if v := p.Labels[meshapi.ProxyKindLabel(k)]; v != "" {
			return k, v
		}
	}
	for _, ref := range p.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		kind := strings.ToLower(ref.Kind)
		if hash := p.Labels["pod-template-hash"]; kind == "replicaset" && hash != "" {
			if dep, ok := strings.CutSuffix(ref.Name, "-"+hash); ok {
				return "deployment", dep
			}
		}
		return kind, ref.Name
	}
	return "", ""
}

// parsePortRanges parses "25,8000-8100", skipping malformed parts: the
// injector validates the list, and a bad part must not hide the others.
func parsePortRanges(s string) PortRanges {
	var out PortRanges
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil || a == 0 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				continue
			}
		}
		out = append(out, PortRange{Lo: uint16(a), Hi: uint16(b)})
	}
	return out
}

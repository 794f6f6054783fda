package sidecar

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// Reason codes of a Decision.
const (
	// Refusals: the pod cannot be meshed as it is.
	ReasonHostNetwork        = "host-network"
	ReasonThirdPartySidecar  = "third-party-sidecar"
	ReasonAutomountDisabled  = "automount-token-disabled"
	ReasonInvalidAnnotation  = "invalid-annotation"
	ReasonInjectDisabled     = "inject-disabled"
	ReasonNotEnabled         = "inject-not-enabled"
	ReasonAlreadyInjected    = "already-injected"
	ReasonUDPPorts           = "udp-ports"
	ReasonUnknownAnnotations = "unknown-annotation"
)

// Reason is one finding about a pod.
type Reason struct {
	// Code is stable, for metrics and tooling (Reason* constants).
	Code string `json:"code"`
	// Message says what was found, in words.
	Message string `json:"message"`
}

func (r Reason) String() string { return r.Message }

// Request is what Decide looks at.
type Request struct {
	// Owner is the workload the pod template belongs to.
	Owner Owner
	// Namespace is the pod's namespace; empty means "default".
	Namespace string
	// Template is the pod's metadata and spec.
	Template corev1.PodTemplateSpec
	// NamespaceAnnotations are the annotations of the pod's namespace.
	NamespaceAnnotations map[string]string
	// Values are the mesh values (the control-plane chart's values tree).
	Values map[string]any
	// OptIn makes injection depend on meshctl.io/inject: enabled (or
	// ingress) on the pod or, failing that, its namespace, as the webhook
	// does. Without it the caller has asked for injection explicitly and
	// only a pod's meshctl.io/inject: disabled stops it.
	OptIn bool
	// SkipRender decides without rendering the patch (annotation mode).
	SkipRender bool
	// SharedSpec promises that the caller will not modify the patch's
	// InitContainers, Containers and Volumes nodes: they are then shared
	// with the render cache (and with every other patch of the same
	// configuration) instead of copied for each pod. Labels and
	// annotations are always the caller's own.
	SharedSpec bool
}

// Decision is the outcome of Decide.
type Decision struct {
	// Inject is true when the pod should get Patch (or, with SkipRender,
	// could).
	Inject bool `json:"inject"`
	// AlreadyInjected is true when the pod already has meshctl's proxy;
	// callers replace it (inject) or leave the pod alone (the webhook). Our
	// init container or volumes without the proxy are leftovers of an
	// injection half removed, which leave the pod's traffic redirected to
	// a proxy that is not there: such a pod is injected again.
	AlreadyInjected bool `json:"alreadyInjected,omitempty"`
	// Refusals are why the pod must not be meshed as it is; they are
	// errors for `meshctl inject`.
	Refusals []Reason `json:"refusals,omitempty"`
	// Skips are why the pod is deliberately not meshed (not errors).
	Skips []Reason `json:"skips,omitempty"`
	// Warnings do not stop injection.
	Warnings []Reason `json:"warnings,omitempty"`
	// Passed lists the checks the pod passed, in words.
	Passed []string `json:"passed,omitempty"`
	// Values are the mesh values with the pod's overrides applied.
	Values map[string]any `json:"-"`
	// Patch is the sidecar to add when Inject is true and rendering was
	// not skipped.
	Patch *Patch `json:"-"`
}

// Check descriptions, as the report prints them after √.
const (
	CheckHostNetwork = "pods do not use host networking"
	CheckThirdParty  = "pods do not have a 3rd party proxy or initContainer already injected"
	CheckDisabled    = "pods are not annotated to disable injection"
	CheckUDP         = "pod specs do not include UDP ports"
	CheckAutomount   = `pods do not have automountServiceAccountToken set to "false"`
	CheckAnnotations = "config.meshctl.io annotations are valid"
)

// Decide decides whether the pod of req is meshed and renders its patch.
// The error is for failures of meshctl itself (a chart that does not
// render); everything about the pod is in the Decision.
func (in *Injector) Decide(req Request) (*Decision, error) {
	d := &Decision{}
	tpl := &req.Template
	ns := req.Namespace
	if ns == "" {
		ns = "default"
	}
	if skip, ok := optedOut(req); ok {
		d.Skips = append(d.Skips, skip)
		return d, nil
	}
	d.Passed = append(d.Passed, CheckDisabled)
	d.AlreadyInjected = hasProxy(&tpl.Spec)
	d.check(!tpl.Spec.HostNetwork, CheckHostNetwork, Reason{ReasonHostNetwork, "hostNetwork is enabled"})
	if why := thirdPartyIn(&tpl.Spec); why != "" {
		d.Refusals = append(d.Refusals, Reason{ReasonThirdPartySidecar, "known 3rd party sidecar detected: " + why})
	} else {
		d.Passed = append(d.Passed, CheckThirdParty)
	}
	d.check(!automountDisabledWithoutToken(&tpl.Spec), CheckAutomount, Reason{ReasonAutomountDisabled,
		`automountServiceAccountToken is "false" and the pod projects no ServiceAccount token`})
	if ports := udpPorts(&tpl.Spec); ports != "" {
		d.Warnings = append(d.Warnings, Reason{ReasonUDPPorts, `uses "protocol: UDP" (` + ports + `): UDP traffic bypasses the proxy`})
	} else {
		d.Passed = append(d.Passed, CheckUDP)
	}
	values, unknown, err := ApplyOverrides(req.Values, req.NamespaceAnnotations, tpl.Annotations)
	for _, u := range unknown {
		d.Warnings = append(d.Warnings, Reason{ReasonUnknownAnnotations, u})
	}
	if err != nil {
		d.Refusals = append(d.Refusals, Reason{ReasonInvalidAnnotation, err.Error()})
	} else {
		d.Passed = append(d.Passed, CheckAnnotations)
	}
	if len(d.Refusals) > 0 {
		return d, nil
	}
	if w, ok := graceWarning(values, &tpl.Spec); ok {
		d.Warnings = append(d.Warnings, w)
	} else {
		d.Passed = append(d.Passed, CheckGrace)
	}
	d.Inject = true
	d.Values = values
	if req.SkipRender {
		return d, nil
	}
	p, err := in.renderPatch(values, req.Owner, ns, req.SharedSpec)
	if err != nil {
		return nil, err
	}
	d.Patch = p
	return d, nil
}

// check records a passed check or a refusal.
func (d *Decision) check(ok bool, passed string, refusal Reason) {
	switch {
	case passed == "":
	case ok:
		d.Passed = append(d.Passed, passed)
	default:
		d.Refusals = append(d.Refusals, refusal)
	}
}

// optedOut returns the skip reason when the annotations keep the pod out.
func optedOut(req Request) (Reason, bool) {
	pod, podSet := req.Template.Annotations[meshapi.AnnotationInject]
	if podSet && pod == meshapi.InjectDisabled {
		return Reason{ReasonInjectDisabled, fmt.Sprintf(`pod has the annotation "%s: %s"`, meshapi.AnnotationInject, meshapi.InjectDisabled)}, true
	}
	if !req.OptIn {
		return Reason{}, false
	}
	if podSet {
		if pod == meshapi.InjectEnabled || pod == meshapi.InjectIngress {
			return Reason{}, false
		}
		return Reason{ReasonNotEnabled, fmt.Sprintf("pod annotation %s has the unsupported value %q", meshapi.AnnotationInject, pod)}, true
	}
	switch v, ok := req.NamespaceAnnotations[meshapi.AnnotationInject]; {
	case ok && (v == meshapi.InjectEnabled || v == meshapi.InjectIngress):
		return Reason{}, false
	case ok && v == meshapi.InjectDisabled:
		return Reason{ReasonInjectDisabled, fmt.Sprintf(`namespace has the annotation "%s: %s"`, meshapi.AnnotationInject, meshapi.InjectDisabled)}, true
	}
	return Reason{ReasonNotEnabled, fmt.Sprintf("neither the pod nor its namespace has the annotation %s: %s", meshapi.AnnotationInject, meshapi.InjectEnabled)}, true
}

func hasProxy(spec *corev1.PodSpec) bool {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			if c.Name == meshapi.ProxyContainerName {
				return true
			}
		}
	}
	return false
}

func thirdPartyIn(spec *corev1.PodSpec) string {
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			if OwnedContainer(c.Name) {
				continue
			}
			if why := thirdParty(c.Name, c.Image); why != "" {
				return why
			}
		}
	}
	return ""
}

func automountDisabledWithoutToken(spec *corev1.PodSpec) bool {
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		return false
	}
	for _, v := range spec.Volumes {
		if v.Projected == nil || OwnedVolume(v.Name) {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return false
			}
		}
	}
	return true
}

func udpPorts(spec *corev1.PodSpec) string {
	var out []string
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Protocol == corev1.ProtocolUDP {
				out = append(out, fmt.Sprintf("%s:%d", c.Name, p.ContainerPort))
			}
		}
	}
	return strings.Join(out, ", ")
}

// ProtectedNamespace reports whether the injector never meshes the pods of
// namespace ns: the control plane's own (meshNamespace) and kube-system.
// The webhook's namespaceSelector leaves them out too; `meshctl inject`
// warns, and `meshctl check` does not expect their pods meshed.
func ProtectedNamespace(ns, meshNamespace string) bool {
	return ns == meshNamespace || ns == "kube-system"
}

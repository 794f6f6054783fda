package meshapi

import "fmt"

// Annotations and labels.
const (
	// Prefix is the prefix of meshctl's own labels and annotations.
	Prefix = "meshctl.io/"
	// ConfigPrefix is the prefix of per-workload proxy configuration overrides.
	ConfigPrefix = "config.meshctl.io/"

	// AnnotationInject turns injection on or off for a namespace or pod.
	AnnotationInject = "meshctl.io/inject"
	// InjectEnabled, InjectDisabled and InjectIngress are the values of AnnotationInject.
	InjectEnabled  = "enabled"
	InjectDisabled = "disabled"
	InjectIngress  = "ingress"

	AnnotationCreatedBy       = "meshctl.io/created-by"
	AnnotationProxyVersion    = "meshctl.io/proxy-version"
	AnnotationTrustRootSHA256 = "meshctl.io/trust-root-sha256"

	LabelControlPlaneNS        = "meshctl.io/control-plane-ns"
	LabelControlPlaneComponent = "meshctl.io/control-plane-component"
	LabelWorkloadNS            = "meshctl.io/workload-ns"
	// LabelPartOf marks every object rendered by install, for prune and uninstall.
	LabelPartOf = "app.kubernetes.io/part-of"
	// PartOfValue is the value of LabelPartOf on meshctl's objects.
	PartOfValue = "meshctl"
)

// ProxyKindLabel returns the label naming the owner of a meshed pod, for
// example "meshctl.io/proxy-deployment".
func ProxyKindLabel(kind string) string { return Prefix + "proxy-" + kind }

// IdentityName returns the TLS identity of a workload's ServiceAccount:
// <sa>.<ns>.serviceaccount.identity.<mesh-namespace>.<trust-domain>.
func IdentityName(serviceAccount, namespace, meshNamespace, trustDomain string) string {
	return fmt.Sprintf("%s.%s.serviceaccount.identity.%s.%s", serviceAccount, namespace, meshNamespace, trustDomain)
}

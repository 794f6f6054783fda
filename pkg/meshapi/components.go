package meshapi

// ComponentName returns the name shared by a component's Deployment,
// Service and ServiceAccount: meshctl-<component>.
func ComponentName(component string) string { return "meshctl-" + component }

// Names the charts (templates/) render; the templates spell them out, and
// these constants are what Go code uses to find the objects.
const (
	// InjectorServicePort is the port of the injector's Service (the
	// webhook listens on InjectorWebhookPort behind it).
	InjectorServicePort = 443
	// InjectorWebhookPath is the path the API server posts AdmissionReviews to.
	InjectorWebhookPath = "/"
	// TLSCertKey and TLSKeyKey are the keys of kubernetes.io/tls Secrets
	// (the issuer and the injector's serving certificate).
	TLSCertKey = "tls.crt"
	TLSKeyKey  = "tls.key"
	// AdmissionWebhooksLabel set to "disabled" on a namespace keeps the
	// injector's webhook away from it (the control-plane namespace has it).
	AdmissionWebhooksLabel = "config.meshctl.io/admission-webhooks"

	// PolicyGroup is the API group of Server, AuthorizationPolicy,
	// MeshTLSAuthentication, NetworkAuthentication and HTTPRoute.
	PolicyGroup = "policy.meshctl.io"
	// PolicyVersion is the served and stored version of the policy CRDs.
	PolicyVersion = "v1beta1"
	// ProfileGroup is the API group of ServiceProfile.
	ProfileGroup = "meshctl.io"
	// ProfileVersion is the served and stored version of ServiceProfile.
	ProfileVersion = "v1alpha1"
)

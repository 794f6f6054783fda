package meshapi

// Control-plane defaults.
const (
	// DefaultNamespace is the namespace the control plane is installed into.
	DefaultNamespace = "meshctl"
	// DefaultTrustDomain is the identity trust domain.
	DefaultTrustDomain = "cluster.local"
	// DefaultClusterDomain is the DNS suffix of the cluster.
	DefaultClusterDomain = "cluster.local"
	// DefaultRegistry is the image registry used when none is given.
	DefaultRegistry = "ghcr.io/meshctl"
	// ImageName is the name of the single meshctl image inside the registry.
	ImageName = "meshctl"

	// ConfigMapName holds the values used to render the control plane.
	ConfigMapName = "meshctl-config"
	// ConfigMapValuesKey is the key of ConfigMapName holding the values YAML.
	ConfigMapValuesKey = "values"
	// ConfigMapVersionKey is the key of ConfigMapName holding the meshctl
	// version that rendered the control plane.
	ConfigMapVersionKey = "version"
	// TrustRootsConfigMapName holds the trust anchors PEM bundle.
	TrustRootsConfigMapName = "meshctl-identity-trust-roots"
	// TrustRootsKey is the key of TrustRootsConfigMapName holding the PEM bundle.
	TrustRootsKey = "ca-bundle.crt"
	// IssuerSecretName holds the identity issuer certificate and key.
	IssuerSecretName = "meshctl-identity-issuer"
	// InjectorWebhookName is the name of the MutatingWebhookConfiguration.
	InjectorWebhookName = "meshctl-proxy-injector"
	// InjectorTLSSecretName holds the injector webhook's serving certificate.
	InjectorTLSSecretName = "meshctl-proxy-injector-tls"
	// TokenAudience is the audience of the projected ServiceAccount token
	// that proxies present to the identity controller.
	TokenAudience = "identity.meshctl.io"
)

// Components of the control plane, each run as `meshctl controller <name>`.
const (
	ComponentIdentity    = "identity"
	ComponentDestination = "destination"
	ComponentPolicy      = "policy"
	ComponentInjector    = "injector"
)

// Components lists the control-plane components in install order.
func Components() []string {
	return []string{ComponentIdentity, ComponentDestination, ComponentPolicy, ComponentInjector}
}

// Control-plane ports.
const (
	IdentityGRPCPort    = 8080
	DestinationGRPCPort = 8086
	PolicyGRPCPort      = 8090
	InjectorWebhookPort = 8443
	ControllerAdminPort = 9990

	// ControllerUID is the non-root user (and group) id the control-plane
	// containers run as; the image's /etc/passwd names it ControllerUser.
	ControllerUID = 2103
	// ControllerUser is the name of ControllerUID in the image.
	ControllerUser = "meshctl"
	// ProxyUser is the name of ProxyUID in the image.
	ProxyUser = "meshctl-proxy"
)

// Data-plane ports and ids.
const (
	ProxyInboundPort  = 4143
	ProxyOutboundPort = 4140
	ProxyControlPort  = 4190
	ProxyAdminPort    = 4191
	ProxyUID          = 2102

	ProxyContainerName = "meshctl-proxy"
	InitContainerName  = "meshctl-init"
)

// DefaultOpaquePorts are the ports whose traffic is never protocol-detected,
// as in Linkerd: SMTP, MySQL, Galera, PostgreSQL, Redis, Elasticsearch, Memcached.
const DefaultOpaquePorts = "25,587,3306,4444,5432,6379,9300,11211"

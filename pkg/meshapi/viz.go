package meshapi

// Names of the viz extension's chart (templates/viz): `meshctl viz install`
// renders them, `meshctl viz check` and the viz sources look for them.
const (
	// VizNamespace is the namespace of the viz extension.
	VizNamespace = "meshctl-viz"
	// VizComponentLabel names the viz component of an object (prometheus).
	VizComponentLabel = "meshctl.io/viz-component"
	// PrometheusName names the viz Prometheus' Deployment, Service,
	// ServiceAccount and ConfigMap.
	PrometheusName = "meshctl-prometheus"
	// PrometheusPort is the port of the viz Prometheus' Service (and
	// container), named "http".
	PrometheusPort = 9090
	// ProxyAdminPortName is the name of the proxy container's admin port
	// (ProxyAdminPort): the viz Prometheus scrapes ports of that name.
	ProxyAdminPortName = "meshctl-admin"
)

// The tap token: proxies are configured with its SHA-256
// (proxy.tapTokenSHA256, env MESHCTL_PROXY_TAP_TOKEN_SHA256) and
// `meshctl viz tap` and `viz top` read it from this Secret in the control
// plane's namespace (or --token-file).
const (
	// TapTokenSecretName names the Secret holding the tap token.
	TapTokenSecretName = "meshctl-tap-token"
	// TapTokenSecretKey is the Secret's key holding the token.
	TapTokenSecretKey = "token"
)

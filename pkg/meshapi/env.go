package meshapi

// Environment variables of the proxy's identity, set by the injected pod
// spec (templates/partials/_proxy.tpl) and read by `meshctl proxy`. They are
// here because meshctl bench sets them too, on the proxies it starts
// outside Kubernetes.
const (
	// EnvProxyIdentityDisabled set to true runs the proxy without mTLS.
	EnvProxyIdentityDisabled = "MESHCTL_PROXY_IDENTITY_DISABLED"
	// EnvProxyIdentityLocalName is the identity name the proxy proves.
	EnvProxyIdentityLocalName = "MESHCTL_PROXY_IDENTITY_LOCAL_NAME"
	// EnvProxyIdentityTrustAnchors holds the trust anchors as PEM (the
	// certificates themselves, not a file name).
	EnvProxyIdentityTrustAnchors = "MESHCTL_PROXY_IDENTITY_TRUST_ANCHORS"
	// EnvProxyIdentityTokenFile names the file holding the ServiceAccount
	// token presented to the identity service.
	EnvProxyIdentityTokenFile = "MESHCTL_PROXY_IDENTITY_TOKEN_FILE"
	// EnvProxyIdentitySvcAddr is the identity service's host:port.
	EnvProxyIdentitySvcAddr = "MESHCTL_PROXY_IDENTITY_SVC_ADDR"
	// EnvProxyIdentitySvcName is the identity name the identity service
	// must prove (not checked when it is on loopback).
	EnvProxyIdentitySvcName = "MESHCTL_PROXY_IDENTITY_SVC_NAME"
)

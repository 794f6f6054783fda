package destination

// EnvTrustDomain is the environment variable the control-plane chart sets
// on the destination controller
// (templates/control-plane/templates/destination.yaml), shared with the
// identity controller so both name identities alike.
const EnvTrustDomain = "MESHCTL_IDENTITY_TRUST_DOMAIN"

// EnvClusterDomain is the environment variable that carries the chart's
// clusterDomain to the destination controller.
const EnvClusterDomain = "MESHCTL_CLUSTER_DOMAIN"

// FromEnv overlays the variables read with getenv onto c.
func FromEnv(c Config, getenv func(string) string) (Config, error) {
	if v := getenv(EnvTrustDomain); v != "" {
		c.TrustDomain = v
	}
	if v := getenv(EnvClusterDomain); v != "" {
		c.ClusterDomain = v
	}
	return c, nil
}

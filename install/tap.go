package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/meshctl/meshctl/pkg/meshapi"
)

// tapHash is the hex SHA-256 the proxies compare a tap token against.
func tapHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tapForInstall generates the tap token of a new install and sets the
// proxies' hash, unless the values already carry a hash: then the token is
// the user's to keep, and no Secret is rendered.
func tapForInstall(v *Values, certs CertSource, namespace string) (token, report string, err error) {
	if v.Proxy.TapTokenSHA256 != "" {
		return "", fmt.Sprintf("viz tap: proxies accept the token whose SHA-256 is proxy.tapTokenSHA256; keep it in Secret %s/%s (key %s) for meshctl viz tap/top.",
			namespace, meshapi.TapTokenSecretName, meshapi.TapTokenSecretKey), nil
	}
	if token, err = certs.TapToken(); err != nil {
		return "", "", err
	}
	v.Proxy.TapTokenSHA256 = tapHash(token)
	return token, fmt.Sprintf("Generated the tap token for meshctl viz tap/top: Secret %s/%s.", namespace, meshapi.TapTokenSecretName), nil
}

// tapForUpgrade keeps the cluster's tap token when it still matches the
// stored hash. With no hash (installed before tap existed) it generates one:
// proxies accept it once restarted. A hash with no matching Secret is a
// token the user manages: no Secret is rendered.
func tapForUpgrade(ctx context.Context, v *Values, certs CertSource, cluster ClusterInfo, namespace string) (token, report string, err error) {
	if v.Proxy.TapTokenSHA256 == "" {
		if token, err = certs.TapToken(); err != nil {
			return "", "", err
		}
		v.Proxy.TapTokenSHA256 = tapHash(token)
		return token, fmt.Sprintf("Generated the tap token for meshctl viz tap/top: Secret %s/%s; proxies accept it once their workloads restart.", namespace, meshapi.TapTokenSecretName), nil
	}
	current, found, err := cluster.TapToken(ctx, namespace)
	if err != nil {
		return "", "", unreachable(err)
	}
	if found && tapHash(current) == v.Proxy.TapTokenSHA256 {
		return current, "", nil
	}
	return "", fmt.Sprintf("viz tap: proxy.tapTokenSHA256 is not the hash of Secret %s/%s: the token is yours to keep there (key %s).",
		namespace, meshapi.TapTokenSecretName, meshapi.TapTokenSecretKey), nil
}

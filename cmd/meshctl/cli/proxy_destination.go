package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/discovery"
	"github.com/meshctl/meshctl/pkg/proxy/mtls"
)

// Destination settings the injected pod spec sets.
const (
	envDestinationSvcAddr = "MESHCTL_PROXY_DESTINATION_SVC_ADDR"
	envDestinationSvcName = "MESHCTL_PROXY_DESTINATION_SVC_NAME"
	envPodNamespace       = "MESHCTL_PROXY_POD_NAMESPACE"
)

// proxyDestination builds the discovery client when the pod spec names a
// destination service; nil means the original destination is the answer
// (outside a pod). It reaches the service over mTLS when the proxy has an
// identity, verifying the service's identity name.
func proxyDestination(getenv func(string) string, cfg proxy.Config, tlsp proxy.TLS, log *slog.Logger) (proxy.Destination, func(), error) {
	addr := getenv(envDestinationSvcAddr)
	if addr == "" {
		return nil, func() {}, nil
	}
	opts := append(discovery.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if p, ok := tlsp.(*mtls.Provider); ok {
		name := getenv(envDestinationSvcName)
		if name == "" {
			return nil, nil, fmt.Errorf("%s is set but %s is missing: the destination service's identity cannot be verified", envDestinationSvcAddr, envDestinationSvcName)
		}
		opts = append(opts, grpc.WithContextDialer(mtls.ContextDialer(func() *tls.Config { return p.ClientConfig(name) }, 5*time.Second)))
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("destination service %s: %w", addr, err)
	}
	dst := discovery.New(conn, discovery.Options{
		Namespace:       getenv(envPodNamespace),
		ClusterNetworks: cfg.ClusterNetworks,
		Logger:          log.With("component", "destination"),
	})
	return dst, func() { _ = dst.Close(); _ = conn.Close() }, nil
}

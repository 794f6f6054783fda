package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	identityv1 "github.com/meshctl/meshctl/pkg/api/identity/v1"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/proxy"
	"github.com/meshctl/meshctl/pkg/proxy/mtls"
)

// Identity settings the injected pod spec sets (templates/partials/_proxy.tpl).
const (
	envIdentityDisabled = meshapi.EnvProxyIdentityDisabled
	envIdentityLocal    = meshapi.EnvProxyIdentityLocalName
	envIdentityAnchors  = meshapi.EnvProxyIdentityTrustAnchors
	envIdentityToken    = meshapi.EnvProxyIdentityTokenFile
	envIdentitySvcAddr  = meshapi.EnvProxyIdentitySvcAddr
	envIdentitySvcName  = meshapi.EnvProxyIdentitySvcName
)

// identitySettings say how the proxy gets its certificate.
type identitySettings struct {
	disabled                  bool
	localName, anchors, token string
	svcAddr, svcName          string
}

func identityFromEnv(getenv func(string) string) (identitySettings, error) {
	s := identitySettings{
		localName: getenv(envIdentityLocal),
		anchors:   getenv(envIdentityAnchors),
		token:     getenv(envIdentityToken),
		svcAddr:   getenv(envIdentitySvcAddr),
		svcName:   getenv(envIdentitySvcName),
	}
	if v := getenv(envIdentityDisabled); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q: want true or false", envIdentityDisabled, v)
		}
		s.disabled = b
	}
	// Outside a pod (no local name) the proxy runs without identity; inside
	// one, every setting must be there: a half-configured identity must
	// not quietly become plaintext.
	if s.disabled || s.localName == "" {
		s.disabled = true
		return s, nil
	}
	var missing []string
	for _, m := range []struct{ name, v string }{
		{envIdentityAnchors, s.anchors}, {envIdentityToken, s.token}, {envIdentitySvcAddr, s.svcAddr}, {envIdentitySvcName, s.svcName},
	} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("identity is configured (%s is set) but %s %s missing; set %s=true to run without mTLS",
			envIdentityLocal, strings.Join(missing, ", "), plural(len(missing), "is", "are"), envIdentityDisabled)
	}
	return s, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// identityProvider builds the TLS provider and starts its renewal loop; it
// returns the Plaintext provider when identity is disabled.
func (s identitySettings) provider(ctx context.Context, reg prometheus.Registerer, log *slog.Logger) (proxy.TLS, func(), error) {
	if s.disabled {
		log.Warn("identity disabled: this proxy neither originates nor terminates mTLS")
		return proxy.Plaintext{}, func() {}, nil
	}
	conn, err := s.identityConn()
	if err != nil {
		return nil, nil, err
	}
	p, err := mtls.New(mtls.Options{
		LocalName:       s.localName,
		TrustAnchorsPEM: []byte(s.anchors),
		TokenFile:       s.token,
		Client:          identityv1.NewIdentityClient(conn),
		Log:             log.With("component", "identity"),
		Registry:        reg,
	})
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	go p.Run(ctx)
	return p, func() { _ = conn.Close() }, nil
}

// identityConn reaches the identity service: over TLS verifying its
// identity name, except on loopback, where the identity controller's own
// proxy talks to it before any certificate exists.
func (s identitySettings) identityConn() (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	target := s.svcAddr
	if isLoopbackAddr(s.svcAddr) {
		// "localhost." is not in /etc/hosts with its trailing dot, and the
		// cluster's DNS need not answer for it: dial loopback directly.
		_, port, _ := net.SplitHostPort(s.svcAddr)
		target = net.JoinHostPort("127.0.0.1", port)
	} else {
		cfg, err := mtls.BootstrapClientConfig(s.svcName, []byte(s.anchors))
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithContextDialer(mtls.ContextDialer(func() *tls.Config { return cfg }, 5*time.Second)))
	}
	conn, err := grpc.NewClient("passthrough:///"+target, opts...)
	if err != nil {
		return nil, fmt.Errorf("identity service %s: %w", s.svcAddr, err)
	}
	return conn, nil
}

// isLoopbackAddr reports whether host:port names this machine.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	host = strings.TrimSuffix(host, ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

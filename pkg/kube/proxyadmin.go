package kube

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// ProxyAdminGet fetches path from a meshed pod's proxy admin port through
// the API server's pod proxy (no port-forward, no direct route to pods).
func ProxyAdminGet(ctx context.Context, cs Clientset, namespace, pod, path string) ([]byte, error) {
	raw, err := cs.CoreV1().Pods(namespace).ProxyGet("http", pod, strconv.Itoa(meshapi.ProxyAdminPort), path, nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("proxy admin %s (port %d, through the API server): %w", path, meshapi.ProxyAdminPort, err)
	}
	return raw, nil
}

// ProxyIdentityChain reads the certificate chain a pod's proxy presents
// (its admin /identity: leaf first, then intermediates; never the key).
func ProxyIdentityChain(ctx context.Context, cs Clientset, namespace, pod string) ([]*x509.Certificate, error) {
	raw, err := ProxyAdminGet(ctx, cs, namespace, pod, "/identity")
	if err != nil {
		return nil, err
	}
	chain, err := identity.ParseCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("the proxy's /identity is not a certificate chain: %w", err)
	}
	if len(chain) == 0 {
		return nil, errors.New("the proxy's /identity holds no certificate")
	}
	return chain, nil
}

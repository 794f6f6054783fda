//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meshctl/meshctl/pkg/controller/identity"
	pkgidentity "github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// TestCertifyWithRealTokenReview drives the identity controller's
// certification core with ServiceAccount tokens minted by the real API
// server and reviewed by it.
func TestCertifyWithRealTokenReview(t *testing.T) {
	requireCluster(t)
	ns := fmt.Sprintf("meshctl-id-%d", time.Now().Unix()%100000)
	if out, err := kubectl(t, "", "create", "namespace", ns); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(t, "", "delete", "namespace", ns, "--wait=false") })
	for _, sa := range []string{"web", "admin"} {
		if out, err := kubectl(t, "", "-n", ns, "create", "serviceaccount", sa); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	token := func(sa string, audience ...string) string {
		args := []string{"-n", ns, "create", "token", sa, "--duration=10m"}
		for _, a := range audience {
			args = append(args, "--audience", a)
		}
		out, err := kubectl(t, "", args...)
		if err != nil {
			t.Fatalf("create token: %v\n%s", err, out)
		}
		return strings.TrimSpace(out)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	root, err := pkgidentity.GenerateRoot(pkgidentity.GenerateOptions{CommonName: "root", Lifetime: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	c := &identity.Certifier{
		Issuer:        func() *pkgidentity.CA { return root },
		Reviewer:      identity.KubeTokenReviewer{Client: cs.AuthenticationV1()},
		MeshNamespace: meshapi.DefaultNamespace, TrustDomain: meshapi.DefaultTrustDomain,
	}
	web := meshapi.IdentityName("web", ns, meshapi.DefaultNamespace, meshapi.DefaultTrustDomain)
	csr := func(name string) []byte {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	issued, err := c.Certify(ctx, identity.Request{Token: token("web", meshapi.TokenAudience), CSR: csr(web)})
	if err != nil {
		t.Fatalf("a valid token and CSR were refused: %v", err)
	}
	if issued.Identity != web {
		t.Fatalf("issued for %q, want %q", issued.Identity, web)
	}
	refusals := []struct {
		name, token, csrName, reason string
	}{
		{"token for the API server's audience", token("web"), web, identity.ReasonUnauthentic},
		{"token of another ServiceAccount", token("admin", meshapi.TokenAudience), web, identity.ReasonBadCSR},
		{"forged token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", web, identity.ReasonUnauthentic},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			issued, err := c.Certify(ctx, identity.Request{Token: r.token, CSR: csr(r.csrName)})
			if issued != nil || identity.ReasonOf(err) != r.reason {
				t.Fatalf("Certify = %v, %v; want refusal %q", issued, err, r.reason)
			}
		})
	}
}

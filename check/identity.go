package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// ExpiryWarning is how early certificates are reported as expiring soon.
const ExpiryWarning = 60 * 24 * time.Hour

// meshctlIdentity is the "meshctl-identity" category: trust anchors and
// the issuer, the root of every proxy's certificate.
func meshctlIdentity() Category {
	return Category{ID: "meshctl-identity", Checks: []Check{
		{
			Code:        "MESH301",
			Description: "trust anchors are valid, in date and use a supported algorithm",
			Hint:        "replace the anchors: see `meshctl identity rotate anchors`, or reinstall with --identity-trust-anchors-file",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				anchors, err := trustAnchors(ctx, env)
				if err != nil {
					return err
				}
				var problems []string
				for _, a := range anchors {
					if err := certInDate(a, env.Now()); err != nil {
						problems = append(problems, err.Error())
					}
					if err := identity.CheckAlgorithms(a); err != nil {
						problems = append(problems, fmt.Sprintf("anchor %q: %v", a.Subject.CommonName, err))
					}
					if !a.IsCA {
						problems = append(problems, fmt.Sprintf("anchor %q is not a CA", a.Subject.CommonName))
					}
				}
				return joinProblems(problems)
			},
		},
		{
			Code:        "MESH302",
			Description: "trust anchors are valid for at least 60 days",
			Hint:        "plan the rotation now: bundle new anchors with the old ones, roll the proxies, then switch the issuer",
			Severity:    Warning,
			Run: func(ctx context.Context, env *Env) error {
				anchors, err := trustAnchors(ctx, env)
				if err != nil {
					return err
				}
				var problems []string
				for _, a := range anchors {
					if err := expiresSoon(a, env.Now()); err != nil {
						problems = append(problems, err.Error())
					}
				}
				return joinProblems(problems)
			},
		},
		{
			Code:        "MESH303",
			Description: "issuer certificate is valid and chains to the trust anchors",
			Hint:        "replace the issuer with one signed by the anchors: `meshctl upgrade --identity-issuer-certificate-file … --identity-issuer-key-file …`",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				_, err := issuer(ctx, env)
				return err
			},
		},
		{
			Code:        "MESH304",
			Description: "issuer certificate is valid for at least 60 days",
			Hint:        "rotate the issuer before it expires: `meshctl upgrade --identity-issuer-certificate-file … --identity-issuer-key-file …`",
			Severity:    Warning,
			Run: func(ctx context.Context, env *Env) error {
				iss, err := issuer(ctx, env)
				if err != nil {
					return err
				}
				return expiresSoon(iss.Cert, env.Now())
			},
		},
	}}
}

func trustAnchors(ctx context.Context, env *Env) ([]*x509.Certificate, error) {
	cm, err := env.Kube.CoreV1().ConfigMaps(env.Namespace).Get(ctx, meshapi.TrustRootsConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %w", env.Namespace, meshapi.TrustRootsConfigMapName, err)
	}
	certs, err := identity.ParseCertificates([]byte(cm.Data[meshapi.TrustRootsKey]))
	if err != nil {
		return nil, fmt.Errorf("configmap %s/%s key %s: %w", env.Namespace, meshapi.TrustRootsConfigMapName, meshapi.TrustRootsKey, err)
	}
	return certs, nil
}

func issuer(ctx context.Context, env *Env) (*identity.Issuer, error) {
	cm, err := env.Kube.CoreV1().ConfigMaps(env.Namespace).Get(ctx, meshapi.TrustRootsConfigMapName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %w", env.Namespace, meshapi.TrustRootsConfigMapName, err)
	}
	sec, err := env.Kube.CoreV1().Secrets(env.Namespace).Get(ctx, meshapi.IssuerSecretName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", env.Namespace, meshapi.IssuerSecretName, err)
	}
	iss, err := identity.ValidateIssuer([]byte(cm.Data[meshapi.TrustRootsKey]), sec.Data["tls.crt"], sec.Data["tls.key"], env.Now())
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", env.Namespace, meshapi.IssuerSecretName, err)
	}
	return iss, nil
}

func certInDate(c *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(c.NotBefore):
		return fmt.Errorf("%q is not valid before %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
	case !now.Before(c.NotAfter):
		return fmt.Errorf("%q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

func expiresSoon(c *x509.Certificate, now time.Time) error {
	if left := c.NotAfter.Sub(now); left < ExpiryWarning {
		return fmt.Errorf("%q expires on %s, in %d days", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339), int(left.Hours()/24))
	}
	return nil
}

func joinProblems(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "\n"))
}

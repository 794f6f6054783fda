package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// meshctlWebhooks is the "meshctl-webhooks" category: the injector's
// serving certificate and the CA bundle the API server trusts it with.
func meshctlWebhooks() Category {
	return Category{ID: "meshctl-webhooks", Checks: []Check{
		{
			Code:        "MESH310",
			Description: "proxy injector webhook has a valid certificate matching its CA bundle",
			Hint:        "re-render the control plane to issue a fresh serving certificate and CA bundle: `meshctl upgrade | kubectl apply -f -`",
			Fatal:       true,
			Run: func(ctx context.Context, env *Env) error {
				_, err := webhookCert(ctx, env)
				return err
			},
		},
		{
			Code:        "MESH311",
			Description: "proxy injector certificate is valid for at least 60 days",
			Hint:        "renew it: `meshctl upgrade | kubectl apply -f -`",
			Severity:    Warning,
			Run: func(ctx context.Context, env *Env) error {
				c, err := webhookCert(ctx, env)
				if err != nil {
					return err
				}
				return expiresSoon(c, env.Now())
			},
		},
	}}
}

// webhookCert verifies the injector's serving certificate against the
// webhook configuration's CA bundle for the Service's DNS name.
func webhookCert(ctx context.Context, env *Env) (*x509.Certificate, error) {
	sec, err := env.Kube.CoreV1().Secrets(env.Namespace).Get(ctx, meshapi.InjectorTLSSecretName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", env.Namespace, meshapi.InjectorTLSSecretName, err)
	}
	certs, err := identity.ParseCertificates(sec.Data["tls.crt"])
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s tls.crt: %w", env.Namespace, meshapi.InjectorTLSSecretName, err)
	}
	mwc, err := env.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, meshapi.InjectorWebhookName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("mutatingwebhookconfiguration %s: %w", meshapi.InjectorWebhookName, err)
	}
	if len(mwc.Webhooks) == 0 {
		return nil, fmt.Errorf("mutatingwebhookconfiguration %s has no webhooks", meshapi.InjectorWebhookName)
	}
	wh := mwc.Webhooks[0]
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(wh.ClientConfig.CABundle) {
		return nil, fmt.Errorf("mutatingwebhookconfiguration %s: caBundle holds no certificate", meshapi.InjectorWebhookName)
	}
	if wh.ClientConfig.Service == nil {
		return nil, errors.New("the injector webhook does not point at a Service")
	}
	dnsName := fmt.Sprintf("%s.%s.svc", wh.ClientConfig.Service.Name, wh.ClientConfig.Service.Namespace)
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: dnsName, Roots: roots, Intermediates: inter, CurrentTime: env.Now()}); err != nil {
		return nil, fmt.Errorf("serving certificate of secret %s/%s is not valid for %s under the webhook's caBundle: %w", env.Namespace, meshapi.InjectorTLSSecretName, dnsName, err)
	}
	return leaf, nil
}

package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// CertMinValidity is how long a proxy's certificate must still be valid:
// proxies renew well before, so less (and under a fifth of the
// certificate's lifetime) means renewal is failing.
const CertMinValidity = time.Hour

// meshctlControlPlaneProxy is the "meshctl-control-plane-proxy" category:
// the proxies of the control-plane pods run and hold a certificate of the
// current trust anchors (the controllers' mTLS depends on them).
func meshctlControlPlaneProxy() Category {
	return Category{ID: "meshctl-control-plane-proxy", Checks: []Check{
		{
			Code:        "MESH208",
			Description: "control plane proxies are ready",
			Hint:        "the message names each pod whose proxy is not ready and why; `kubectl -n <namespace> logs <pod> -c meshctl-proxy` tells more",
			Retry:       true,
			Run:         controlPlaneProxiesReady,
		},
		{
			Code:        "MESH305",
			Description: "control plane proxies hold certificates of the current trust anchors, valid for more than an hour",
			Hint:        "a proxy that cannot renew its certificate cannot reach the identity controller, or the issuer was replaced by one the anchors do not sign (see MESH303); `kubectl -n <namespace> logs <pod> -c meshctl-proxy` tells more, and restarting the pod makes it ask again",
			Retry:       true,
			Run:         controlPlaneProxyCerts,
		},
	}}
}

// controlPlanePods lists the control plane's pods that should be running.
func controlPlanePods(ctx context.Context, env *Env) ([]corev1.Pod, error) {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: meshapi.LabelControlPlaneComponent})
	if err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", env.Namespace, err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func controlPlaneProxiesReady(ctx context.Context, env *Env) error {
	pods, err := controlPlanePods(ctx, env)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("no control plane pods in namespace %s", env.Namespace)
	}
	var problems []string
	for i := range pods {
		if why := proxyNotReady(ctx, env, &pods[i]); why != "" {
			problems = append(problems, fmt.Sprintf("pod %s: %s", pods[i].Name, why))
		}
	}
	return joinProblems(problems)
}

func controlPlaneProxyCerts(ctx context.Context, env *Env) error {
	anchors, err := trustAnchors(ctx, env)
	if err != nil {
		return err
	}
	pods, err := controlPlanePods(ctx, env)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("no control plane pods in namespace %s", env.Namespace)
	}
	var problems []string
	for i := range pods {
		p := &pods[i]
		chain, err := proxyChain(ctx, env, p)
		if err != nil {
			problems = append(problems, fmt.Sprintf("pod %s: %v", p.Name, err))
			continue
		}
		if err := verifyChain(chain, anchors, env.Now()); err != nil {
			problems = append(problems, fmt.Sprintf("pod %s: %v", p.Name, err))
			continue
		}
		// Proxies renew at 70 % of the lifetime (less up to 5 % jitter): a
		// certificate under a fifth of its lifetime and under an hour is not
		// being renewed, even with a short configured lifetime.
		leaf := chain[0]
		if left := leaf.NotAfter.Sub(env.Now()); left < CertMinValidity && left < leaf.NotAfter.Sub(leaf.NotBefore)/5 {
			problems = append(problems, fmt.Sprintf("pod %s: certificate expires on %s, in %s: the proxy is not renewing it",
				p.Name, chain[0].NotAfter.UTC().Format(time.RFC3339), left.Round(time.Minute)))
		}
	}
	return joinProblems(problems)
}

// proxyChain reads the certificate chain (leaf first) a pod's proxy
// presents, from its admin /identity through the API server's pod proxy.
func proxyChain(ctx context.Context, env *Env, p *corev1.Pod) ([]*x509.Certificate, error) {
	chain, err := kube.ProxyIdentityChain(ctx, env.Kube, p.Namespace, p.Name)
	if err != nil {
		return nil, fmt.Errorf("read the proxy's certificate: %w", err)
	}
	return chain, nil
}

// verifyChain checks that the leaf chains to one of the anchors through the
// intermediates the proxy presents, at now.
func verifyChain(chain, anchors []*x509.Certificate, now time.Time) error {
	roots := x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	leaf := chain[0]
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err == nil {
		return nil
	}
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	if errors.As(err, new(x509.UnknownAuthorityError)) {
		return fmt.Errorf("certificate %q (issued by %q) does not chain to the current trust anchors: it comes from another trust root", name, leaf.Issuer.CommonName)
	}
	return fmt.Errorf("certificate %q (issued by %q) is not valid under the current trust anchors: %w", name, leaf.Issuer.CommonName, err)
}

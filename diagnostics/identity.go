package diagnostics

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// IdentityOptions select the pods whose proxy certificates are read.
type IdentityOptions struct {
	// Namespace of the pods; required.
	Namespace string
	// Pods are pod names; empty means every meshed pod of Namespace
	// (matching Selector).
	Pods []string
	// Selector is a label selector on the pods.
	Selector string
	// Timeout bounds each pod's answer; zero means 5s.
	Timeout time.Duration
}

// ProxyIdentity is one pod's proxy certificate, or why it was not read.
type ProxyIdentity struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	// Identity is the leaf's single DNS SAN.
	Identity  string    `json:"identity,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	Serial    string    `json:"serial,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"`
	NotAfter  time.Time `json:"notAfter,omitzero"`
	// Chain is the leaf then the intermediates, as the proxy presents them.
	Chain []*x509.Certificate `json:"-"`
	// Error says why the certificate could not be read.
	Error string `json:"error,omitempty"`
}

// maxConcurrent bounds the pods asked at once.
const maxConcurrent = 16

// ProxyIdentities reads the certificate of each selected meshed pod's
// proxy. A pod that does not answer gets an Error, not a failure of the
// whole call; a named pod that is not meshed is an error.
func ProxyIdentities(ctx context.Context, cs kube.Clientset, o IdentityOptions) ([]ProxyIdentity, error) {
	if o.Namespace == "" {
		return nil, errors.New("no namespace given")
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	pods, err := selectPods(ctx, cs, o)
	if err != nil {
		return nil, err
	}
	out := make([]ProxyIdentity, len(pods))
	sem := make(chan struct{}, maxConcurrent)
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = readIdentity(ctx, cs, p, o.Timeout)
		}()
	}
	wg.Wait()
	return out, nil
}

func selectPods(ctx context.Context, cs kube.Clientset, o IdentityOptions) ([]corev1.Pod, error) {
	var pods []corev1.Pod
	if len(o.Pods) > 0 {
		for _, name := range o.Pods {
			p, err := cs.CoreV1().Pods(o.Namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("pod %s/%s: %w", o.Namespace, name, err)
			}
			if !IsMeshed(p) {
				return nil, fmt.Errorf("pod %s/%s has no %s container: inject it first (meshctl inject)", o.Namespace, name, meshapi.ProxyContainerName)
			}
			pods = append(pods, *p)
		}
		return pods, nil
	}
	list, err := cs.CoreV1().Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: o.Selector})
	if err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", o.Namespace, err)
	}
	for _, p := range list.Items {
		if IsMeshed(&p) && p.Status.Phase == corev1.PodRunning {
			pods = append(pods, p)
		}
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return compare(a.Name, b.Name) })
	return pods, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// IsMeshed reports whether the pod runs the proxy, as a native sidecar or
// a plain container.
func IsMeshed(p *corev1.Pod) bool {
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		if c.Name == meshapi.ProxyContainerName {
			return true
		}
	}
	return false
}

func readIdentity(ctx context.Context, cs kube.Clientset, p corev1.Pod, timeout time.Duration) ProxyIdentity {
	r := ProxyIdentity{Namespace: p.Namespace, Pod: p.Name}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	chain, err := kube.ProxyIdentityChain(ctx, cs, p.Namespace, p.Name)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	leaf := chain[0]
	r.Chain = chain
	r.Subject = leaf.Subject.String()
	r.Issuer = leaf.Issuer.String()
	r.Serial = leaf.SerialNumber.Text(16)
	r.NotBefore, r.NotAfter = leaf.NotBefore, leaf.NotAfter
	if len(leaf.DNSNames) == 1 {
		r.Identity = leaf.DNSNames[0]
	}
	return r
}

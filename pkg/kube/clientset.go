package kube

import (
	"fmt"

	"k8s.io/client-go/discovery"
	admissionregistrationv1 "k8s.io/client-go/kubernetes/typed/admissionregistration/v1"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	authenticationv1 "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1 "k8s.io/client-go/kubernetes/typed/authorization/v1"
	batchv1 "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1 "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
)

// Clientset is the part of client-go's kubernetes.Interface that meshctl
// uses: the API groups it reads and writes, and discovery. A
// kubernetes.Interface (the fake clientset of tests included) is one.
//
// NewClientset builds only these groups' clients. client-go's
// kubernetes.NewForConfig builds one for every group of the API, and
// calling it links all their code (and apply configurations) into the one
// binary every sidecar runs.
type Clientset interface {
	Discovery() discovery.DiscoveryInterfaces
	CoreV1() corev1.CoreV1Interface
	AppsV1() appsv1.AppsV1Interface
	BatchV1() batchv1.BatchV1Interface
	AdmissionregistrationV1() admissionregistrationv1.AdmissionregistrationV1Interface
	AuthenticationV1() authenticationv1.AuthenticationV1Interface
	AuthorizationV1() authorizationv1.AuthorizationV1Interface
	DiscoveryV1() discoveryv1.DiscoveryV1Interface
}

// NewClientset returns the clients of Clientset's groups for cfg, sharing
// one HTTP client (and so one connection pool) as NewForConfig's do.
func NewClientset(cfg *rest.Config) (Clientset, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	// Each constructor fails only on what cfg says, the same way for all:
	// the first error tells it.
	var cs clientset
	var errs [8]error
	cs.discovery, errs[0] = discovery.NewDiscoveryClientForConfigAndClient(cfg, hc)
	cs.core, errs[1] = corev1.NewForConfigAndClient(cfg, hc)
	cs.apps, errs[2] = appsv1.NewForConfigAndClient(cfg, hc)
	cs.batch, errs[3] = batchv1.NewForConfigAndClient(cfg, hc)
	cs.admission, errs[4] = admissionregistrationv1.NewForConfigAndClient(cfg, hc)
	cs.authn, errs[5] = authenticationv1.NewForConfigAndClient(cfg, hc)
	cs.authz, errs[6] = authorizationv1.NewForConfigAndClient(cfg, hc)
	cs.slices, errs[7] = discoveryv1.NewForConfigAndClient(cfg, hc)
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
	}
	return &cs, nil
}

// clientset is NewClientset's Clientset.
type clientset struct {
	discovery *discovery.DiscoveryClient
	core      *corev1.CoreV1Client
	apps      *appsv1.AppsV1Client
	batch     *batchv1.BatchV1Client
	admission *admissionregistrationv1.AdmissionregistrationV1Client
	authn     *authenticationv1.AuthenticationV1Client
	authz     *authorizationv1.AuthorizationV1Client
	slices    *discoveryv1.DiscoveryV1Client
}

func (c *clientset) Discovery() discovery.DiscoveryInterfaces { return c.discovery }
func (c *clientset) CoreV1() corev1.CoreV1Interface           { return c.core }
func (c *clientset) AppsV1() appsv1.AppsV1Interface           { return c.apps }
func (c *clientset) BatchV1() batchv1.BatchV1Interface        { return c.batch }
func (c *clientset) AdmissionregistrationV1() admissionregistrationv1.AdmissionregistrationV1Interface {
	return c.admission
}
func (c *clientset) AuthenticationV1() authenticationv1.AuthenticationV1Interface { return c.authn }
func (c *clientset) AuthorizationV1() authorizationv1.AuthorizationV1Interface    { return c.authz }
func (c *clientset) DiscoveryV1() discoveryv1.DiscoveryV1Interface                { return c.slices }

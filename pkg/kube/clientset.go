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
	var cs clientset
	for _, build := range []func() error{
		func() (err error) {
			cs.discovery, err = discovery.NewDiscoveryClientForConfigAndClient(cfg, hc)
			return
		},
		func() (err error) { cs.core, err = corev1.NewForConfigAndClient(cfg, hc); return },
		func() (err error) { cs.apps, err = appsv1.NewForConfigAndClient(cfg, hc); return },
		func() (err error) { cs.batch, err = batchv1.NewForConfigAndClient(cfg, hc); return },
		func() (err error) {
			cs.admission, err = admissionregistrationv1.NewForConfigAndClient(cfg, hc)
			return
		},
		func() (err error) { cs.authn, err = authenticationv1.NewForConfigAndClient(cfg, hc); return },
		func() (err error) { cs.authz, err = authorizationv1.NewForConfigAndClient(cfg, hc); return },
		func() (err error) { cs.slices, err = discoveryv1.NewForConfigAndClient(cfg, hc); return },
	} {
		if err := build(); err != nil {
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

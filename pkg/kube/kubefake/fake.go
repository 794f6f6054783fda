// Package kubefake is the fake twin of pkg/kube's Factory, built from
// client-go fakes, for narrow unit tests. It lives apart so that the fake
// clientset is never linked into the meshctl binary.
package kubefake

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/kube"
)

// FakeFactory is a kube.Factory backed by client-go fakes, for narrow unit tests.
// Anything that must behave like a real API server is tested against the
// local cluster instead (hack/cluster).
type FakeFactory struct {
	Clientset     *fake.Clientset
	DynamicClient *dynamicfake.FakeDynamicClient
	// Err, when set, is returned by every method, to simulate an unreachable cluster.
	Err error
}

// NewFakeFactory returns a FakeFactory seeded with objects decoded from YAML
// documents (one object per string).
func NewFakeFactory(manifests ...string) (*FakeFactory, error) {
	objs := make([]runtime.Object, 0, len(manifests))
	for i, m := range manifests {
		js, err := yaml.YAMLToJSON([]byte(m))
		if err != nil {
			return nil, fmt.Errorf("fake object %d: %w", i, err)
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("fake object %d: %w", i, err)
		}
		objs = append(objs, obj)
	}
	return &FakeFactory{
		Clientset:     fake.NewClientset(objs...),
		DynamicClient: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme.Scheme, meshListKinds()),
	}, nil
}

// meshListKinds names the list kinds of the mesh's custom resources that
// components watch, which the fake dynamic client must know to list them.
func meshListKinds() map[schema.GroupVersionResource]string {
	return map[schema.GroupVersionResource]string{
		{Group: "meshctl.io", Version: "v1alpha1", Resource: "serviceprofiles"}: "ServiceProfileList",
	}
}

// RESTConfig returns a config pointing nowhere.
func (f *FakeFactory) RESTConfig() (*rest.Config, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return &rest.Config{Host: "https://fake.invalid"}, nil
}

// Kubernetes returns the fake clientset.
func (f *FakeFactory) Kubernetes() (kube.Clientset, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return f.Clientset, nil
}

// Dynamic returns the fake dynamic client.
func (f *FakeFactory) Dynamic() (dynamic.Interface, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return f.DynamicClient, nil
}

package install

import (
	"crypto/x509"
	"encoding/pem"
	"regexp"
	"testing"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	corev1 "k8s.io/api/core/v1"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

func newScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apiextv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

var streamSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAllStrict decodes every document of a YAML stream into its typed
// Kubernetes object, failing on unknown or duplicate fields, and checks the
// labels every meshctl object carries.
func decodeAllStrict(t testing.TB, stream []byte) []runtime.Object {
	t.Helper()
	s := newScheme(t)
	var objs []runtime.Object
	for i, doc := range streamSeparator.Split(string(stream), -1) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if head.Kind == "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(head.APIVersion)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		obj, err := s.New(gv.WithKind(head.Kind))
		if err != nil {
			t.Fatalf("document %d: %s %s is not a known type: %v", i, head.APIVersion, head.Kind, err)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("document %d (%s) does not decode strictly: %v\n%s", i, head.Kind, err, doc)
		}
		m, ok := obj.(interface{ GetLabels() map[string]string })
		if !ok {
			t.Fatalf("document %d: %T has no labels", i, obj)
		}
		if m.GetLabels()[meshapi.LabelPartOf] != meshapi.PartOfValue || m.GetLabels()[meshapi.LabelControlPlaneNS] == "" {
			t.Errorf("document %d (%s): labels %v lack %s=%s or %s", i, head.Kind, m.GetLabels(), meshapi.LabelPartOf, meshapi.PartOfValue, meshapi.LabelControlPlaneNS)
		}
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		t.Fatal("no documents")
	}
	return objs
}

// checkIdentityChain checks that the rendered issuer Secret validates
// against the rendered trust roots.
func checkIdentityChain(t *testing.T, objs []runtime.Object) {
	t.Helper()
	var anchors, crt, key []byte
	for _, o := range objs {
		switch x := o.(type) {
		case *corev1.ConfigMap:
			if x.Name == meshapi.TrustRootsConfigMapName {
				anchors = []byte(x.Data[meshapi.TrustRootsKey])
			}
		case *corev1.Secret:
			if x.Name == meshapi.IssuerSecretName {
				crt, key = x.Data["tls.crt"], x.Data["tls.key"]
				if x.Type != corev1.SecretTypeTLS {
					t.Errorf("issuer Secret type %q", x.Type)
				}
			}
		}
	}
	iss, err := identity.ValidateIssuer(anchors, crt, key, time.Time{})
	if err != nil {
		t.Fatalf("rendered issuer does not validate: %v", err)
	}
	anchor := iss.Anchors[0]
	if life := anchor.NotAfter.Sub(anchor.NotBefore); life < TrustAnchorLifetime {
		t.Errorf("anchor lifetime %s, want 10 years", life)
	}
	if life := iss.Cert.NotAfter.Sub(iss.Cert.NotBefore); life < IssuerLifetime || life > IssuerLifetime+identity.ClockSkew+1 {
		t.Errorf("issuer lifetime %s, want 1 year", life)
	}
	if iss.Cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("issuer key %s, want ECDSA", iss.Cert.PublicKeyAlgorithm)
	}
	if b, _ := pem.Decode(crt); b == nil {
		t.Error("issuer certificate is not PEM")
	}
}

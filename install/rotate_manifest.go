package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// lastApplied is kubectl's annotation; it must not travel into a manifest.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// applyMeta keeps what an applied manifest should carry of a live object:
// name, namespace, labels and annotations (server-set fields dropped).
func applyMeta(m metav1.ObjectMeta, name, namespace string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: maps.Clone(m.Labels), Annotations: maps.Clone(m.Annotations)}
	delete(out.Annotations, lastApplied)
	if len(out.Annotations) == 0 {
		out.Annotations = nil
	}
	return out
}

// anchorObjects are the two ConfigMaps that carry the trust anchors, with
// bundlePEM in both, and the trust-root-sha256 of proxies injected after.
// Other data keys and the labels of the live objects are kept, so applying
// them changes nothing else.
func (c *current) anchorObjects(st RotationState, bundlePEM []byte) ([]any, string, error) {
	roots := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: applyMeta(st.TrustRoots.ObjectMeta, meshapi.TrustRootsConfigMapName, c.ns),
		Data:       maps.Clone(st.TrustRoots.Data),
	}
	roots.Data[meshapi.TrustRootsKey] = string(bundlePEM)
	v := *c.values
	v.Identity.TrustAnchorsPEM = string(bundlePEM)
	stored, err := v.YAML()
	if err != nil {
		return nil, "", err
	}
	cfg := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: applyMeta(st.Config.ObjectMeta, meshapi.ConfigMapName, c.ns),
		Data:       maps.Clone(st.Config.Data),
	}
	cfg.Data[meshapi.ConfigMapValuesKey] = string(stored)
	return []any{roots, cfg}, trustRootSHA256(v.Identity.TrustAnchorsPEM), nil
}

// issuerSecret is the issuer Secret with a new certificate and key.
func issuerSecret(live *corev1.Secret, ns string, crt, key []byte) *corev1.Secret {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: applyMeta(live.ObjectMeta, meshapi.IssuerSecretName, ns),
		Type:       corev1.SecretTypeTLS,
		Data:       maps.Clone(live.Data),
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	// A ca.crt of an earlier issuer would be stale: the anchors live in the
	// trust-roots ConfigMap.
	delete(s.Data, "ca.crt")
	s.Data[corev1.TLSCertKey] = crt
	s.Data[corev1.TLSPrivateKeyKey] = key
	return s
}

// stagedSecret holds the next issuer and its anchor between stages 1 and 2.
func stagedSecret(ns string, crt, key, caPEM []byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: StagedIssuerSecretName, Namespace: ns,
			Labels:      map[string]string{meshapi.LabelPartOf: meshapi.PartOfValue},
			Annotations: map[string]string{"meshctl.io/created-by": "meshctl identity rotate anchors"},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key, "ca.crt": caPEM},
	}
}

// encodeRotation writes objs as a YAML stream, then decodes the stream
// back as typed objects and checks each: the ConfigMaps' anchors parse, the
// stored values decode, and every issuer Secret validates (the issuer one
// under bundlePEM, as the identity controller will load it; the staged one
// under its own ca.crt and bundlePEM).
func encodeRotation(objs []any, bundlePEM []byte, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		j, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(j, &m); err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		if meta, ok := m["metadata"].(map[string]any); ok {
			delete(meta, "creationTimestamp")
		}
		y, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		buf.WriteString("---\n")
		buf.Write(y)
	}
	if err := ValidateRotationManifest(buf.Bytes(), bundlePEM, now); err != nil {
		return nil, fmt.Errorf("the manifest does not validate (a bug): %w", err)
	}
	return buf.Bytes(), nil
}

// ValidateRotationManifest decodes every document of a rotation manifest
// strictly as a ConfigMap or Secret and checks its content: the trust roots
// parse as certificates, the stored values decode, and every issuer Secret
// holds an issuer the identity controller accepts under bundlePEM.
func ValidateRotationManifest(manifest, bundlePEM []byte, now time.Time) error {
	docs := strings.Split(string(manifest), "\n---\n")
	n := 0
	for _, d := range docs {
		d = strings.TrimPrefix(strings.TrimSpace(d), "---")
		if strings.TrimSpace(d) == "" {
			continue
		}
		n++
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(d), &tm); err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
		var err error
		switch {
		case tm.APIVersion == "v1" && tm.Kind == "ConfigMap":
			err = validateConfigMap([]byte(d))
		case tm.APIVersion == "v1" && tm.Kind == "Secret":
			err = validateSecret([]byte(d), bundlePEM, now)
		default:
			err = fmt.Errorf("unexpected %s %s", tm.APIVersion, tm.Kind)
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
	}
	if n == 0 {
		return fmt.Errorf("no documents")
	}
	return nil
}

func validateConfigMap(doc []byte) error {
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(doc, &cm); err != nil {
		return fmt.Errorf("ConfigMap: %w", err)
	}
	if cm.Namespace == "" {
		return fmt.Errorf("ConfigMap %s has no namespace", cm.Name)
	}
	switch cm.Name {
	case meshapi.TrustRootsConfigMapName:
		if _, err := identity.ParseCertificates([]byte(cm.Data[meshapi.TrustRootsKey])); err != nil {
			return fmt.Errorf("ConfigMap %s key %s: %w", cm.Name, meshapi.TrustRootsKey, err)
		}
	case meshapi.ConfigMapName:
		v, err := parseStoredValues([]byte(cm.Data[meshapi.ConfigMapValuesKey]))
		if err != nil {
			return fmt.Errorf("ConfigMap %s: %w", cm.Name, err)
		}
		if _, err := identity.ParseCertificates([]byte(v.Identity.TrustAnchorsPEM)); err != nil {
			return fmt.Errorf("ConfigMap %s identity.trustAnchorsPEM: %w", cm.Name, err)
		}
	default:
		return fmt.Errorf("unexpected ConfigMap %s", cm.Name)
	}
	return nil
}

func validateSecret(doc, bundlePEM []byte, now time.Time) error {
	var s corev1.Secret
	if err := yaml.UnmarshalStrict(doc, &s); err != nil {
		return fmt.Errorf("Secret: %w", err)
	}
	if s.Namespace == "" || s.Type != corev1.SecretTypeTLS {
		return fmt.Errorf("Secret %s: want a namespaced %s Secret", s.Name, corev1.SecretTypeTLS)
	}
	crt, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	switch s.Name {
	case meshapi.IssuerSecretName:
		if _, err := identity.ValidateIssuer(bundlePEM, crt, key, now); err != nil {
			return fmt.Errorf("Secret %s: %w", s.Name, err)
		}
	case StagedIssuerSecretName:
		if _, err := identity.ValidateIssuer(s.Data["ca.crt"], crt, key, now); err != nil {
			return fmt.Errorf("Secret %s: %w", s.Name, err)
		}
		if _, err := identity.ValidateIssuer(bundlePEM, crt, key, now); err != nil {
			return fmt.Errorf("Secret %s: %w", s.Name, err)
		}
	default:
		return fmt.Errorf("unexpected Secret %s", s.Name)
	}
	return nil
}

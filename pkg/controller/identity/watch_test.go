package identity

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

func TestIssuerReloaderPicksUpRotation(t *testing.T) {
	now := time.Now()
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root", Lifetime: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(cn string) *identity.CA {
		ca, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: cn, Lifetime: 12 * time.Hour, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	first := issue("issuer-1")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: meshapi.IssuerSecretName, Namespace: "meshctl"}, Data: map[string][]byte{"tls.crt": first.CertPEM, "tls.key": first.KeyPEM}}
	cs := fake.NewClientset(secret, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: meshapi.TrustRootsConfigMapName, Namespace: "meshctl"}, Data: map[string]string{meshapi.TrustRootsKey: string(root.CertPEM)}})
	store := &IssuerStore{}
	refused := make(chan error, 10)
	r := &IssuerReloader{Client: cs, Namespace: "meshctl", Store: store, Retry: 10 * time.Millisecond, OnRefused: func(err error) { refused <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	waitFor := func(cn string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if ca := store.CA(); ca != nil && ca.Cert.Subject.CommonName == cn {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("issuer %s was not loaded", cn)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("issuer-1")

	// A valid rotation is taken without a restart.
	second := issue("issuer-2")
	secret.Data = map[string][]byte{"tls.crt": second.CertPEM, "tls.key": second.KeyPEM}
	if _, err := cs.CoreV1().Secrets("meshctl").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("issuer-2")

	// A foreign issuer is refused and reported; issuer-2 keeps signing.
	foreign, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "foreign", Lifetime: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{"tls.crt": foreign.CertPEM, "tls.key": foreign.KeyPEM}
	if _, err := cs.CoreV1().Secrets("meshctl").Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-refused:
	case <-time.After(5 * time.Second):
		t.Fatal("the foreign issuer was not reported as refused")
	}
	if ca := store.CA(); ca == nil || ca.Cert.Subject.CommonName != "issuer-2" {
		t.Fatalf("current issuer after a refused rotation: %v", ca)
	}
}

// TestIssuerReloaderChecksNewAnchors: trust roots that no longer include
// the issuer's root are refused (reported) and the issuer keeps signing.
func TestIssuerReloaderChecksNewAnchors(t *testing.T) {
	now := time.Now()
	root, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "root", Lifetime: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := root.IssueIntermediate(identity.GenerateOptions{CommonName: "issuer", Lifetime: 12 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	other, err := identity.GenerateRoot(identity.GenerateOptions{CommonName: "other", Lifetime: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: meshapi.TrustRootsConfigMapName, Namespace: "meshctl"}, Data: map[string]string{meshapi.TrustRootsKey: string(root.CertPEM)}}
	cs := fake.NewClientset(cm, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: meshapi.IssuerSecretName, Namespace: "meshctl"}, Data: map[string][]byte{"tls.crt": issuer.CertPEM, "tls.key": issuer.KeyPEM}})
	store := &IssuerStore{}
	refused := make(chan error, 10)
	r := &IssuerReloader{Client: cs, Namespace: "meshctl", Store: store, Retry: 10 * time.Millisecond, OnRefused: func(err error) { refused <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for store.CA() == nil {
		if time.Now().After(deadline) {
			t.Fatal("issuer not loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cm.Data = map[string]string{meshapi.TrustRootsKey: string(other.CertPEM)}
	if _, err := cs.CoreV1().ConfigMaps("meshctl").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-refused:
	case <-time.After(5 * time.Second):
		t.Fatal("trust roots without the issuer's root were not reported")
	}
	if ca := store.CA(); ca == nil || ca.Cert.Subject.CommonName != "issuer" {
		t.Fatalf("issuer after refused roots: %v", ca)
	}
}

package install

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	ctrlidentity "github.com/meshctl/meshctl/pkg/controller/identity"
)

// putState writes the rotation objects of st into the fake cluster, as
// kubectl apply would.
func putState(t *testing.T, cs kubernetes.Interface, st RotationState) {
	t.Helper()
	ctx := context.Background()
	for _, cm := range []*corev1.ConfigMap{st.TrustRoots, st.Config} {
		if _, err := cs.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			if _, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range []*corev1.Secret{st.Issuer, st.Staged} {
		if s == nil {
			continue
		}
		if _, err := cs.CoreV1().Secrets(s.Namespace).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			if _, err := cs.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRotateAnchorsWithController walks the anchor rotation against a fake
// API server: each stage is planned from what ReadRotationState reads, its
// manifest applied, and the identity controller's own IssuerReloader must
// load the issuer after every stage. Applying stage 2's Secret without
// stage 1's trust roots is refused by the same reloader: the order matters.
func TestRotateAnchorsWithController(t *testing.T) {
	ctx := context.Background()
	installed := installedState(t)
	cs := fake.NewClientset()
	putState(t, cs, installed)
	var refused []error
	reloader := &ctrlidentity.IssuerReloader{
		Client: cs, Namespace: installed.Namespace, Store: &ctrlidentity.IssuerStore{}, Now: fixedNow,
		OnRefused: func(err error) { refused = append(refused, err) },
	}
	if err := reloader.Reload(ctx); err != nil {
		t.Fatalf("installed: %v", err)
	}
	var stage2 []byte
	for stage := 1; stage <= AnchorStages; stage++ {
		st, err := ReadRotationState(ctx, cs, installed.Namespace)
		if err != nil {
			t.Fatal(err)
		}
		p, err := PlanRotation(*st, anchorOpts(t, 0))
		if err != nil || p.Stage != stage {
			t.Fatalf("stage %d: %+v, %v", stage, p, err)
		}
		if stage == 2 {
			stage2 = p.Manifest
		}
		applyManifest(t, st, p.Manifest)
		putState(t, cs, *st)
		if err := reloader.Reload(ctx); err != nil {
			t.Fatalf("after stage %d the identity controller refuses the issuer: %v", stage, err)
		}
	}
	if len(refused) != 0 {
		t.Fatalf("refused: %v", refused)
	}
	st, err := ReadRotationState(ctx, cs, installed.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := DetectAnchorStage(*st, fixedNow()); err != nil || !d.Done {
		t.Fatalf("after the walk: %+v, %v", d, err)
	}

	// Out of order: the new issuer on a cluster that still trusts only the
	// old anchor is refused, and the old issuer keeps signing.
	cs = fake.NewClientset()
	putState(t, cs, installed)
	reloader = &ctrlidentity.IssuerReloader{Client: cs, Namespace: installed.Namespace, Store: &ctrlidentity.IssuerStore{}, Now: fixedNow}
	if err := reloader.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	early := installed
	applyManifest(t, &early, stage2)
	putState(t, cs, early)
	if err := reloader.Reload(ctx); err == nil || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("new issuer before the bundle: %v, want a refusal", err)
	}
}

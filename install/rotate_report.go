package install

import (
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshctl/meshctl/pkg/kube"
	"github.com/meshctl/meshctl/pkg/meshapi"
)

// WriteRotationReport writes what a stage does and what to run next, for
// people (stderr): the manifest itself goes to stdout.
func WriteRotationReport(w io.Writer, p *RotationPlan) {
	if p.Done {
		fmt.Fprintf(w, "Trust-anchor rotation: %s.\n", p.Title)
	} else {
		fmt.Fprintf(w, "%s rotation, stage %d of %d: %s.\n", titleCase(string(p.Kind)), p.Stage, p.Stages, p.Title)
	}
	for _, s := range p.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", s)
	}
	for _, s := range p.Does {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if len(p.Then) > 0 {
		fmt.Fprintln(w, "Then:")
		for _, s := range p.Then {
			if strings.HasSuffix(s, ":") {
				fmt.Fprintf(w, "  %s\n", s)
				continue
			}
			fmt.Fprintf(w, "    %s\n", s)
		}
	}
	if p.Next != "" {
		fmt.Fprintf(w, "Next stage:\n    %s\n", p.Next)
	} else if !p.Done {
		fmt.Fprintln(w, "This is the last stage.")
	}
}

func titleCase(s string) string {
	switch s {
	case string(RotateAnchors):
		return "Trust-anchor"
	case string(RotateIssuer):
		return "Issuer"
	}
	return s
}

// anchorOutline is the plan of each stage, for --dry-run.
func anchorOutline() []struct{ title, does, check string } {
	return []struct{ title, does, check string }{
		{"bundle the old and new trust anchors",
			"Generate a new trust anchor and a new issuer signed by it. ConfigMaps " + meshapi.TrustRootsConfigMapName + " and " + meshapi.ConfigMapName + " trust old and new anchors; Secret " + StagedIssuerSecretName + " stages the new issuer. With --output-dir the new anchor's key is written there (keep it to rotate the issuer later).",
			"meshctl upgrade | kubectl apply -f -, then kubectl rollout restart every meshed workload; meshctl check --proxy; every meshed pod's meshctl.io/trust-root-sha256 matches the bundle"},
		{"switch the issuer to the new one",
			"Secret " + meshapi.IssuerSecretName + " takes the staged issuer. It chains to the new anchor, which the trust roots already hold, so the identity controller accepts it.",
			"kubectl rollout restart every meshed workload (or wait for renewal, 17 h); meshctl identity shows the new issuer; meshctl check --proxy"},
		{"drop the old trust anchor",
			"ConfigMaps " + meshapi.TrustRootsConfigMapName + " and " + meshapi.ConfigMapName + " trust only the anchors the issuer chains to.",
			"meshctl upgrade | kubectl apply -f -, then kubectl rollout restart every meshed workload; meshctl check --proxy; kubectl delete secret " + StagedIssuerSecretName},
	}
}

// WriteRotationOutline writes the plan of every stage of a rotation without
// generating keys (--dry-run). detected, when not nil, marks where the
// cluster stands.
func WriteRotationOutline(w io.Writer, kind RotateKind, detected *AnchorStage) {
	if kind == RotateIssuer {
		fmt.Fprintln(w, "Issuer rotation (1 stage):")
		fmt.Fprintln(w, "  1. replace the identity issuer")
		fmt.Fprintln(w, "     Sign a new issuer with the trust anchor given by --root-cert/--root-key (install does not keep the anchor's key), check that it chains to the trust roots of ConfigMap "+meshapi.TrustRootsConfigMapName+", and print Secret "+meshapi.IssuerSecretName+".")
		fmt.Fprintln(w, "     Then: proxies get certificates from the new issuer at renewal or restart; meshctl identity; meshctl check --proxy")
		return
	}
	fmt.Fprintf(w, "Trust-anchor rotation (%d stages, each one run of meshctl identity rotate anchors | kubectl apply -f -):\n", AnchorStages)
	for i, s := range anchorOutline() {
		mark := ""
		if detected != nil && detected.Stage == i+1 {
			mark = "   <- the cluster is here"
		}
		fmt.Fprintf(w, "  %d. %s%s\n", i+1, s.title, mark)
		fmt.Fprintf(w, "     %s\n", s.does)
		fmt.Fprintf(w, "     Then: %s\n", s.check)
	}
	if detected != nil {
		if detected.Done {
			fmt.Fprintln(w, "The cluster has completed the rotation: "+detected.Why+".")
		} else {
			fmt.Fprintf(w, "Detected stage %d: %s.\n", detected.Stage, detected.Why)
		}
	}
}

// ReadRotationState reads the objects a rotation starts from. Missing
// objects are nil (PlanRotation says what is missing); other errors are
// returned.
func ReadRotationState(ctx context.Context, cs kube.Clientset, namespace string) (*RotationState, error) {
	st := &RotationState{Namespace: namespace}
	var err error
	if st.TrustRoots, err = getConfigMap(ctx, cs, namespace, meshapi.TrustRootsConfigMapName); err != nil {
		return nil, err
	}
	if st.Config, err = getConfigMap(ctx, cs, namespace, meshapi.ConfigMapName); err != nil {
		return nil, err
	}
	if st.Issuer, err = getSecret(ctx, cs, namespace, meshapi.IssuerSecretName); err != nil {
		return nil, err
	}
	if st.Staged, err = getSecret(ctx, cs, namespace, StagedIssuerSecretName); err != nil {
		return nil, err
	}
	return st, nil
}

func getConfigMap(ctx context.Context, cs kube.Clientset, ns, name string) (*corev1.ConfigMap, error) {
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get configmap %s/%s: %w", ns, name, err)
	}
	return cm, nil
}

func getSecret(ctx context.Context, cs kube.Clientset, ns, name string) (*corev1.Secret, error) {
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", ns, name, err)
	}
	return s, nil
}

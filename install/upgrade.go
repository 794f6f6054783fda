package install

import (
	"context"
	"errors"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
)

// Upgrade writes the manifest of `meshctl upgrade` to w: the control plane
// re-rendered from the values stored in the cluster's meshctl-config, with
// o's flags and values applied on top, keeping the issuer of the cluster's
// Secret unless new certificate files are given. With o.CRDs it renders the
// CRDs, like Render.
func Upgrade(ctx context.Context, o Options, w io.Writer) error {
	if err := o.prepare(); err != nil {
		return err
	}
	if o.CRDs {
		return Render(ctx, o, w)
	}
	docs, lines, err := renderUpgrade(ctx, o)
	if err != nil {
		return err
	}
	if err := writeDocs(w, docs, o.Output); err != nil {
		return err
	}
	report(o.ErrOut, lines)
	return nil
}

// renderUpgrade renders the control plane from the stored values.
func renderUpgrade(ctx context.Context, o Options) ([]render.Document, []string, error) {
	if o.Cluster == nil {
		return nil, nil, errors.New("this command starts from the values stored in the cluster and cannot run with --ignore-cluster: use `meshctl install --ignore-cluster` to render offline")
	}
	if err := o.Cluster.Ping(ctx); err != nil {
		return nil, nil, unreachable(err)
	}
	raw, found, err := o.Cluster.StoredValues(ctx, o.Namespace)
	if err != nil {
		return nil, nil, unreachable(err)
	}
	if !found {
		return nil, nil, fmt.Errorf("%w in namespace %s (no ConfigMap %s): run `meshctl install` first, or pass --mesh-namespace", ErrNotInstalled, o.Namespace, meshapi.ConfigMapName)
	}
	stored := map[string]any{}
	if err := yaml.Unmarshal(raw, &stored); err != nil {
		return nil, nil, fmt.Errorf("the values stored in ConfigMap %s/%s are not YAML: %w", o.Namespace, meshapi.ConfigMapName, err)
	}
	storedValues, err := decodeValues(stored)
	if err != nil {
		return nil, nil, fmt.Errorf("the values stored in ConfigMap %s/%s: %w", o.Namespace, meshapi.ConfigMapName, err)
	}
	values, err := o.buildValues(stored)
	if err != nil {
		return nil, nil, err
	}
	in := identityInput{opts: o.Identity, values: values, namespace: o.Namespace, now: o.Now(), certs: o.Certs, readFile: o.ReadFile}
	mat, err := in.resolveForUpgrade(storedValues.Identity.TrustAnchorsPEM, func() ([]byte, []byte, error) {
		crt, key, err := o.Cluster.IssuerSecret(ctx, o.Namespace)
		if err != nil {
			return nil, nil, fmt.Errorf("read the identity issuer: %w (pass --identity-*-file certificates to replace it)", err)
		}
		return crt, key, nil
	})
	if err != nil {
		return nil, nil, err
	}
	tapToken, line, err := tapForUpgrade(ctx, values, o.Certs, o.Cluster, o.Namespace)
	if err != nil {
		return nil, nil, err
	}
	if line != "" {
		mat.report = append(mat.report, line)
	}
	docs, err := renderControlPlane(o, values, mat, tapToken)
	if err != nil {
		return nil, nil, err
	}
	return docs, mat.report, nil
}

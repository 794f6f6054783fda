package install

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/meshctl/meshctl/pkg/identity"
	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/render"
)

// ReleaseName is the Helm release name of both charts.
const ReleaseName = "meshctl"

// Render writes the manifest of `meshctl install` to w: the CRDs with
// o.CRDs, the control plane otherwise. With a ClusterInfo it first checks
// that the CRDs are installed and the control plane is not. Nothing is
// written to w unless the whole render succeeds.
func Render(ctx context.Context, o Options, w io.Writer) error {
	if err := o.prepare(); err != nil {
		return err
	}
	if o.CRDs {
		docs, err := renderCRDs(o)
		if err != nil {
			return err
		}
		return writeDocs(w, docs, o.Output)
	}
	values, err := o.buildValues(nil)
	if err != nil {
		return err
	}
	mat, err := identityInput{opts: o.Identity, values: values, namespace: o.Namespace, now: o.Now(), certs: o.Certs, readFile: o.ReadFile}.resolveForInstall()
	if err != nil {
		return err
	}
	if o.Cluster != nil {
		if err := checkBeforeInstall(ctx, o); err != nil {
			return err
		}
	}
	tapToken, line, err := tapForInstall(values, o.Certs, o.Namespace)
	if err != nil {
		return err
	}
	mat.report = append(mat.report, line)
	docs, err := renderControlPlane(o, values, mat, tapToken)
	if err != nil {
		return err
	}
	if err := writeDocs(w, docs, o.Output); err != nil {
		return err
	}
	report(o.ErrOut, mat.report)
	return nil
}

// buildValues merges defaults (or stored values over the defaults), HA,
// overrides and the value options, then validates the result.
func (o *Options) buildValues(stored map[string]any) (*Values, error) {
	defaults, err := DefaultValues(o.FS)
	if err != nil {
		return nil, err
	}
	base, err := defaults.ToMap()
	if err != nil {
		return nil, err
	}
	if stored != nil {
		mergeMaps(base, stored)
	}
	src := valueSources{base: base, overrides: o.Overrides, opts: o.Values, readFile: o.ReadFile}
	if o.HA {
		if src.ha, err = HAValues(o.FS); err != nil {
			return nil, err
		}
	}
	v, err := src.build()
	if err != nil {
		return nil, err
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return v, nil
}

func checkBeforeInstall(ctx context.Context, o Options) error {
	if err := o.Cluster.Ping(ctx); err != nil {
		return unreachable(err)
	}
	crds, err := renderCRDs(o)
	if err != nil {
		return err
	}
	var names []string
	for _, d := range crds {
		names = append(names, d.Name)
	}
	missing, err := o.Cluster.MissingCRDs(ctx, names)
	if err != nil {
		return unreachable(err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("meshctl CRDs must be installed first (missing %s): run `meshctl install --crds | kubectl apply -f -`", strings.Join(missing, ", "))
	}
	_, found, err := o.Cluster.StoredValues(ctx, o.Namespace)
	if err != nil {
		return unreachable(err)
	}
	if found {
		return fmt.Errorf("meshctl is already installed in namespace %s (ConfigMap %s exists): run `meshctl upgrade | kubectl apply -f -` to change it", o.Namespace, meshapi.ConfigMapName)
	}
	return nil
}

func renderCRDs(o Options) ([]render.Document, error) {
	return render.Render(render.Options{
		FS: o.FS, Chart: CRDsChart, Partials: []string{PartialsDir},
		ReleaseName: ReleaseName, Namespace: o.Namespace,
		Values: map[string]any{},
	})
}

func renderControlPlane(o Options, v *Values, mat *identityMaterial, tapToken string) ([]render.Document, error) {
	stored, err := v.YAML()
	if err != nil {
		return nil, err
	}
	caPEM, crt, key, err := o.Certs.WebhookCert(webhookDNSNames(o.Namespace, v.ClusterDomain), o.Now())
	if err != nil {
		return nil, fmt.Errorf("generate the injector's serving certificate: %w", err)
	}
	if certs, err := identity.ParseCertificates(crt); err == nil {
		mat.report = append(mat.report, fmt.Sprintf("Generated the proxy injector's serving certificate (expires %s): Secret %s/%s; every install and upgrade renews it.",
			expiry(certs[0].NotAfter), o.Namespace, meshapi.InjectorTLSSecretName))
	}
	m, err := v.ToMap()
	if err != nil {
		return nil, err
	}
	m["generated"] = generated{
		version:         o.Version,
		storedValues:    string(stored),
		issuerCrtPEM:    mat.issuerCrt,
		issuerKeyPEM:    mat.issuerKey,
		webhookCABundle: string(caPEM),
		webhookCrtPEM:   string(crt),
		webhookKey:      string(key),
		tapToken:        tapToken,
	}.toMap()
	return render.Render(render.Options{
		FS: o.FS, Chart: ControlPlaneChart, Partials: []string{PartialsDir},
		ReleaseName: ReleaseName, Namespace: o.Namespace, Values: m,
	})
}

// writeDocs encodes docs in format into a buffer, then writes it to w.
func writeDocs(w io.Writer, docs []render.Document, format string) error {
	var buf bytes.Buffer
	if err := encode(&buf, docs, format); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func report(w io.Writer, lines []string) {
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

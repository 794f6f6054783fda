package install

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/meshctl/meshctl/pkg/render"
)

// UninstallOptions configure Uninstall.
type UninstallOptions struct {
	// Namespace is the control-plane namespace.
	Namespace string
	// Force uninstalls even while meshed pods remain.
	Force bool
	// Output is yaml (the default) or json.
	Output string
	// Cluster lists what to delete; nil lists what a default install
	// creates (--ignore-cluster).
	Cluster ClusterInfo
	// ErrOut receives the report; nil discards it.
	ErrOut io.Writer
	// Install carries the chart source and clock for the offline listing.
	Install Options
}

// Uninstall writes the objects to delete, for `kubectl delete -f -`: every
// object labelled as part of the control plane (CRDs included), webhooks
// first and the namespace last. It refuses while pods outside the control
// plane are still meshed, unless Force.
func Uninstall(ctx context.Context, o UninstallOptions, w io.Writer) error {
	in := o.Install
	in.Namespace, in.Output, in.ErrOut = o.Namespace, o.Output, o.ErrOut
	if err := in.prepare(); err != nil {
		return err
	}
	var refs []ObjectRef
	if o.Cluster == nil {
		var err error
		if refs, err = offlineObjects(in); err != nil {
			return err
		}
	} else {
		if err := o.Cluster.Ping(ctx); err != nil {
			return unreachable(err)
		}
		pods, err := o.Cluster.MeshedPods(ctx, in.Namespace)
		if err != nil {
			return unreachable(err)
		}
		if len(pods) > 0 && !o.Force {
			return fmt.Errorf("%d meshed pods remain outside the control plane (%s): uninject or delete them first (meshctl uninject), or pass --force",
				len(pods), abbreviate(pods, 5))
		}
		if refs, err = o.Cluster.LabelledObjects(ctx, in.Namespace); err != nil {
			return unreachable(err)
		}
		if len(refs) == 0 {
			fmt.Fprintf(in.ErrOut, "Nothing to uninstall: no objects labelled as the control plane of namespace %s.\n", in.Namespace)
		}
	}
	return writeRefs(w, refs, in.Output, true)
}

// offlineObjects lists what a default install renders.
func offlineObjects(o Options) ([]ObjectRef, error) {
	crds, err := renderCRDs(o)
	if err != nil {
		return nil, err
	}
	values, err := o.buildValues(nil)
	if err != nil {
		return nil, err
	}
	mat, err := identityInput{values: values, namespace: o.Namespace, now: o.Now(), certs: o.Certs}.resolveForInstall()
	if err != nil {
		return nil, err
	}
	tapToken, _, err := tapForInstall(values, o.Certs, o.Namespace)
	if err != nil {
		return nil, err
	}
	cp, err := renderControlPlane(o, values, mat, tapToken)
	if err != nil {
		return nil, err
	}
	return docRefs(append(crds, cp...))
}

// docRefs names rendered documents.
func docRefs(docs []render.Document) ([]ObjectRef, error) {
	refs := make([]ObjectRef, 0, len(docs))
	for _, d := range docs {
		r, err := refOf(d)
		if err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	return refs, nil
}

// writeRefs writes refs as minimal objects (apiVersion, kind, metadata),
// in install order or, for deletion, in reverse.
func writeRefs(w io.Writer, refs []ObjectRef, format string, reverse bool) error {
	sorted := append([]ObjectRef(nil), refs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		ra, rb := render.KindRank(a.Kind), render.KindRank(b.Kind)
		if ra != rb {
			return (ra < rb) != reverse
		}
		return a.String() < b.String()
	})
	docs := make([]render.Document, len(sorted))
	for i, r := range sorted {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", r.APIVersion, r.Kind, r.Name)
		if r.Namespace != "" {
			fmt.Fprintf(&b, "  namespace: %s\n", r.Namespace)
		}
		docs[i] = render.Document{Source: "cluster", Kind: r.Kind, Name: r.Name, Content: b.String()}
	}
	return writeDocs(w, docs, format)
}

func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

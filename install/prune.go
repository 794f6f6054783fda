package install

import (
	"context"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/meshctl/meshctl/pkg/render"
)

// Prune writes, for `kubectl delete -f -`, the objects labelled as part of
// the control plane that the upgrade render (stored values plus o's flags)
// no longer contains. CRDs are never pruned: uninstall removes them.
func Prune(ctx context.Context, o Options, w io.Writer) error {
	if err := o.prepare(); err != nil {
		return err
	}
	docs, _, err := renderUpgrade(ctx, o)
	if err != nil {
		return err
	}
	rendered, err := docRefs(docs)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, r := range rendered {
		keep[r.Kind+"/"+r.Namespace+"/"+r.Name] = true
	}
	live, err := o.Cluster.LabelledObjects(ctx, o.Namespace)
	if err != nil {
		return unreachable(err)
	}
	var stale []ObjectRef
	for _, r := range live {
		if r.Kind == "CustomResourceDefinition" || keep[r.Kind+"/"+r.Namespace+"/"+r.Name] {
			continue
		}
		stale = append(stale, r)
	}
	if len(stale) == 0 {
		fmt.Fprintln(o.ErrOut, "Nothing to prune: every labelled object is still rendered.")
	}
	return writeRefs(w, stale, o.Output, true)
}

// refOf names a rendered document.
func refOf(d render.Document) (ObjectRef, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal([]byte(d.Content), &head); err != nil {
		return ObjectRef{}, fmt.Errorf("%s: %w", d.Source, err)
	}
	return ObjectRef{APIVersion: head.APIVersion, Kind: head.Kind, Namespace: head.Metadata.Namespace, Name: head.Metadata.Name}, nil
}

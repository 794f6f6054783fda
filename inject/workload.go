package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// workload injects or uninjects the pod template of obj. An error is a
// refusal: the resource must not be transformed.
func (t *transformer) workload(obj *yaml.Node, h header, info kindInfo, r *Resource) error {
	tpl, err := podTemplate(obj, info.template)
	if err != nil {
		return err
	}
	if t.opts.Uninject {
		r.Action = ActionSkipped
		if strip(tpl, nil, nil) {
			r.Action = ActionUninjected
		}
		return nil
	}
	spec, err := decodeTemplate(tpl)
	if err != nil {
		return err
	}
	ns := h.namespace
	if ns == "" {
		ns = "default"
	}
	d, err := t.opts.Injector.Decide(sidecar.Request{
		Owner:                sidecar.Owner{Kind: h.kind, Name: h.name},
		Namespace:            ns,
		Template:             *spec,
		NamespaceAnnotations: t.nsAnnotations[h.namespace],
		Values:               t.opts.Values,
		SkipRender:           !t.opts.Manual,
		// The patch's containers go out as cached text (splice.go): they
		// need no copy per pod.
		SharedSpec: t.splices != nil,
	})
	if err != nil {
		return err
	}
	r.Decision = d
	for _, w := range d.Warnings {
		r.Warnings = append(r.Warnings, r.ref()+" "+w.Message)
	}
	if len(d.Refusals) > 0 {
		msgs := make([]string, len(d.Refusals))
		for i, rf := range d.Refusals {
			msgs[i] = rf.Message
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	if !d.Inject {
		r.Action = ActionSkipped
		for _, s := range d.Skips {
			r.Reason = s.Message
			if s.Code == sidecar.ReasonInjectDisabled {
				r.Warnings = append(r.Warnings, fmt.Sprintf(`"%s: %s" annotation set on %s`, meshapi.AnnotationInject, meshapi.InjectDisabled, r.ref()))
			}
		}
		return nil
	}
	// The report needs the verdict, not the rendered values and nodes.
	patch := d.Patch
	d.Patch, d.Values = nil, nil
	if t.opts.Manual {
		if err := applyPatch(tpl, patch); err != nil {
			return err
		}
		if t.splices != nil {
			t.pending = append(t.pending, patchSplices(patch)...)
		}
		r.Action = ActionInjected
		return nil
	}
	if sidecar.ProtectedNamespace(ns, t.opts.MeshNamespace) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s is in namespace %s, which the injector never meshes: use --manual", r.ref(), ns))
	}
	r.Annotations = t.annotations()
	strip(tpl, map[string]bool{meshapi.AnnotationInject: true}, nil)
	if err := setMeta(tpl, nil, r.Annotations); err != nil {
		return err
	}
	r.Action = ActionInjected
	return nil
}

// podTemplate walks path from obj to the pod template, creating the
// template's metadata when missing (a CronJob's often has none).
func podTemplate(obj *yaml.Node, path []string) (*yaml.Node, error) {
	cur := obj
	for _, k := range path {
		next := sidecar.MapGet(cur, k)
		if next == nil {
			return nil, fmt.Errorf("has no pod template (%s missing)", strings.Join(path, "."))
		}
		if next.Kind == yaml.AliasNode {
			return nil, errAlias
		}
		if next.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s is not a mapping", k)
		}
		cur = next
	}
	if sidecar.MapGet(cur, "spec") == nil {
		return nil, errors.New("the pod template has no spec")
	}
	return cur, nil
}

// decodeTemplate reads a pod template node as a PodTemplateSpec.
func decodeTemplate(tpl *yaml.Node) (*corev1.PodTemplateSpec, error) {
	// Straight from the nodes to JSON (json.go) costs about half of going
	// through Go values (measured on 10,000 documents); a template JSON
	// cannot hold that way (merge keys) takes the long road.
	var b bytes.Buffer
	if err := writeJSON(&b, tpl); err != nil {
		var v any
		if err := tpl.Decode(&v); err != nil {
			return nil, fmt.Errorf("invalid pod template: %w", err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("invalid pod template: %w", err)
		}
		b.Reset()
		b.Write(j)
	}
	var spec corev1.PodTemplateSpec
	if err := json.Unmarshal(b.Bytes(), &spec); err != nil {
		return nil, fmt.Errorf("invalid pod template: %w", err)
	}
	return &spec, nil
}

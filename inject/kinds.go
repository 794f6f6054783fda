package inject

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// kindInfo says how inject treats one kind.
type kindInfo struct {
	// groups are the API groups the kind is recognised in ("" is core).
	groups []string
	// template is the path from the object to its pod template; nil for
	// the Pod itself.
	template []string
}

// workloadKinds are the kinds whose pod template is injected.
func workloadKinds() map[string]kindInfo {
	tpl := []string{"spec", "template"}
	apps := []string{"apps", "extensions"}
	return map[string]kindInfo{
		"Deployment":            {groups: apps, template: tpl},
		"StatefulSet":           {groups: apps, template: tpl},
		"DaemonSet":             {groups: apps, template: tpl},
		"ReplicaSet":            {groups: apps, template: tpl},
		"ReplicationController": {groups: []string{""}, template: tpl},
		"Job":                   {groups: []string{"batch"}, template: tpl},
		"CronJob":               {groups: []string{"batch"}, template: []string{"spec", "jobTemplate", "spec", "template"}},
		"Pod":                   {groups: []string{""}},
	}
}

// header is what inject reads from every object.
type header struct {
	apiVersion, kind, name, namespace string
}

func readHeader(obj *yaml.Node) header {
	h := header{
		apiVersion: scalar(sidecar.MapGet(obj, "apiVersion")),
		kind:       scalar(sidecar.MapGet(obj, "kind")),
	}
	meta := sidecar.MapGet(obj, "metadata")
	h.name = scalar(sidecar.MapGet(meta, "name"))
	if h.name == "" {
		h.name = scalar(sidecar.MapGet(meta, "generateName"))
	}
	h.namespace = scalar(sidecar.MapGet(meta, "namespace"))
	return h
}

// group returns the API group of the header's apiVersion.
func (h header) group() string {
	g, _, ok := strings.Cut(h.apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

// core reports whether the object is in the core group (apiVersion v1).
func (h header) core() bool { return h.apiVersion == "v1" }

// is reports whether the header is kind in one of groups.
func (h header) is(kind string, groups ...string) bool {
	if h.kind != kind {
		return false
	}
	g := h.group()
	for _, want := range groups {
		if want == "" && h.core() || want != "" && g == want {
			return true
		}
	}
	return false
}

// ref is how reports name an object: lower-case kind/name.
func (h header) ref() string {
	return strings.ToLower(h.kind) + "/" + h.name
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

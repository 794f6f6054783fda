package injector

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// jsonPatch turns a sidecar patch into the JSON Patch (RFC 6902) that adds
// it to pod: labels and annotations set, init containers (and, without
// native sidecars, the proxy container) put first, volumes appended.
func jsonPatch(pod *corev1.Pod, p *sidecar.Patch) ([]byte, error) {
	var ops []jsonPatchOp
	meta := func(field string, existing map[string]string, kvs []sidecar.KV) {
		if len(kvs) == 0 {
			return
		}
		if existing == nil {
			m := map[string]string{}
			for _, kv := range kvs {
				m[kv.Key] = kv.Value
			}
			ops = append(ops, jsonPatchOp{"add", "/metadata/" + field, m})
			return
		}
		for _, kv := range kvs {
			ops = append(ops, jsonPatchOp{"add", "/metadata/" + field + "/" + escape(kv.Key), kv.Value})
		}
	}
	meta("labels", pod.Labels, p.Labels)
	meta("annotations", pod.Annotations, p.Annotations)
	// Items of ours already in the pod (left by an injection half removed
	// by hand: Decide calls a pod with our proxy injected) go first, as
	// `meshctl inject` drops them, so that ours go in where they go in a
	// clean pod: a second item of one name would make the API server
	// refuse the pod, and the init container must stay before the proxy.
	list := func(field string, existing []string, owned func(string) bool, nodes []*yaml.Node, first bool) error {
		if len(nodes) == 0 {
			return nil
		}
		vals := make([]any, len(nodes))
		for i, n := range nodes {
			if err := n.Decode(&vals[i]); err != nil {
				return fmt.Errorf("decode the sidecar's %s: %w", field, err)
			}
		}
		if existing == nil {
			ops = append(ops, jsonPatchOp{"add", "/spec/" + field, vals})
			return nil
		}
		for j := len(existing) - 1; j >= 0; j-- {
			if owned(existing[j]) {
				ops = append(ops, jsonPatchOp{Op: "remove", Path: fmt.Sprintf("/spec/%s/%d", field, j)})
			}
		}
		for i, v := range vals {
			path := fmt.Sprintf("/spec/%s/%d", field, i)
			if !first {
				path = "/spec/" + field + "/-"
			}
			ops = append(ops, jsonPatchOp{"add", path, v})
		}
		return nil
	}
	if err := list("initContainers", containerNames(pod.Spec.InitContainers), sidecar.OwnedContainer, p.InitContainers, true); err != nil {
		return nil, err
	}
	if err := list("containers", containerNames(pod.Spec.Containers), sidecar.OwnedContainer, p.Containers, true); err != nil {
		return nil, err
	}
	if err := list("volumes", volumeNames(pod.Spec.Volumes), sidecar.OwnedVolume, p.Volumes, false); err != nil {
		return nil, err
	}
	return json.Marshal(ops)
}

// containerNames returns the names of cs, nil when cs is (the pod has no
// such list, which the patch then adds whole).
func containerNames(cs []corev1.Container) []string {
	if cs == nil {
		return nil
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// volumeNames is containerNames for volumes.
func volumeNames(vs []corev1.Volume) []string {
	if vs == nil {
		return nil
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

// escape escapes a JSON Pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

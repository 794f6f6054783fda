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
	list := func(field string, exists bool, nodes []*yaml.Node, first bool) error {
		if len(nodes) == 0 {
			return nil
		}
		vals := make([]any, len(nodes))
		for i, n := range nodes {
			if err := n.Decode(&vals[i]); err != nil {
				return fmt.Errorf("decode the sidecar's %s: %w", field, err)
			}
		}
		if !exists {
			ops = append(ops, jsonPatchOp{"add", "/spec/" + field, vals})
			return nil
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
	if err := list("initContainers", pod.Spec.InitContainers != nil, p.InitContainers, true); err != nil {
		return nil, err
	}
	if err := list("containers", pod.Spec.Containers != nil, p.Containers, true); err != nil {
		return nil, err
	}
	if err := list("volumes", pod.Spec.Volumes != nil, p.Volumes, false); err != nil {
		return nil, err
	}
	return json.Marshal(ops)
}

// escape escapes a JSON Pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

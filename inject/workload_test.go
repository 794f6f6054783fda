package inject

import (
	"bytes"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// TestMergeKeysInATemplate: a pod template JSON cannot be written from
// directly (a merge key) is still read, through Go values.
func TestMergeKeysInATemplate(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - &app
          name: web
          image: nginx
        - <<: *app
          name: sidecar
`
	res, err := Run([]Source{{Name: "in", Data: []byte(src)}}, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resources) != 1 || res.Resources[0].Action != ActionInjected {
		t.Fatalf("resources = %+v, want the deployment injected", res.Resources)
	}
	var b bytes.Buffer
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	tpl := sidecar.MapGet(sidecar.MapGet(doc.Content[0], "spec"), "template")
	if writeJSON(&b, tpl) == nil {
		t.Fatal("writeJSON took the merge key: the test no longer reaches the fallback")
	}
	spec, err := decodeTemplate(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Spec.Containers; len(got) != 2 || got[1].Name != "sidecar" || got[1].Image != "nginx" {
		t.Errorf("containers = %+v, want the merged sidecar with image nginx", got)
	}
}

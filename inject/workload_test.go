package inject

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/meshapi"
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

// TestOptionsNeedAnInjector: injecting needs the caller's Injector (its
// chart renderer); uninjecting does not, and then protects the default
// control-plane namespace.
func TestOptionsNeedAnInjector(t *testing.T) {
	src := []Source{{Name: "in", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")}}
	o := testOptions(t)
	o.Injector = nil
	if _, err := Run(src, o); err == nil || !strings.Contains(err.Error(), "no sidecar injector") {
		t.Fatalf("inject without an Injector: err = %v", err)
	}
	un := Options{Uninject: true}
	if _, err := Run(src, un); err != nil {
		t.Fatalf("uninject without an Injector: %v", err)
	}
	if err := un.complete(); err != nil || un.MeshNamespace != meshapi.DefaultNamespace {
		t.Fatalf("uninject's mesh namespace = %q (%v), want %q", un.MeshNamespace, err, meshapi.DefaultNamespace)
	}
}

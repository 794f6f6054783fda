package inject

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// spliceEdgeCases are documents where the spliced text must still come
// out as the whole encoding would: lists in flow style (the splice falls
// back), volumes before initContainers, block scalars, comments, a List
// of two pods, a pod injected before.
const spliceEdgeCases = `apiVersion: apps/v1
kind: Deployment
metadata: {name: flow, namespace: shop}
spec:
  selector: {matchLabels: {app: flow}}
  template:
    metadata: {labels: {app: flow}}
    spec:
      initContainers: [{name: setup, image: busybox}]
      containers: [{name: app, image: app}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ordered
  namespace: shop
spec:
  serviceName: ordered
  selector:
    matchLabels: {app: ordered}
  template:
    metadata:
      labels: {app: ordered}
    spec:
      volumes:
        # the user's volume, first
        - name: conf
          configMap: {name: conf}
      containers:
        - name: app
          image: app
          command:
            - sh
            - -c
            - |
              echo one

              echo two
      initContainers:
        - name: setup
          image: busybox
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a, namespace: shop}
    spec:
      containers: [{name: a, image: a}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: b, namespace: shop}
    spec:
      containers:
        - name: b
          image: b
`

// TestSpliceMatchesWholeEncoding: --manual output with the patch spliced
// in as cached text is byte for byte the output of encoding every
// document whole, on every golden input, the edge cases above, and a
// second injection of its own output.
func TestSpliceMatchesWholeEncoding(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"edge cases": []byte(spliceEdgeCases)}
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(in)] = b
	}
	run := func(t *testing.T, data []byte, noSplice bool) ([]byte, error) {
		t.Helper()
		opts := testOptions(t)
		opts.Manual, opts.noSplice, opts.noTextEdits = true, noSplice, true
		res, err := Run([]Source{{Name: "in.yaml", Data: data}}, opts)
		if err != nil {
			return nil, err
		}
		return res.Output, nil
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			spliced, err1 := run(t, data, false)
			whole, err2 := run(t, data, true)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("errors differ: spliced %v, whole %v", err1, err2)
			}
			if err1 != nil {
				return // refused input: nothing written either way
			}
			if !bytes.Equal(spliced, whole) {
				t.Fatalf("spliced output differs from the whole encoding:\n--- spliced\n%s\n--- whole\n%s", spliced, whole)
			}
			again, err := run(t, spliced, false)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, spliced) {
				t.Errorf("injecting the spliced output again changed it:\n%s", again)
			}
		})
	}
}

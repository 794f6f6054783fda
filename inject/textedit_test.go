package inject

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

func TestEditText(t *testing.T) {
	annotate := func(path ...string) func(*testing.T, *yaml.Node) {
		return func(t *testing.T, root *yaml.Node) {
			obj := root
			for _, k := range path {
				obj = sidecar.MapGet(obj, k)
			}
			if err := setMeta(obj, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		src    string
		mutate func(*testing.T, *yaml.Node)
		want   string // "" when editText must give up
	}{
		{
			name:   "new key after the last, before trailing comments",
			src:    "metadata:\n  annotations:\n    a: b   # why\n\n  # about labels\n  labels: {x: y}\n",
			mutate: annotate(),
			want:   "metadata:\n  annotations:\n    a: b   # why\n    meshctl.io/inject: enabled\n\n  # about labels\n  labels: {x: y}\n",
		},
		{
			name:   "new mapping under an indentless sequence's sibling",
			src:    "spec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n",
			mutate: annotate("spec", "template"),
			want:   "spec:\n  template:\n    metadata:\n      labels:\n        app: web\n      annotations:\n        meshctl.io/inject: enabled\n    spec:\n      containers:\n      - name: web\n",
		},
		{
			name:   "text without a final newline",
			src:    "metadata:\n  name: x",
			mutate: annotate(),
			want:   "metadata:\n  name: x\n  annotations:\n    meshctl.io/inject: enabled\n",
		},
		{
			name:   "metadata created first in a template",
			src:    "template:\n  spec:\n    containers: []\n",
			mutate: annotate("template"),
			want:   "template:\n  metadata:\n    annotations:\n      meshctl.io/inject: enabled\n  spec:\n    containers: []\n",
		},
		{
			name:   "plain value replaced, comment kept",
			src:    "metadata:\n  annotations:\n    meshctl.io/inject: disabled # was\n",
			mutate: annotate(),
			want:   "metadata:\n  annotations:\n    meshctl.io/inject: enabled # was\n",
		},
		{
			name:   "single-quoted value replaced",
			src:    "metadata:\n  annotations:\n    meshctl.io/inject: 'it''s off'\n",
			mutate: annotate(),
			want:   "metadata:\n  annotations:\n    meshctl.io/inject: enabled\n",
		},
		{
			name: "value that needs quotes gets them",
			src:  "metadata:\n  annotations:\n    x: y\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				setKV(sidecar.MapGet(sidecar.MapGet(root, "metadata"), "annotations"), "x", "true")
			},
			want: "metadata:\n  annotations:\n    x: \"true\"\n",
		},
		{
			name:   "keep-chomped block scalar last: the edit must not eat its blank lines",
			src:    "metadata:\n  annotations:\n    note: |+\n      text\n\n\n",
			mutate: annotate(),
		},
		{
			name:   "flow mapping",
			src:    "metadata:\n  annotations: {a: b}\n",
			mutate: annotate(),
		},
		{
			name:   "null annotations",
			src:    "metadata:\n  annotations:\n  name: x\n",
			mutate: annotate(),
		},
		{
			name:   "a key before the first key of a sequence item",
			src:    "items:\n- spec: {}\n",
			mutate: func(t *testing.T, root *yaml.Node) { annotate()(t, sidecar.MapGet(root, "items").Content[0]) },
		},
		{
			name: "deleted key",
			src:  "metadata:\n  annotations:\n    a: b\n    c: d\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				deleteKeys(sidecar.MapGet(sidecar.MapGet(root, "metadata"), "annotations"), func(k, _ string) bool { return k == "a" })
			},
		},
		{
			name: "a pair removed with its value's lines, comments after it kept",
			src:  "metadata:\n  labels:\n    app: web\n    mesh: yes   # ours\n  # about annotations\n  annotations:\n    a: b\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				deleteKeys(sidecar.MapGet(sidecar.MapGet(root, "metadata"), "labels"), func(k, _ string) bool { return k == "mesh" })
			},
			want: "metadata:\n  labels:\n    app: web\n  # about annotations\n  annotations:\n    a: b\n",
		},
		{
			name: "a key with an indentless sequence removed",
			src:  "spec:\n  volumes:\n  - name: a\n  - name: b\n  containers:\n  - name: c\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				deleteKeys(sidecar.MapGet(root, "spec"), func(k, _ string) bool { return k == "volumes" })
			},
			want: "spec:\n  containers:\n  - name: c\n",
		},
		{
			name: "items added before the first and after the last",
			src:  "initContainers:\n- name: migrate   # first\n  image: m\n\n# trailing\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				s := sidecar.MapGet(root, "initContainers")
				s.Content = append([]*yaml.Node{strNode("before")}, append(s.Content, strNode("after"))...)
			},
			want: "initContainers:\n- before\n- name: migrate   # first\n  image: m\n- after\n\n# trailing\n",
		},
		{
			name: "a key added to a list item's mapping",
			src:  "containers:\n- name: web\n  image: x\n- name: db\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				setKV(sidecar.MapGet(root, "containers").Content[0], "tier", "web")
			},
			want: "containers:\n- name: web\n  image: x\n  tier: web\n- name: db\n",
		},
		{
			name: "an item removed from the middle",
			src:  "c:\n  - name: a\n  - name: proxy\n    image: p\n  - name: b\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				s := sidecar.MapGet(root, "c")
				s.Content = append(s.Content[:1], s.Content[2])
			},
			want: "c:\n  - name: a\n  - name: b\n",
		},
		{
			name: "every key of a mapping removed",
			src:  "metadata:\n  annotations:\n    a: b\n",
			mutate: func(t *testing.T, root *yaml.Node) {
				deleteKeys(sidecar.MapGet(sidecar.MapGet(root, "metadata"), "annotations"), func(string, string) bool { return true })
			},
		},
		{
			name:   "double-quoted value with an escape",
			src:    "metadata:\n  annotations:\n    meshctl.io/inject: \"a\\tb\"\n",
			mutate: annotate(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
				t.Fatal(err)
			}
			before := sidecar.CopyNode(&doc)
			tt.mutate(t, doc.Content[0])
			got, ok := editText([]byte(tt.src), before, &doc)
			if tt.want == "" {
				// Giving up is allowed; a wrong edit is not.
				if ok {
					var back yaml.Node
					if err := yaml.Unmarshal(got, &back); err != nil || !sameData(&back, &doc) {
						t.Fatalf("edit changed the data:\n%s", got)
					}
				}
				return
			}
			if !ok {
				t.Fatalf("editText gave up, want\n%s", tt.want)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestUninjectGivesTheTextBack: text edits make uninject(inject(x)) the
// very bytes of x, for either mode, when x carried nothing of meshctl's.
func TestUninjectGivesTheTextBack(t *testing.T) {
	data, err := os.ReadFile("testdata/user_style_manual.input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The CronJob's inject annotation is the one thing inject drops.
	data = bytes.ReplaceAll(data, []byte("meshctl.io/inject: \"disabled-by-mistake\""), []byte("team: reports"))
	for _, manual := range []bool{false, true} {
		t.Run(fmt.Sprintf("manual=%v", manual), func(t *testing.T) {
			o := testOptions(t)
			o.Manual = manual
			in, err := Run([]Source{{Name: "in", Data: data}}, o)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(in.Output, data) {
				t.Fatal("inject changed nothing")
			}
			back, err := Run([]Source{{Name: "out", Data: in.Output}}, Options{Uninject: true})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Output, data) {
				t.Errorf("uninject(inject(x)) != x:\n%s", back.Output)
			}
		})
	}
}

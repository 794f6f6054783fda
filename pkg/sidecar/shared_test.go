package sidecar

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/render"
	"github.com/meshctl/meshctl/templates"
)

// TestSharedSpecOnlyWhenTheSpecIgnoresTheOwner: with SharedSpec, pods of
// one configuration share the patch's containers and volumes and its
// Config. A chart whose spec names the workload gets each owner's own
// spec, filled in, and a Config of its own, so that callers encoding once
// per Config (inject's splices) never reuse another owner's text.
func TestSharedSpecOnlyWhenTheSpecIgnoresTheOwner(t *testing.T) {
	named := fstest.MapFS{}
	if err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.FS, path)
		if path == PatchChart+"/templates/patch.yaml" {
			data = append(data, "\n    - name: owner-{{ .Values.workload.name }}\n      emptyDir: {}\n"...)
		}
		named[path] = &fstest.MapFile{Data: data}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		fsys       fs.FS
		namesOwner bool
	}{{"chart", nil, false}, {"spec names the workload", named, true}} {
		t.Run(tt.name, func(t *testing.T) {
			in := New(Options{Render: render.Contents, FS: tt.fsys})
			var configs []string
			for _, owner := range []string{"web", "api"} {
				d, err := in.Decide(Request{Owner: Owner{"Deployment", owner}, Namespace: "shop", Template: podTemplate(nil), Values: defaults(t), SharedSpec: true})
				if err != nil {
					t.Fatal(err)
				}
				out, err := yaml.Marshal(d.Patch.Volumes)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(out), "x-meshctl-placeholder") {
					t.Fatalf("%s: placeholder left in the volumes:\n%s", owner, out)
				}
				if got := strings.Contains(string(out), "owner-"+owner); got != tt.namesOwner {
					t.Fatalf("%s: volume owner-%s present %v:\n%s", owner, owner, got, out)
				}
				configs = append(configs, d.Patch.Config)
			}
			if same := configs[0] == configs[1]; same == tt.namesOwner {
				t.Fatalf("Config equal for two owners: %v", same)
			}
		})
	}
}

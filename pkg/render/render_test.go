package render

import (
	"strings"
	"testing"
	"testing/fstest"
)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"chart/Chart.yaml":             {Data: []byte("apiVersion: v2\nname: demo\nversion: 0.1.0\n")},
		"chart/values.yaml":            {Data: []byte("name: demo\nreplicas: 1\n")},
		"chart/templates/a.yaml":       {Data: []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Values.name }}\n  labels:\n    by: {{ .Release.Service }}\nspec:\n  replicas: {{ .Values.replicas }}\n---\n# only a comment\n---\n{{ include \"shared.cm\" . }}\n")},
		"chart/templates/b.yaml":       {Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ .Release.Namespace }}\n")},
		"chart/templates/empty.yaml":   {Data: []byte("{{- if false }}\nkind: Secret\n{{- end }}\n")},
		"partials/_shared.tpl":         {Data: []byte("{{- define \"shared.cm\" -}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n{{- end }}\n")},
		"chart/templates/_helpers.tpl": {Data: []byte("{{- define \"unused\" -}}{{- end }}\n")},
	}
}

func TestRenderOrderAndPartials(t *testing.T) {
	docs, err := Render(Options{FS: testFS(), Chart: "chart", Partials: []string{"partials"}, Namespace: "ns", Values: map[string]any{"replicas": 3}})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, d.Kind)
	}
	if got := strings.Join(kinds, ","); got != "Namespace,ConfigMap,Deployment" {
		t.Fatalf("kinds in order %s", got)
	}
	dep := docs[2].Content
	if !strings.Contains(dep, "replicas: 3") || !strings.Contains(dep, "by: "+ReleaseService) {
		t.Errorf("values or Release.Service not applied:\n%s", dep)
	}
	var b strings.Builder
	if err := Write(&b, docs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "---\n# Source: demo/templates/b.yaml\napiVersion: v1\n") {
		t.Errorf("stream starts %q", b.String()[:60])
	}
}

func TestRenderDeterministic(t *testing.T) {
	var first string
	for i := range 5 {
		docs, err := Render(Options{FS: testFS(), Chart: "chart", Partials: []string{"partials"}, Namespace: "ns"})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := Write(&b, docs); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b.String()
		} else if b.String() != first {
			t.Fatal("renders differ")
		}
	}
}

func TestRenderErrors(t *testing.T) {
	fs := testFS()
	fs["chart/templates/bad.yaml"] = &fstest.MapFile{Data: []byte("{{ .Values.missing.key }}\n")}
	if _, err := Render(Options{FS: fs, Chart: "chart", Partials: []string{"partials"}}); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("error %v does not name the template", err)
	}
	if _, err := Render(Options{FS: testFS(), Chart: "nochart"}); err == nil {
		t.Error("missing chart rendered")
	}
	if KindRank("Namespace") >= KindRank("Deployment") || KindRank("Unknown") != len(installOrder()) {
		t.Error("kind ranks")
	}
}

package render

import (
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

// ReleaseService is the Release.Service of every render, as in Linkerd.
const ReleaseService = "CLI"

// Options select a chart and the values to render it with.
type Options struct {
	// FS holds the chart and the partials.
	FS fs.FS
	// Chart is the chart's directory in FS.
	Chart string
	// Partials are directories of FS whose files join the chart's templates.
	Partials []string
	// Values are coalesced over the chart's values.yaml.
	Values map[string]any
	// ReleaseName is Release.Name; empty means the chart's name.
	ReleaseName string
	// Namespace is Release.Namespace.
	Namespace string
}

// Document is one rendered Kubernetes object.
type Document struct {
	// Source is the template that produced it, e.g. meshctl-crds/templates/server.yaml.
	Source string
	// Kind and Name are read from the document, for ordering and reports.
	Kind, Name string
	// Content is the YAML of the object, without a leading "---" and ending in a newline.
	Content string
}

// Render renders the chart and returns its documents in a stable order.
func Render(opts Options) ([]Document, error) {
	c, err := LoadChart(opts.FS, opts.Chart, opts.Partials...)
	if err != nil {
		return nil, err
	}
	name := opts.ReleaseName
	if name == "" {
		name = c.Name()
	}
	vals, err := chartutil.CoalesceValues(c, opts.Values)
	if err != nil {
		return nil, fmt.Errorf("coalesce values of %s: %w", c.Name(), err)
	}
	top, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{
		Name: name, Namespace: opts.Namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("prepare values of %s: %w", c.Name(), err)
	}
	if rel, ok := top["Release"].(map[string]any); ok {
		rel["Service"] = ReleaseService
	}
	out, err := engine.Engine{Strict: true}.Render(c, top)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", c.Name(), err)
	}
	return split(out)
}

// Contents renders a chart like Render and returns only its documents'
// YAML. Its signature is pkg/sidecar's Renderer, which names no type of this
// package so that sidecar (and inject) need not link helm.
func Contents(fsys fs.FS, chart string, partials []string, release, namespace string, values map[string]any) ([]string, error) {
	docs, err := Render(Options{FS: fsys, Chart: chart, Partials: partials, ReleaseName: release, Namespace: namespace, Values: values})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Content
	}
	return out, nil
}

var separator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// split cuts each template's output into documents, drops empty ones and
// orders the rest.
func split(out map[string]string) ([]Document, error) {
	type ordered struct {
		Document
		index int
	}
	var docs []ordered
	for src, text := range out {
		for i, part := range separator.Split(text, -1) {
			if isEmpty(part) {
				continue
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(part), &head); err != nil {
				return nil, fmt.Errorf("%s: document %d is not valid YAML: %w", src, i, err)
			}
			content := strings.Trim(part, "\n") + "\n"
			docs = append(docs, ordered{Document{Source: src, Kind: head.Kind, Name: head.Metadata.Name, Content: content}, i})
		}
	}
	sort.SliceStable(docs, func(i, j int) bool {
		a, b := docs[i], docs[j]
		if ka, kb := KindRank(a.Kind), KindRank(b.Kind); ka != kb {
			return ka < kb
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.index < b.index
	})
	res := make([]Document, len(docs))
	for i, d := range docs {
		res[i] = d.Document
	}
	return res, nil
}

// isEmpty reports whether a document holds only blank lines and comments.
func isEmpty(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// Write writes docs as one YAML stream, each preceded by "---" and a
// "# Source:" comment.
func Write(w io.Writer, docs []Document) error {
	var b strings.Builder
	for _, d := range docs {
		b.WriteString("---\n# Source: ")
		b.WriteString(d.Source)
		b.WriteString("\n")
		b.WriteString(d.Content)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

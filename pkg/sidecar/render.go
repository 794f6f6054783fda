package sidecar

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/version"
	"github.com/meshctl/meshctl/templates"
)

// Chart locations in the templates file system.
const (
	PatchChart  = "patch"
	PartialsDir = "partials"
)

// Placeholders rendered for the owner and filled in per pod.
const (
	phKind = "x-meshctl-placeholder-kind-x"
	phName = "x-meshctl-placeholder-name-x"
	phNS   = "x-meshctl-placeholder-namespace-x"
)

// maxCached bounds the number of distinct configurations kept rendered.
const maxCached = 256

// Options configure an Injector. The zero value is usable.
type Options struct {
	// FS holds the charts; nil means templates.FS.
	FS fs.FS
	// MeshNamespace is the control-plane namespace; empty means
	// meshapi.DefaultNamespace.
	MeshNamespace string
	// Version is the meshctl version written into the patch; empty means
	// version.Version().
	Version string
	// Render renders the patch chart; meshctl's is render.Contents (helm's
	// engine). Required for Decide.
	Render Renderer
}

// Renderer renders the chart in directory chart of fsys, with the files of
// the partials directories among its templates, as release in namespace
// with values, and returns each document's YAML. It is a parameter, not an
// import of pkg/render, so that this package and inject link no helm,
// client-go or API groups beyond core/v1: inject's fuzz target is compiled
// with coverage instrumentation, every package it links, on every cold CI
// run.
type Renderer func(fsys fs.FS, chart string, partials []string, release, namespace string, values map[string]any) ([]string, error)

// Injector decides and renders sidecar patches. It caches renders and is
// safe for concurrent use.
type Injector struct {
	opts  Options
	mu    sync.Mutex
	cache map[string]*rendered
	// lastValues and lastKey remember the cache key of the last values
	// map; holding the map keeps its address from being reused.
	lastValues map[string]any
	lastKey    string
}

// New returns an Injector.
func New(opts Options) *Injector {
	if opts.FS == nil {
		opts.FS = templates.FS
	}
	if opts.MeshNamespace == "" {
		opts.MeshNamespace = meshapi.DefaultNamespace
	}
	if opts.Version == "" {
		opts.Version = version.Version()
	}
	return &Injector{opts: opts, cache: map[string]*rendered{}}
}

// MeshNamespace returns the control-plane namespace the Injector renders for.
func (in *Injector) MeshNamespace() string { return in.opts.MeshNamespace }

// Patch is what meshing one pod adds to it, rendered from the patch chart.
// Nodes are fresh copies the caller may edit, except InitContainers,
// Containers and Volumes when the Request asked for SharedSpec.
type Patch struct {
	// Labels and Annotations to set on the pod, in the chart's order.
	Labels, Annotations []KV
	// InitContainers to put first in spec.initContainers, in order.
	InitContainers []*yaml.Node
	// Containers to put first in spec.containers (the proxy, when it is
	// not a native sidecar).
	Containers []*yaml.Node
	// Volumes to add to spec.volumes.
	Volumes []*yaml.Node
	// Config identifies the configuration the patch was rendered for:
	// patches with equal Config have equal InitContainers, Containers and
	// Volumes (only labels and annotations name the owner), so a caller
	// may encode those once per Config.
	Config string
}

// Owner is the workload a pod belongs to.
type Owner struct {
	// Kind is the Kubernetes kind, for example Deployment or Pod.
	Kind string
	// Name is the owner's name.
	Name string
}

// renderPatch renders the patch for values and owner in namespace. With
// sharedSpec the patch's InitContainers, Containers and Volumes are the
// render cache's own nodes, not copies (see Request.SharedSpec).
func (in *Injector) renderPatch(values map[string]any, owner Owner, namespace string, sharedSpec bool) (*Patch, error) {
	key, err := in.cacheKey(values)
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	r, ok := in.cache[key]
	in.mu.Unlock()
	if !ok {
		tmpl, err := in.renderTemplate(values)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(key))
		r = &rendered{tmpl: tmpl, specNamesOwner: hasPlaceholder(MapGet(tmpl, "spec")), config: hex.EncodeToString(sum[:])}
		in.mu.Lock()
		if len(in.cache) >= maxCached {
			clear(in.cache)
		}
		in.cache[key] = r
		in.mu.Unlock()
	}
	kind := strings.ToLower(owner.Kind)
	// The spec is shared only when it does not name the owner; otherwise
	// it is copied and filled like the metadata.
	shared := sharedSpec && !r.specNamesOwner
	var doc *yaml.Node
	if shared {
		// Only the metadata names the owner: copy it alone.
		doc = &yaml.Node{Kind: yaml.MappingNode, Tag: r.tmpl.Tag, Style: r.tmpl.Style}
		for i := 0; i+1 < len(r.tmpl.Content); i += 2 {
			v := r.tmpl.Content[i+1]
			if r.tmpl.Content[i].Value == "metadata" {
				v = CopyNode(v)
			}
			doc.Content = append(doc.Content, r.tmpl.Content[i], v)
		}
	} else {
		doc = CopyNode(r.tmpl)
		fill(MapGet(doc, "spec"), kind, owner.Name, namespace)
	}
	fill(MapGet(doc, "metadata"), kind, owner.Name, namespace)
	p, err := patchFromNode(doc)
	if err != nil {
		return nil, err
	}
	p.Config = r.config
	if r.specNamesOwner {
		// Equal Config promises equal containers and volumes: with the
		// owner in the spec, that holds for one owner only.
		sum := sha256.Sum256([]byte(r.config + "\x00" + kind + "\x00" + namespace + "\x00" + owner.Name))
		p.Config = hex.EncodeToString(sum[:])
	}
	return p, nil
}

// rendered is a configuration's rendered patch template, with what every
// patch of it shares.
type rendered struct {
	tmpl *yaml.Node
	// specNamesOwner is true when the spec holds owner placeholders, so it
	// cannot be shared between pods.
	specNamesOwner bool
	// config is Patch.Config for the configuration.
	config string
}

// cacheKey identifies a configuration: its JSON encoding, remembered for
// the last values map seen (callers pass the same map for every pod
// without overrides, and never modify a map they passed).
func (in *Injector) cacheKey(values map[string]any) (string, error) {
	ptr := reflect.ValueOf(values).UnsafePointer()
	in.mu.Lock()
	if in.lastValues != nil && reflect.ValueOf(in.lastValues).UnsafePointer() == ptr {
		key := in.lastKey
		in.mu.Unlock()
		return key, nil
	}
	in.mu.Unlock()
	b, err := json.Marshal(values)
	if err != nil {
		return "", fmt.Errorf("encode mesh values: %w", err)
	}
	in.mu.Lock()
	in.lastValues, in.lastKey = values, string(b)
	in.mu.Unlock()
	return string(b), nil
}

// renderTemplate renders the patch chart with placeholders for the owner.
func (in *Injector) renderTemplate(values map[string]any) (*yaml.Node, error) {
	m := CloneValues(values)
	gen, _ := m["generated"].(map[string]any)
	if gen == nil {
		gen = map[string]any{}
	}
	gen["version"] = in.opts.Version
	m["generated"] = gen
	m["workload"] = map[string]any{"kind": phKind, "name": phName, "namespace": phNS}
	if in.opts.Render == nil {
		return nil, errors.New("render the sidecar: no chart renderer given (sidecar.Options.Render)")
	}
	docs, err := in.opts.Render(in.opts.FS, PatchChart, []string{PartialsDir}, "meshctl", in.opts.MeshNamespace, m)
	if err != nil {
		return nil, fmt.Errorf("render the sidecar: %w", err)
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("render the sidecar: %d documents, want 1", len(docs))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(docs[0]), &doc); err != nil {
		return nil, fmt.Errorf("render the sidecar: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("render the sidecar: the patch is not a mapping")
	}
	return doc.Content[0], nil
}

// hasPlaceholder reports whether n holds an owner placeholder.
func hasPlaceholder(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.ScalarNode {
		return strings.Contains(n.Value, phKind) || strings.Contains(n.Value, phName) || strings.Contains(n.Value, phNS)
	}
	for _, c := range n.Content {
		if hasPlaceholder(c) {
			return true
		}
	}
	return false
}

// fill replaces the owner placeholders in n (nil: nothing).
func fill(n *yaml.Node, kind, name, namespace string) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		v := n.Value
		v = strings.ReplaceAll(v, phKind, kind)
		v = strings.ReplaceAll(v, phName, name)
		v = strings.ReplaceAll(v, phNS, namespace)
		if v != n.Value {
			n.Value = v
			n.Tag = "!!str"
			n.Style = 0
			if resolvesNonString(v) {
				n.Style = yaml.DoubleQuotedStyle
			}
		}
		return
	}
	for _, c := range n.Content {
		fill(c, kind, name, namespace)
	}
}

// resolvesNonString reports whether a plain scalar v would not be read
// back as a string.
func resolvesNonString(v string) bool {
	if simpleWord(v) {
		return false
	}
	var x any
	if err := yaml.Unmarshal([]byte(v), &x); err != nil {
		return true
	}
	_, ok := x.(string)
	return !ok
}

func patchFromNode(doc *yaml.Node) (*Patch, error) {
	p := &Patch{}
	meta := MapGet(doc, "metadata")
	spec := MapGet(doc, "spec")
	if meta == nil || spec == nil {
		return nil, fmt.Errorf("render the sidecar: the patch has no metadata or spec")
	}
	p.Labels = kvs(MapGet(meta, "labels"))
	p.Annotations = kvs(MapGet(meta, "annotations"))
	p.InitContainers = seq(MapGet(spec, "initContainers"))
	p.Containers = seq(MapGet(spec, "containers"))
	p.Volumes = seq(MapGet(spec, "volumes"))
	return p, nil
}

func kvs(m *yaml.Node) []KV {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]KV, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, KV{m.Content[i].Value, m.Content[i+1].Value})
	}
	return out
}

func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// MapGet returns the value of key in mapping node m, or nil.
func MapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// CopyNode returns a deep copy of n.
func CopyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, e := range n.Content {
			c.Content[i] = CopyNode(e)
		}
	}
	return &c
}

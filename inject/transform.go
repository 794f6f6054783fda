package inject

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/meshapi"
	"github.com/meshctl/meshctl/pkg/output"
	"github.com/meshctl/meshctl/pkg/sidecar"
)

// Run transforms srcs (inject, or uninject with opts.Uninject) and returns
// the output stream and a record per resource. It fails as a whole: any
// parse error or refused workload makes it return an error and no output.
func Run(srcs []Source, opts Options) (*Result, error) {
	var st stage
	defer st.Close()
	var in bytes.Buffer
	res, err := run(srcs, opts, &st, &in)
	if err != nil {
		return nil, err
	}
	if res.Output, err = st.Bytes(); err != nil {
		return nil, err
	}
	res.Input = in.Bytes()
	return res, nil
}

// Stream transforms srcs like Run but writes the output to w, and only
// once every document has been transformed and accepted: when Run would
// fail, nothing reaches w. Until then a large output waits in an unlinked
// temporary file, so memory is bounded by the input and the documents in
// flight rather than by the output. Result.Output and Result.Input are
// nil.
func Stream(srcs []Source, opts Options, w io.Writer) (*Result, error) {
	var st stage
	defer st.Close()
	res, err := run(srcs, opts, &st, nil)
	if err != nil {
		return nil, err
	}
	if _, err := st.WriteTo(w); err != nil {
		return nil, fmt.Errorf("write the output: %w", err)
	}
	return res, nil
}

// Explain transforms srcs for the record of each resource alone (what
// WriteExplain prints): the output is dropped as it is made, nothing is
// staged. Result.Output and Result.Input are nil.
func Explain(srcs []Source, opts Options) (*Result, error) {
	return run(srcs, opts, io.Discard, nil)
}

// run transforms srcs, writing the output to out and, when in is not nil,
// the normalised input to in (for diffs).
func run(srcs []Source, opts Options, out io.Writer, in *bytes.Buffer) (*Result, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	t := &transformer{opts: opts, res: &Result{}}
	if !opts.Uninject {
		t.overrides = sidecar.OverrideAnnotations(opts.Installed, opts.Values)
	}
	if opts.Manual && !opts.Uninject && opts.Output == output.YAML && !opts.noSplice {
		t.splices = newSpliceCache()
	}
	var docs []document
	for _, s := range srcs {
		data, err := normalise(s.Name, s.Data)
		if err != nil {
			return nil, err
		}
		docs = append(docs, split(s.Name, data)...)
	}
	nsAnn, err := namespaceAnnotations(docs)
	if err != nil {
		return nil, err
	}
	t.nsAnnotations = nsAnn
	if in != nil {
		n := 0
		for _, d := range docs {
			n += len(d.text) + len("---\n")
		}
		in.Grow(n)
	}
	err = t.each(docs, func(i int, r docResult) error {
		if r.err != nil {
			return r.err
		}
		t.res.Resources = append(t.res.Resources, r.resources...)
		t.failures = append(t.failures, r.failures...)
		d := docs[i]
		if in != nil {
			if i > 0 && !ownsMarker(d.text) {
				in.WriteString("---\n")
			}
			in.Write(d.text)
		}
		if len(t.failures) > 0 {
			return nil // no output now, but every refusal is reported
		}
		if i > 0 && opts.Output == output.YAML && !ownsMarker(r.text) {
			if _, err := io.WriteString(out, "---\n"); err != nil {
				return err
			}
		}
		_, err := out.Write(r.text)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(t.failures) > 0 {
		return nil, &RejectedError{Failures: t.failures}
	}
	return t.res, nil
}

// docResult is the outcome of one document.
type docResult struct {
	text      []byte
	resources []Resource
	failures  []string
	err       error
}

// window is how many documents may be transformed ahead of the one being
// written.
const window = 256

// each transforms docs on up to 8 CPUs and hands the results to emit in
// document order. At most window documents are in flight (transformed and
// not yet emitted), so memory does not grow with the number of documents.
// It stops at the first error emit returns and returns it.
func (t *transformer) each(docs []document, emit func(i int, r docResult) error) error {
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		ring    = make([]docResult, min(window, len(docs)))
		ready   = make([]bool, len(ring))
		next    int // the next document to take
		emitted int // documents handed to emit
		stop    bool
		wg      sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(docs), 8) {
		wg.Go(func() {
			for {
				mu.Lock()
				for !stop && next < len(docs) && next-emitted >= len(ring) {
					cond.Wait()
				}
				if stop || next >= len(docs) {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				dt := &transformer{opts: t.opts, res: &Result{}, overrides: t.overrides, nsAnnotations: t.nsAnnotations, splices: t.splices}
				text, err := dt.document(docs[i])
				mu.Lock()
				ring[i%len(ring)] = docResult{text: text, resources: dt.res.Resources, failures: dt.failures, err: err}
				ready[i%len(ring)] = true
				cond.Broadcast()
				mu.Unlock()
			}
		})
	}
	var err error
	for err == nil && emitted < len(docs) {
		slot := emitted % len(ring)
		mu.Lock()
		for !ready[slot] {
			cond.Wait()
		}
		r := ring[slot]
		ring[slot], ready[slot] = docResult{}, false
		mu.Unlock()
		err = emit(emitted, r)
		mu.Lock()
		emitted++
		stop = err != nil
		cond.Broadcast()
		mu.Unlock()
	}
	wg.Wait()
	return err
}

type transformer struct {
	opts          Options
	res           *Result
	overrides     []sidecar.KV
	nsAnnotations map[string]map[string]string
	failures      []string
	// splices, with --manual YAML output, holds the patch's text; pending
	// are the patch nodes of the document being transformed.
	splices *spliceCache
	pending []splice
}

// document transforms one document and returns its output text.
func (t *transformer) document(d document) ([]byte, error) {
	doc, err := parse(d)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		if t.opts.Output == output.JSON {
			return nil, nil
		}
		return d.text, nil
	}
	root := doc.Content[0]
	r := Resource{Source: d.source, Document: d.index}
	if root.Kind != yaml.MappingNode || scalar(sidecar.MapGet(root, "kind")) == "" {
		r.Action, r.Reason = ActionSkipped, `document missing "kind" field`
		t.res.Resources = append(t.res.Resources, r)
		return t.emit(d, doc, false)
	}
	// A document written in flow style (JSON) is re-encoded whole; others
	// are edited in their text when the change allows (textedit.go).
	editable := root.Style&yaml.FlowStyle == 0
	if t.opts.Output == output.YAML {
		// JSON input becomes YAML before the patch goes in, so that the
		// patch keeps the chart's style on this run and the next.
		blockStyle(doc)
	}
	before := sidecar.CopyNode(doc)
	if err := t.object(root, r); err != nil {
		return nil, err
	}
	// Data, not comments: re-injecting an injected document strips the
	// patch and adds it again, which may move a comment in the tree but
	// changes nothing the user wrote, so the text is kept.
	changed := !sameData(before, doc)
	if changed && editable && t.opts.Output == output.YAML && !t.opts.noTextEdits {
		text, ok, err := t.editText(d, before, doc)
		if err != nil || ok {
			return text, err
		}
	}
	return t.emit(d, doc, changed)
}

// editText makes the document's changes in its text (textedit.go). The
// proxy patch's containers and volumes (--manual) go in as placeholders,
// replaced by their cached text afterwards: the check that parses the
// edited text again then reads the user's document, not the patch.
func (t *transformer) editText(d document, before, doc *yaml.Node) ([]byte, bool, error) {
	edit := func() ([]byte, bool, error) {
		text, ok := editText(d.text, before, doc)
		return text, ok, nil
	}
	if len(t.pending) == 0 {
		return edit()
	}
	return t.splices.render(doc, t.pending, 2*len(d.text)+4096, false, edit)
}

// emit renders a document: the original text when unchanged (YAML), the
// edited tree otherwise, or JSON.
func (t *transformer) emit(d document, doc *yaml.Node, changed bool) ([]byte, error) {
	if t.opts.Output == output.JSON {
		b, err := encodeJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", d.source, d.index, err)
		}
		return b, nil
	}
	if !changed {
		return d.text, nil
	}
	if len(t.pending) > 0 {
		text, ok, err := t.splices.encode(doc, t.pending, 2*len(d.text)+4096)
		if err != nil {
			return nil, err
		}
		if ok {
			return text, nil
		}
	}
	return encodeYAML(doc, 2*len(d.text))
}

// object transforms one object (or the items of a List) in place.
func (t *transformer) object(obj *yaml.Node, r Resource) error {
	h := readHeader(obj)
	r.Kind, r.Name, r.Namespace = h.kind, h.name, h.namespace
	switch {
	case h.kind == "List" && h.core():
		items := sidecar.MapGet(obj, "items")
		if items == nil || items.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range items.Content {
			ir := Resource{Source: r.Source, Document: r.Document, Item: i + 1}
			if item.Kind != yaml.MappingNode || scalar(sidecar.MapGet(item, "kind")) == "" {
				ir.Action, ir.Reason = ActionSkipped, `item missing "kind" field`
				t.res.Resources = append(t.res.Resources, ir)
				continue
			}
			if err := t.object(item, ir); err != nil {
				return err
			}
		}
		return nil
	case h.is("Namespace", ""):
		r.supported = true
		t.namespace(obj, &r)
	case h.is("Service", ""):
		t.service(obj, &r)
	default:
		info, ok := workloadKinds()[h.kind]
		if !ok || !h.is(h.kind, info.groups...) {
			r.Action, r.Reason = ActionSkipped, "unsupported kind"
			break
		}
		r.supported = true
		if err := t.workload(obj, h, info, &r); err != nil {
			t.failures = append(t.failures, fmt.Sprintf("failed to %s %s (%s): %v", t.verb(), r.ref(), r.where(), err))
		}
	}
	t.res.Resources = append(t.res.Resources, r)
	return nil
}

func (t *transformer) verb() string {
	if t.opts.Uninject {
		return "uninject"
	}
	return "inject"
}

// namespace annotates a Namespace (inject) or removes the annotation.
func (t *transformer) namespace(obj *yaml.Node, r *Resource) {
	meta := sidecar.MapGet(obj, "metadata")
	ann := sidecar.MapGet(meta, "annotations")
	if t.opts.Uninject {
		r.Action = ActionSkipped
		if deleteKeys(ann, func(k, v string) bool { return sidecar.OwnedAnnotation(k, v) }) {
			dropEmpty(meta, "annotations")
			r.Action = ActionUninjected
		}
		return
	}
	if v := scalar(sidecar.MapGet(ann, meshapi.AnnotationInject)); v == meshapi.InjectDisabled {
		r.Action, r.Reason = ActionSkipped, "annotated "+meshapi.AnnotationInject+": "+meshapi.InjectDisabled
		r.Warnings = append(r.Warnings, fmt.Sprintf(`"%s: %s" annotation set on %s`, meshapi.AnnotationInject, meshapi.InjectDisabled, r.ref()))
		return
	}
	r.Annotations = t.annotations()
	if err := setMeta(obj, nil, r.Annotations); err != nil {
		t.failures = append(t.failures, fmt.Sprintf("failed to annotate %s (%s): %v", r.ref(), r.where(), err))
		return
	}
	r.Action = ActionAnnotated
}

// service writes the opaque ports to a Service when asked to.
func (t *transformer) service(obj *yaml.Node, r *Resource) {
	r.Action, r.Reason = ActionSkipped, "services are only annotated with --opaque-ports"
	if t.opts.Uninject || t.opts.ServiceOpaquePorts == "" {
		return
	}
	r.supported = true
	r.Annotations = []sidecar.KV{{Key: meshapi.ConfigPrefix + "opaque-ports", Value: t.opts.ServiceOpaquePorts}}
	if err := setMeta(obj, nil, r.Annotations); err != nil {
		t.failures = append(t.failures, fmt.Sprintf("failed to annotate %s (%s): %v", r.ref(), r.where(), err))
		return
	}
	r.Action, r.Reason = ActionAnnotated, ""
}

// annotations are what annotation mode writes.
func (t *transformer) annotations() []sidecar.KV {
	return append([]sidecar.KV{{Key: meshapi.AnnotationInject, Value: meshapi.InjectEnabled}}, t.overrides...)
}

// namespaceAnnotations collects the annotations of the Namespace objects
// in the input, so that workloads inherit their config.meshctl.io/*.
func namespaceAnnotations(docs []document) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, d := range docs {
		if !bytes.Contains(d.text, []byte("Namespace")) {
			continue
		}
		doc, err := parse(d)
		if err != nil {
			return nil, err
		}
		if doc == nil {
			continue
		}
		collectNamespaces(doc.Content[0], out, 0)
	}
	return out, nil
}

func collectNamespaces(obj *yaml.Node, out map[string]map[string]string, depth int) {
	h := readHeader(obj)
	if h.kind == "List" && depth < 8 {
		if items := sidecar.MapGet(obj, "items"); items != nil {
			for _, it := range items.Content {
				collectNamespaces(it, out, depth+1)
			}
		}
		return
	}
	if !h.is("Namespace", "") || h.name == "" {
		return
	}
	ann := map[string]string{}
	for _, kv := range kvsOf(sidecar.MapGet(sidecar.MapGet(obj, "metadata"), "annotations")) {
		ann[kv.Key] = kv.Value
	}
	out[h.name] = ann
}

func kvsOf(m *yaml.Node) []sidecar.KV {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []sidecar.KV
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, sidecar.KV{Key: m.Content[i].Value, Value: scalar(m.Content[i+1])})
	}
	return out
}

// blockStyle turns a document written as JSON into YAML style: block
// collections and unquoted scalars (the encoder still quotes a string that
// would otherwise read as another type). YAML documents keep their style.
func blockStyle(doc *yaml.Node) {
	if len(doc.Content) == 0 || doc.Content[0].Style&yaml.FlowStyle == 0 {
		return
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			n.Style &^= yaml.DoubleQuotedStyle
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
}

// encodeYAML renders doc; sizeHint is the expected length of the text.
func encodeYAML(doc *yaml.Node, sizeHint int) ([]byte, error) {
	spellFlowNulls(doc)
	keyCommentsAfterFlow(doc)
	literalMoreIndented(doc)
	var b bytes.Buffer
	b.Grow(sizeHint)
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := e.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return b.Bytes(), nil
}

// literalMoreIndented writes folded scalars with a more-indented line
// ("\n " or "\n\t" in the value) in literal style. yaml.v3 emits such a
// folded scalar with an extra blank line before the more-indented line,
// which reads back with one more line break ("a\n b" becomes "a\n\n b");
// a literal scalar keeps every break as it is.
func literalMoreIndented(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Style&yaml.FoldedStyle != 0 &&
		(strings.Contains(n.Value, "\n ") || strings.Contains(n.Value, "\n\t")) {
		n.Style = n.Style&^yaml.FoldedStyle | yaml.LiteralStyle
	}
	for _, c := range n.Content {
		literalMoreIndented(c)
	}
}

// spellFlowNulls writes implicit nulls inside flow collections as "null".
// yaml.v3 encodes an empty null scalar there as ” ("{p}" would come back as
// {p: ”}), turning null into an empty string; spelled out, it stays null.
func spellFlowNulls(n *yaml.Node) {
	if n == nil {
		return
	}
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle != 0 {
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && c.Tag == "!!null" && c.Value == "" {
				c.Value = "null"
			}
		}
	}
	for _, c := range n.Content {
		spellFlowNulls(c)
	}
}

// keyCommentsAfterFlow moves the line comment of a key whose value is a
// flow collection (an emptied "metadata: {}" among them) to the value.
// yaml.v3 writes a key's line comment before the value, and a flow value
// then lands on the next line at the key's indentation: "metadata: #c"
// followed by "{}", which does not parse.
func keyCommentsAfterFlow(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.LineComment != "" && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) &&
				(v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0) && v.LineComment == "" {
				v.LineComment, k.LineComment = k.LineComment, ""
			}
		}
	}
	for _, c := range n.Content {
		keyCommentsAfterFlow(c)
	}
}

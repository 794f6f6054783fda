package inject

import (
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// editOf sets up a textEditor over src with edits replacing src[start:end]
// by text, in order and apart, and returns it, the parsed src and the
// edited text; ok is false when src is not a document inject takes.
func editOf(src []byte, edits ...textEdit) (e textEditor, before *yaml.Node, out []byte, ok bool) {
	// As inject parses a document: one document, nothing after it.
	before, err := parse(document{source: "test", index: 1, line: 1, text: src})
	if err != nil || before == nil || before.Kind != yaml.DocumentNode {
		return e, nil, nil, false
	}
	e = textEditor{src: src, lines: lineStarts(src), edits: edits}
	at := 0
	for _, ed := range edits {
		out = append(append(out, src[at:ed.start]...), ed.text...)
		at = ed.end
	}
	out = append(out, src[at:]...)
	return e, before, out, true
}

// substitutePairs returns a copy of n in which each pair whose key is in
// parsed is replaced by the pairs given for it.
func substitutePairs(n *yaml.Node, parsed map[*yaml.Node][]*yaml.Node) *yaml.Node {
	c := *n
	content := n.Content
	if n.Kind == yaml.MappingNode {
		content = substituted(n.Content, parsed)
	}
	c.Content = make([]*yaml.Node, len(content))
	for i, child := range content {
		c.Content[i] = substitutePairs(child, parsed)
	}
	return &c
}

func TestVerifyEditParsesOnePair(t *testing.T) {
	deployment := "kind: Deployment\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n      annotations:\n        a: b\n    spec:\n      containers:\n      - name: web\n        image: web:1\n"
	tests := []struct {
		name   string
		src    string
		mutate func(root *yaml.Node)
		// pairs are the keys of the pairs whose own parses settle the
		// check, sorted; none when the whole document must be parsed.
		pairs []string
	}{
		{
			name: "annotation added to a template's annotations",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				tmpl := sidecar.MapGet(sidecar.MapGet(root, "spec"), "template")
				must(setMeta(tmpl, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pairs: []string{"a"},
		},
		{
			name: "annotations created in a template's metadata",
			src:  "kind: Deployment\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers: []\n",
			mutate: func(root *yaml.Node) {
				tmpl := sidecar.MapGet(sidecar.MapGet(root, "spec"), "template")
				must(setMeta(tmpl, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pairs: []string{"labels"},
		},
		{
			name: "a value replaced in a sequence item",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				c := sidecar.MapGet(sidecar.MapGet(sidecar.MapGet(sidecar.MapGet(root, "spec"), "template"), "spec"), "containers")
				sidecar.MapGet(c.Content[0], "image").Value = "web:2"
			},
			pairs: []string{"image"},
		},
		{
			name: "an annotation added and an image changed: two pairs",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				tmpl := sidecar.MapGet(sidecar.MapGet(root, "spec"), "template")
				must(setMeta(tmpl, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
				c := sidecar.MapGet(sidecar.MapGet(tmpl, "spec"), "containers")
				sidecar.MapGet(c.Content[0], "image").Value = "web:2"
			},
			pairs: []string{"a", "image"},
		},
		{
			name: "a label and an annotation added: two insertions, two pairs",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				tmpl := sidecar.MapGet(sidecar.MapGet(root, "spec"), "template")
				must(setMeta(tmpl, []sidecar.KV{{Key: "meshctl.io/workload-ns", Value: "ns"}}, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pairs: []string{"a", "app"},
		},
		{
			name: "keys added after a mapping's last pair",
			src:  "kind: Pod\nspec:\n  containers:\n  - name: web\n  volumes:\n  - name: data\n",
			mutate: func(root *yaml.Node) {
				spec := sidecar.MapGet(root, "spec")
				spec.Content = append(spec.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "initContainers"}, &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x"}}})
				vols := sidecar.MapGet(spec, "volumes")
				vols.Content = append(vols.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "y"})
			},
			pairs: []string{"volumes"},
		},
		{
			name: "a key added at the top level",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "status"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x"})
			},
			pairs: nil,
		},
		{
			name: "an alias in the edited pair",
			src:  "kind: Pod\nbase: &b {x: 1}\nmetadata:\n  annotations:\n    a: b\n    c: *b\n",
			mutate: func(root *yaml.Node) {
				must(setMeta(root, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pairs: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &before); err != nil {
				t.Fatal(err)
			}
			after := sidecar.CopyNode(&before)
			tc.mutate(after.Content[0])
			e, ok := planEdits([]byte(tc.src), &before, after)
			if !ok {
				t.Fatal("no text edit for the change")
			}
			out, ok := editText([]byte(tc.src), &before, after)
			if !ok {
				t.Fatal("the edit was refused")
			}
			var got []string
			if parsed, ok := e.parsePairs(out, &before); ok && e.verifyPairs(out, &before, after) {
				for k := range parsed {
					got = append(got, k.Value)
				}
				slices.Sort(got)
			}
			if !slices.Equal(got, tc.pairs) {
				t.Errorf("settled by the parses of pairs %q, want %q\n%s", got, tc.pairs, out)
			}
			if !parsesTo(out, after) {
				t.Errorf("the edited text does not parse to the change:\n%s", out)
			}
		})
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// TestVerifyPairRefuses: edits a pair's own parse must not accept, each of
// which parses on its own to one pair but means something else in the
// document.
func TestVerifyPairRefuses(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		start, end int
		text       string
	}{
		// "b:" indented by one more space continues a's value in context.
		{"key moved right", "a: x\nb: 1\n", 5, 5, " "},
		// The line after the pair starts the next key; inserting before it
		// a line at a lower column ends the pair's mapping in context.
		{"line at a lower column", "m:\n  a: 1\nz: 2\n", 9, 9, "y: 3\n"},
		// A flow sequence left open swallows the next pair in context.
		{"open flow collection", "m:\n  a: 1\nz: 2\n", 7, 8, "[1,"},
		{"second document", "m:\n  a: 1\nz: 2\n", 10, 10, "---\n"},
		{"document end", "m:\n  a: 1\nz: 2\n", 10, 10, "...\n"},
		{"document end, indented pair", "m:\n  a:\n    b: 1\n  c: 2\n", 17, 17, "...\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, before, out, ok := editOf([]byte(tc.src), textEdit{start: tc.start, end: tc.end, text: []byte(tc.text)})
			if !ok {
				t.Fatal("source does not parse")
			}
			checkPairSoundness(t, e, before, out)
		})
	}
}

// TestVerifyPairRefusesAnchoredPairs: a pair whose original lines hold an
// anchor is left to the whole document, whatever the edit does to it (one
// that drops the anchor leaves a later alias without it), and so is a
// document with a directive.
func TestVerifyPairRefusesAnchoredPairs(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		start, end int
		text       string
	}{
		{"anchor dropped", "m:\n  k: &x v\nz: *x\n", len("m:\n  k: "), len("m:\n  k: &x"), ""},
		{"anchored value edited", "m:\n  k: &x v\nz: *x\n", len("m:\n  k: &x "), len("m:\n  k: &x v"), "w"},
		// Not an anchor, but as far-reaching: ! means what %TAG says.
		{"tag handle a directive defines", "%TAG ! tag:example.com,2000:\n---\nm:\n  k: v\n", len("%TAG ! tag:example.com,2000:\n---\nm:\n  k: "), len("%TAG ! tag:example.com,2000:\n---\nm:\n  k: v"), "!x v"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, before, out, ok := editOf([]byte(tc.src), textEdit{start: tc.start, end: tc.end, text: []byte(tc.text)})
			if !ok {
				t.Fatal("source does not parse")
			}
			if _, ok := e.parsePairs(out, before); ok {
				t.Fatalf("the pairs' check took an edit of an anchored pair:\n%s", out)
			}
		})
	}
}

// checkPairSoundness: when the pairs' own parses give a tree (the
// original with the pairs they gave in place), which is an "after"
// verifyPairs accepts, the whole edited text must parse to it.
func checkPairSoundness(t *testing.T, e textEditor, before *yaml.Node, out []byte) {
	t.Helper()
	parsed, ok := e.parsePairs(out, before)
	if !ok {
		return
	}
	after := substitutePairs(before, parsed)
	if !e.verifyPairs(out, before, after) {
		t.Fatalf("the pairs' parses do not accept the tree they gave:\n%s", out)
	}
	if !parsesTo(out, after) {
		t.Fatalf("the pairs' parses accepted an edit the whole document does not parse to:\n%s", out)
	}
}

// FuzzVerifyPair replaces one or two ranges of a parsed document with any
// text and checks that the pairs' check never accepts what a parse of the
// whole edited document would refuse.
func FuzzVerifyPair(f *testing.F) {
	deployment := []byte("kind: Deployment\nspec:\n  template:\n    metadata:\n      annotations:\n        a: b\n    spec:\n      containers:\n      - name: web\n        image: x\n")
	f.Add(deployment, uint16(76), uint16(0), []byte("        c: d\n"), uint16(140), uint16(1), []byte("y"))
	f.Add([]byte("a: |\n  text\n\n  more\nb: 'x\n  y'\nc:\n- 1\n- 2\nd: 3\n"), uint16(40), uint16(3), []byte("[1,\n"), uint16(0), uint16(0), []byte(nil))
	f.Add([]byte("m:\n  a: 1\n  b: {x: 1,\n  y: 2}\nz: 2\n"), uint16(9), uint16(0), []byte("  c: 3\n"), uint16(30), uint16(0), []byte("  d: 4\n"))
	f.Add([]byte("x:\n  y: \"a\n  b\"\n  z: ok\n"), uint16(20), uint16(2), []byte("no"), uint16(0), uint16(0), []byte(nil))
	f.Add([]byte("m:\n  k: &x v\n  j: *x\nz: *x\n"), uint16(8), uint16(2), []byte(""), uint16(3), uint16(1), []byte("w"))
	f.Add([]byte("m:\n  a: 1\nz: 2\n"), uint16(10), uint16(0), []byte("...\n"), uint16(0), uint16(0), []byte(nil))
	f.Add([]byte("%YAML 1.2\n---\nm:\n  a: 1\nz: 2\n"), uint16(24), uint16(0), []byte("--- x\n"), uint16(2), uint16(0), []byte("%T\n"))
	f.Add([]byte("%TAG ! tag:example.com,2000:\n---\nm:\n  k: v\n"), uint16(41), uint16(0), []byte("!x "), uint16(0), uint16(0), []byte(nil))
	f.Fuzz(func(t *testing.T, src []byte, at, n uint16, text []byte, at2, n2 uint16, text2 []byte) {
		if len(src) > 4096 || len(text) > 256 || len(text2) > 256 {
			return
		}
		// As inject reads a source: line breaks are LF by then.
		src, err := normalise("fuzz", src)
		if err != nil {
			return
		}
		start := int(at) % (len(src) + 1)
		end := min(start+int(n), len(src))
		edits := []textEdit{{start: start, end: end, text: text}}
		if n2 > 0 || len(text2) > 0 {
			start2 := end + int(at2)%(len(src)-end+1)
			edits = append(edits, textEdit{start: start2, end: min(start2+int(n2), len(src)), text: text2})
		}
		e, before, out, ok := editOf(src, edits...)
		if !ok || len(before.Content) != 1 {
			return
		}
		checkPairSoundness(t, e, before, out)
	})
}

// TestVerifyPairRefusesAnAddedAnchor: an anchor an edit adds re-points a
// later alias of the same name; aliases compare by name, so the pairs'
// check must leave such an edit to the whole document.
func TestVerifyPairRefusesAnAddedAnchor(t *testing.T) {
	src := []byte("a: &x 1\nm:\n  k: v\nz: *x\n")
	at := len("a: &x 1\nm:\n  k: ")
	e, before, out, ok := editOf(src, textEdit{start: at, end: at + 1, text: []byte("&x 2")})
	if !ok {
		t.Fatal("source does not parse")
	}
	if _, ok := e.parsePairs(out, before); ok {
		t.Fatalf("the pairs' check accepted an added anchor:\n%s", out)
	}
}

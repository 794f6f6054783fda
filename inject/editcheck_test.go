package inject

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// editOf sets up a textEditor over src with one edit replacing
// src[start:end] by text and returns it, the parsed src and the edited
// text; ok is false when src does not parse.
func editOf(src []byte, start, end int, text []byte) (e textEditor, before *yaml.Node, out []byte, ok bool) {
	before = &yaml.Node{}
	if yaml.Unmarshal(src, before) != nil || before.Kind != yaml.DocumentNode {
		return e, nil, nil, false
	}
	e = textEditor{src: src, lines: lineStarts(src), edits: []textEdit{{start: start, end: end, text: text}}}
	out = append(append(append([]byte{}, src[:start]...), text...), src[end:]...)
	return e, before, out, true
}

// substitutePair returns a copy of n in which the pair whose key is key
// is replaced by pair.
func substitutePair(n, key *yaml.Node, pair []*yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, child := range n.Content {
		switch {
		case n.Kind == yaml.MappingNode && child == key:
			c.Content[i] = pair[0]
		case n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1] == key:
			c.Content[i] = pair[1]
		default:
			c.Content[i] = substitutePair(child, key, pair)
		}
	}
	return &c
}

func TestVerifyEditParsesOnePair(t *testing.T) {
	deployment := "kind: Deployment\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n      annotations:\n        a: b\n    spec:\n      containers:\n      - name: web\n        image: web:1\n"
	tests := []struct {
		name   string
		src    string
		mutate func(root *yaml.Node)
		// pair is whether the pair's parse settles the check, without
		// parsing the whole document.
		pair bool
	}{
		{
			name: "annotation added to a template's annotations",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				tmpl := sidecar.MapGet(sidecar.MapGet(root, "spec"), "template")
				must(setMeta(tmpl, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pair: true,
		},
		{
			name: "annotations created in a template's metadata",
			src:  "kind: Deployment\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers: []\n",
			mutate: func(root *yaml.Node) {
				tmpl := sidecar.MapGet(sidecar.MapGet(root, "spec"), "template")
				must(setMeta(tmpl, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pair: true,
		},
		{
			name: "a value replaced in a sequence item",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				c := sidecar.MapGet(sidecar.MapGet(sidecar.MapGet(sidecar.MapGet(root, "spec"), "template"), "spec"), "containers")
				sidecar.MapGet(c.Content[0], "image").Value = "web:2"
			},
			pair: true,
		},
		{
			name: "a key added at the top level",
			src:  deployment,
			mutate: func(root *yaml.Node) {
				root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "status"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x"})
			},
			pair: false,
		},
		{
			name: "an alias in the edited pair",
			src:  "kind: Pod\nbase: &b {x: 1}\nmetadata:\n  annotations:\n    a: b\n    c: *b\n",
			mutate: func(root *yaml.Node) {
				must(setMeta(root, nil, []sidecar.KV{{Key: "meshctl.io/inject", Value: "enabled"}}))
			},
			pair: false,
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
			e := textEditor{src: []byte(tc.src), lines: lineStarts([]byte(tc.src))}
			if !e.walk(&before, after) || len(e.edits) == 0 {
				t.Fatal("no text edit for the change")
			}
			out, ok := editText([]byte(tc.src), &before, after)
			if !ok {
				t.Fatal("the edit was refused")
			}
			if got := e.verifyPair(out, &before, after); got != tc.pair {
				t.Errorf("settled by the pair's parse: %v, want %v\n%s", got, tc.pair, out)
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
		{"second document", "m:\n  a: 1\nz: 2\n", 9, 9, "---\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, before, out, ok := editOf([]byte(tc.src), tc.start, tc.end, []byte(tc.text))
			if !ok {
				t.Fatal("source does not parse")
			}
			checkPairSoundness(t, e, before, out)
		})
	}
}

// checkPairSoundness: for every pair the check would parse, if its parse
// gives one pair, the document with that pair in place of the original is
// an "after" verifyPair accepts; the whole edited text must then parse to
// it.
func checkPairSoundness(t *testing.T, e textEditor, before *yaml.Node, out []byte) {
	t.Helper()
	ed := e.edits[0]
	grown := len(ed.text) - (ed.end - ed.start)
	for _, p := range e.pairsHolding(before.Content[0], nil, ed.start, ed.end, nil) {
		if hasAnchors(p.key) {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(out[p.start:p.end+grown], &doc) != nil || len(doc.Content) != 1 || len(doc.Content[0].Content) != 2 {
			continue
		}
		after := substitutePair(before, p.key, doc.Content[0].Content)
		if !e.verifyPair(out, before, after) {
			continue
		}
		if !parsesTo(out, after) {
			t.Fatalf("the pair at line %d accepted an edit the whole document does not parse to:\n%s", p.key.Line, out)
		}
	}
}

// FuzzVerifyPair replaces any range of a parsed document with any text
// and checks that the pair check never accepts what a parse of the whole
// edited document would refuse.
func FuzzVerifyPair(f *testing.F) {
	f.Add([]byte("kind: Deployment\nspec:\n  template:\n    metadata:\n      annotations:\n        a: b\n    spec:\n      containers:\n      - name: web\n"), uint16(60), uint16(0), []byte("        c: d\n"))
	f.Add([]byte("a: |\n  text\n\n  more\nb: 'x\n  y'\nc:\n- 1\n- 2\nd: 3\n"), uint16(40), uint16(3), []byte("[1,\n"))
	f.Add([]byte("m:\n  a: 1\n  b: {x: 1,\n  y: 2}\nz: 2\n"), uint16(9), uint16(0), []byte("  c: 3\n"))
	f.Add([]byte("x:\n  y: \"a\n  b\"\n  z: ok\n"), uint16(20), uint16(2), []byte("no"))
	f.Fuzz(func(t *testing.T, src []byte, at, n uint16, text []byte) {
		if len(src) > 4096 || len(text) > 256 {
			return
		}
		start := int(at) % (len(src) + 1)
		end := min(start+int(n), len(src))
		e, before, out, ok := editOf(src, start, end, text)
		if !ok || len(before.Content) != 1 {
			return
		}
		checkPairSoundness(t, e, before, out)
	})
}

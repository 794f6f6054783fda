package inject

import (
	"bytes"
	"errors"
	"io"

	"go.yaml.in/yaml/v3"
)

// Every text edit is checked by parsing the result (editText): an edit
// that would change what the document says falls back to encoding the
// tree. Parsing the whole document again cost as much as parsing it the
// first time, a third of inject's CPU on a large manifest, while the
// edits of one document (an annotation, the proxy's containers) usually
// lie inside a few lines of it. So the check parses only the smallest
// block mapping pair that holds every edit, on its own, and the whole
// document only when that does not settle it.
//
// Why the pair alone is enough: the pair's key starts its line (spaces
// before it, at column c), the original parse ended the pair where the
// next node after it starts, at column c or less, and every edit lies
// after the start of the key's line and before the start of that next
// line, which stays a line of its own. Parsed on its own, the pair's edited lines are a document whose
// root mapping sits at column c. If that parse gives exactly one pair,
// its key still at column c of the first line, and nothing else, every line after the first that holds content is either
// indented past c or continues a sequence written at c under the key, so
// the parser in context, whose indentation stack above c is the same and
// which is in no flow collection or quoted scalar there (the original
// parse started a key at that point), reads the same tokens, and the
// unchanged line after the pair closes it as before. Anchors and aliases
// are the one thing that reaches across: a pair whose original holds any
// is checked whole.

// verifyEdit reports whether out, the document's text with e.edits
// applied, parses to after.
func (e *textEditor) verifyEdit(out []byte, before, after *yaml.Node) bool {
	if e.verifyPair(out, before, after) {
		return true
	}
	return parsesTo(out, after)
}

// parsesTo reports whether text is one YAML document that says what want
// says.
func parsesTo(text []byte, want *yaml.Node) bool {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var got yaml.Node
	if err := dec.Decode(&got); err != nil || !sameData(&got, want) {
		return false
	}
	var more yaml.Node
	return errors.Is(dec.Decode(&more), io.EOF)
}

// editedPair is a block mapping pair of the original tree whose lines,
// src[start:end], hold every edit.
type editedPair struct {
	key        *yaml.Node
	start, end int
}

// maxPairTries bounds how many pairs, innermost first, verifyPair parses
// before leaving the check to the whole document. An insertion at the end
// of a pair's lines may belong to it or to a pair around it (a key added
// after a mapping's last pair lies at the end of that pair's lines too),
// so the innermost pair is not always the one that parses to the change.
const maxPairTries = 4

// verifyPair checks the edit by parsing only a pair that holds it; false
// when there is no such pair or no pair's parse settles it.
func (e *textEditor) verifyPair(out []byte, before, after *yaml.Node) bool {
	if len(e.edits) == 0 || before.Kind != yaml.DocumentNode || len(before.Content) != 1 {
		return false
	}
	lo, hi := e.edits[0].start, e.edits[0].end
	grown := 0
	for _, ed := range e.edits {
		lo, hi = min(lo, ed.start), max(hi, ed.end)
		grown += len(ed.text) - (ed.end - ed.start)
	}
	pairs := e.pairsHolding(before.Content[0], nil, lo, hi, nil)
	for i := len(pairs) - 1; i >= 0 && i >= len(pairs)-maxPairTries; i-- {
		p := pairs[i]
		if hasAnchors(p.key) {
			return false
		}
		text := out[p.start : p.end+grown]
		if p.end < len(e.src) && (len(text) == 0 || text[len(text)-1] != '\n') {
			return false // the edit runs into the next node's line
		}
		if pairParsesTo(text, p.key.Column, before, after, p.key) {
			return true
		}
	}
	return false
}

// pairParsesTo reports whether text, the edited lines of the pair whose
// key is key, parses on its own to one pair, its key still at the start
// of the first line at column (1-based) col, that makes before into
// after.
func pairParsesTo(text []byte, col int, before, after, key *yaml.Node) bool {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc, more yaml.Node
	if dec.Decode(&doc) != nil || !errors.Is(dec.Decode(&more), io.EOF) {
		return false
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		return false
	}
	pair := doc.Content[0].Content
	if pair[0].Line != 1 || pair[0].Column != col {
		return false
	}
	return sameDataSubstituting(before, after, key, pair)
}

// pairsHolding appends to chain, outermost first, the block mapping pairs
// under n (whose following node is next, nil at the end of the document)
// whose lines hold the edited range [lo, hi): the key begins its line, the
// edits begin after that line's start and end by the start of the next
// node's line.
func (e *textEditor) pairsHolding(n, next *yaml.Node, lo, hi int, chain []editedPair) []editedPair {
	if n.Style&yaml.FlowStyle != 0 {
		return chain
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			following := next
			if i+2 < len(n.Content) {
				following = n.Content[i+2]
			}
			key := n.Content[i]
			start, end, ok := e.span(key, following)
			if !ok || lo <= start || hi > end {
				continue
			}
			if e.startsLine(key) {
				chain = append(chain, editedPair{key: key, start: start, end: end})
			}
			return e.pairsHolding(n.Content[i+1], following, lo, hi, chain)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			following := next
			if i+1 < len(n.Content) {
				following = n.Content[i+1]
			}
			if start, end, ok := e.span(item, following); ok && lo > start && hi <= end {
				return e.pairsHolding(item, following, lo, hi, chain)
			}
		}
	}
	return chain
}

// span returns the lines from n's to the line of next, the node after it
// (the end of the text when nil).
func (e *textEditor) span(n, next *yaml.Node) (start, end int, ok bool) {
	if n.Line < 1 || n.Line > len(e.lines) {
		return 0, 0, false
	}
	start, end = e.lines[n.Line-1], len(e.src)
	if next != nil {
		if next.Line <= n.Line || next.Line > len(e.lines) {
			return 0, 0, false
		}
		end = e.lines[next.Line-1]
	}
	return start, end, true
}

// startsLine reports whether only spaces come before key on its line.
func (e *textEditor) startsLine(key *yaml.Node) bool {
	col, ok := e.column(key)
	if !ok {
		return false
	}
	start := e.lines[key.Line-1]
	return len(bytes.TrimLeft(e.src[start:start+col], " ")) == 0
}

// hasAnchors reports whether n or a node under it has an anchor or is an
// alias.
func hasAnchors(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c) {
			return true
		}
	}
	return false
}

// sameDataSubstituting is sameData(b, a) where the pair of b whose key is
// key is replaced by pair, a key and a value.
func sameDataSubstituting(b, a, key *yaml.Node, pair []*yaml.Node) bool {
	if b.Kind != a.Kind || b.Value != a.Value || b.Anchor != a.Anchor || len(b.Content) != len(a.Content) {
		return false
	}
	if b.Kind == yaml.ScalarNode && b.ShortTag() != a.ShortTag() {
		return false
	}
	for i, c := range b.Content {
		if c == key && b.Kind == yaml.MappingNode && i%2 == 0 && i+1 < len(b.Content) {
			if !sameData(pair[0], a.Content[i]) || !sameData(pair[1], a.Content[i+1]) {
				return false
			}
			continue
		}
		if i%2 == 1 && b.Kind == yaml.MappingNode && b.Content[i-1] == key {
			continue
		}
		if !sameDataSubstituting(c, a.Content[i], key, pair) {
			return false
		}
	}
	return true
}

package inject

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Every text edit is checked by parsing the result (editText): an edit
// that would change what the document says falls back to encoding the
// tree. Parsing the whole document again cost as much as parsing it the
// first time, a third of inject's CPU on a large manifest, while the
// edits of one document (an annotation, the proxy's containers) usually
// lie inside a few lines of it. So the check parses, on its own, the
// innermost block mapping pair that holds each edit (with the keys an edit
// added after it), puts what it got in place of the original pair, and
// parses the whole document only when that does not settle it.
//
// Why the pair alone is enough: the pair's key starts its line (spaces
// before it, at column c), the original parse ended the pair where the
// next node after it starts, at column c or less, and every edit lies
// after the start of the key's line and before the start of that next
// line, which stays a line of its own. Parsed on its own, the pair's
// edited lines are a document whose root mapping sits at column c. If
// that parse gives a mapping whose first key is still at column c of the
// first line and whose every key is at column c, and nothing else (no
// line starts a document marker or a directive, which would end the
// document there in context as well as on its own), then
// every line that holds content is a key at c, indented past c, or an
// item of a sequence written at c under its key. The parser in context,
// whose indentation stack up to c is the same and which is in no flow
// collection or quoted scalar there (the original parse started a key at
// that point), reads the same tokens: the keys at c are keys of the
// pair's own mapping. The unchanged line after the lines closes the last
// pair as before. Anchors and aliases reach across, and so do the tag
// handles a %TAG directive defines: a pair whose original or edited lines
// hold an anchor or alias, or a document with a directive, is checked
// whole.

// verifyEdit reports whether out, the document's text with e.edits
// applied, parses to after.
func (e *textEditor) verifyEdit(out []byte, before, after *yaml.Node) bool {
	if e.verifyPairs(out, before, after) {
		return true
	}
	return parsesTo(out, after)
}

// parsesTo reports whether text is one YAML document that says what want
// says.
func parsesTo(text []byte, want *yaml.Node) bool {
	got, ok := decodeOne(text)
	return ok && sameData(got, want)
}

// decodeOne parses text as one YAML document and nothing after it.
func decodeOne(text []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc, more yaml.Node
	if dec.Decode(&doc) != nil || !errors.Is(dec.Decode(&more), io.EOF) {
		return nil, false
	}
	return &doc, true
}

// editedPair is a block mapping pair of the original tree and its lines,
// src[start:end]: from the start of its key's line to the start of the
// next node's.
type editedPair struct {
	key, value *yaml.Node
	start, end int
}

// maxPairTries bounds how many pairs, innermost first, verifyPairs parses
// for one edit before leaving the check to the whole document. An
// insertion at the end of a pair's lines may belong to it or to a pair
// around it (a key added after a mapping's last pair lies at the end of
// that pair's lines too), so the innermost pair is not always the one
// that parses to the change.
const maxPairTries = 4

// verifyPairs checks the edits by parsing only pairs that hold them, each
// pair on its own, and comparing the original tree with those pairs in
// place against after.
func (e *textEditor) verifyPairs(out []byte, before, after *yaml.Node) bool {
	parsed, ok := e.parsePairs(out, before)
	return ok && sameDataSubstituting(before, after, parsed)
}

// parsePairs parses, for each edit, the innermost pair that holds it and
// parses on its own to one pair, and returns them by the original's key;
// false when an edit lies in no such pair.
func (e *textEditor) parsePairs(out []byte, before *yaml.Node) (map[*yaml.Node][]*yaml.Node, bool) {
	if len(e.edits) == 0 || before.Kind != yaml.DocumentNode || len(before.Content) != 1 {
		return nil, false
	}
	if bytes.HasPrefix(e.src, []byte("%")) || bytes.Contains(e.src, []byte("\n%")) {
		// A %TAG directive gives a tag handle a meaning the pair's
		// lines do not have on their own.
		return nil, false
	}
	parsed := map[*yaml.Node][]*yaml.Node{}
	covered := make([]bool, len(e.edits))
	for i, ed := range e.edits {
		if covered[i] {
			continue
		}
		holding := e.pairsHolding(before.Content[0], nil, ed.start, ed.end, nil)
		found := false
		for k := len(holding) - 1; k >= 0 && k >= len(holding)-maxPairTries && !found; k-- {
			p := holding[k]
			if hasAnchors(p.key) || hasAnchors(p.value) {
				return nil, false
			}
			inside, ok := e.editsInside(p)
			if !ok || e.insertsLeftOf(inside, p.key.Column-1) {
				continue
			}
			text := out[e.outOffset(p.start):e.outOffset(p.end)]
			if p.end < len(e.src) && (len(text) == 0 || text[len(text)-1] != '\n') {
				continue // an edit runs into the next node's line
			}
			pairs, ok := parsePairsAt(text, p.key.Column)
			if !ok {
				continue
			}
			if slices.ContainsFunc(pairs, hasAnchors) {
				// An anchor the edit added could re-point an alias after
				// the pair, which comparing alias names does not see.
				return nil, false
			}
			parsed[p.key] = pairs
			for _, j := range inside {
				covered[j] = true
			}
			found = true
		}
		if !found {
			return nil, false
		}
	}
	return parsed, true
}

// editsInside returns the indexes of the edits that lie in p's lines;
// false when an edit takes part of them and part of the text around, or
// touches the start of the key's line.
func (e *textEditor) editsInside(p editedPair) ([]int, bool) {
	var inside []int
	for j, ed := range e.edits {
		switch {
		case ed.end <= p.start || ed.start > p.end || ed.start == p.end && ed.end > ed.start:
		case ed.start > p.start && ed.end <= p.end:
			inside = append(inside, j)
		default:
			return nil, false
		}
	}
	return inside, true
}

// insertsLeftOf reports whether one of the edits inserts, at the start of
// a line, a line whose content begins left of column col (0-based): a
// pair whose key is at col cannot hold it, so its parse would be wasted.
func (e *textEditor) insertsLeftOf(edits []int, col int) bool {
	for _, j := range edits {
		ed := e.edits[j]
		if ed.start > 0 && e.src[ed.start-1] != '\n' {
			continue
		}
		for line := range bytes.Lines(ed.text) {
			body := bytes.TrimLeft(line, " ")
			if len(body) > 0 && body[0] != '\n' && body[0] != '#' && len(line)-len(body) < col {
				return true
			}
		}
	}
	return false
}

// outOffset maps offset o of the original text to the edited text: the
// edits that end by o, insertions at o among them, come before it.
func (e *textEditor) outOffset(o int) int {
	out := o
	for _, ed := range e.edits {
		if ed.end <= o {
			out += len(ed.text) - (ed.end - ed.start)
		}
	}
	return out
}

// parsePairsAt parses text, the edited lines of a pair, on its own and
// returns the keys and values of the pairs it holds: when it is one
// document holding a mapping and nothing else, the first key on the first
// line, every key at column (1-based) col with only spaces before it. More than
// one pair means keys added after the original one, in the same mapping.
func parsePairsAt(text []byte, col int) ([]*yaml.Node, bool) {
	if bytes.IndexByte(text, '\r') >= 0 {
		return nil, false // a line break lineStarts does not count (sources are read with LF only)
	}
	if hasDocumentMarker(text) {
		// On its own the document would end there, and so would the
		// whole one, whose rest would then be another document.
		return nil, false
	}
	doc, ok := decodeOne(text)
	if !ok || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) < 2 {
		return nil, false
	}
	pairs := doc.Content[0].Content
	if pairs[0].Line != 1 {
		return nil, false
	}
	// The parser does not count a "?" or "-" indicator before a key as
	// part of it: only spaces may come before.
	own := textEditor{src: text, lines: lineStarts(text)}
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i].Column != col || !own.startsLine(pairs[i]) {
			return nil, false
		}
	}
	return pairs, true
}

// hasDocumentMarker reports whether a line of text starts with a
// document marker ("---" or "...") or a directive ("%").
func hasDocumentMarker(text []byte) bool {
	for line := range bytes.Lines(text) {
		if len(line) > 0 && line[0] == '%' {
			return true
		}
		if bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) {
			if len(line) == 3 || strings.IndexByte(" \t\n", line[3]) >= 0 {
				return true
			}
		}
	}
	return false
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
				chain = append(chain, editedPair{key: key, value: n.Content[i+1], start: start, end: end})
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

// sameDataSubstituting is sameData(b, a) where each pair of b whose key
// is in parsed is replaced by the pairs parsed gives for it.
func sameDataSubstituting(b, a *yaml.Node, parsed map[*yaml.Node][]*yaml.Node) bool {
	if b.Kind != a.Kind || b.Value != a.Value || b.Anchor != a.Anchor {
		return false
	}
	if b.Kind == yaml.ScalarNode && b.ShortTag() != a.ShortTag() {
		return false
	}
	content := b.Content
	if b.Kind == yaml.MappingNode {
		content = substituted(b.Content, parsed)
	}
	if len(content) != len(a.Content) {
		return false
	}
	for i, c := range content {
		if !sameDataSubstituting(c, a.Content[i], parsed) {
			return false
		}
	}
	return true
}

// substituted returns a mapping's content with the pairs parsed replaces
// put in their place; content itself when there are none.
func substituted(content []*yaml.Node, parsed map[*yaml.Node][]*yaml.Node) []*yaml.Node {
	if len(parsed) == 0 {
		return content
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(content); i += 2 {
		pairs, ok := parsed[content[i]]
		if ok && out == nil {
			out = append(make([]*yaml.Node, 0, len(content)+len(pairs)), content[:i]...)
		}
		switch {
		case ok:
			out = append(out, pairs...)
		case out != nil:
			out = append(out, content[i], content[i+1])
		}
	}
	if out == nil {
		return content
	}
	return out
}

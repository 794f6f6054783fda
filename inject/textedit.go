package inject

import (
	"bytes"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A textEdit replaces src[start:end] of a document's text with text (an
// insertion when start == end).
type textEdit struct {
	start, end int
	text       []byte
}

// editText returns the text of after made by editing src, the text before
// was parsed from, in place: removed keys and list items take their lines
// with them, new ones go in as lines at their collection's indentation,
// changed one-line scalars are replaced, and every other byte of the
// user's document, its indentation, blank lines, comments and quoting,
// stays as it was. Re-encoding the whole tree would keep its data, key
// order and most comments, but re-indent sequences, re-wrap long strings
// and move comments. ok is false when the change is not one these edits
// can express (flow collections, multi-line scalars, a key added before a
// list item's first, ...): the caller encodes the tree then. The result is
// parsed again (editcheck.go) and compared with after, so a text edit never
// changes what the document says.
func editText(src []byte, before, after *yaml.Node) (out []byte, ok bool) {
	e, ok := planEdits(src, before, after)
	if !ok {
		return nil, false
	}
	size := len(src)
	for _, ed := range e.edits {
		size += len(ed.text)
	}
	var buf bytes.Buffer
	buf.Grow(size)
	at := 0
	for _, ed := range e.edits {
		if ed.start < at {
			return nil, false // overlapping edits
		}
		buf.Write(src[at:ed.start])
		buf.Write(ed.text)
		at = ed.end
	}
	buf.Write(src[at:])
	out = buf.Bytes()
	if !e.verifyEdit(out, before, after) {
		return nil, false
	}
	return out, true
}

// planEdits returns an editor holding the edits that turn src, the text
// before was parsed from, into after, in the order of their offsets;
// false when there are none or the change is not one edits can express.
func planEdits(src []byte, before, after *yaml.Node) (textEditor, bool) {
	e := textEditor{src: src, lines: lineStarts(src)}
	if !e.walk(before, after) || len(e.edits) == 0 {
		return e, false
	}
	// Stable: at one offset a nested mapping's new keys (recorded first)
	// stay before its parent's.
	slices.SortStableFunc(e.edits, func(a, b textEdit) int { return a.start - b.start })
	return e, true
}

type textEditor struct {
	src   []byte
	lines []int // byte offset where each line starts
	edits []textEdit
}

// lineStarts returns the offset of the start of every line of src.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' && i+1 < len(src) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// walk compares a node of the parsed tree with the same node after the
// transformation and records the edits that turn one into the other.
func (e *textEditor) walk(b, a *yaml.Node) bool {
	if b == a || sameNode(b, a) {
		return true
	}
	// Comments are not compared: in the text they stay where they are
	// (those on lines a removal takes go with them), wherever the tree
	// edits moved them (comments.go, for whole encoding).
	if b.Kind != a.Kind || b.Anchor != a.Anchor {
		return false
	}
	switch b.Kind {
	case yaml.DocumentNode:
		return len(b.Content) == len(a.Content) && b.Style == a.Style && e.each(b, a)
	case yaml.SequenceNode:
		return e.sequence(b, a)
	case yaml.MappingNode:
		return e.mapping(b, a)
	case yaml.ScalarNode:
		return e.scalar(b, a)
	}
	return false
}

// mapping handles a block mapping whose keys the transformation kept (the
// values perhaps edited), removed, or added anywhere.
func (e *textEditor) mapping(b, a *yaml.Node) bool {
	if b.Style&yaml.FlowStyle != 0 || a.Style != b.Style || len(b.Content) == 0 || len(a.Content) == 0 {
		return false
	}
	indent, ok := e.column(b.Content[0])
	return ok && e.align(b, a, indent)
}

// sequence handles a block sequence whose items the transformation edited
// in place, or removed and added (items kept are then unchanged).
func (e *textEditor) sequence(b, a *yaml.Node) bool {
	if a.Style != b.Style {
		return false
	}
	if len(a.Content) == len(b.Content) {
		return e.each(b, a)
	}
	if b.Style&yaml.FlowStyle != 0 || len(b.Content) == 0 || len(a.Content) == 0 {
		return false
	}
	dash, ok := e.column(b) // a block sequence sits at its first "-"
	return ok && e.align(b, a, dash)
}

// each walks the children of b and a pairwise.
func (e *textEditor) each(b, a *yaml.Node) bool {
	for i := range b.Content {
		if !e.walk(b.Content[i], a.Content[i]) {
			return false
		}
	}
	return true
}

// align records the edits that turn the entries of block collection b (a
// mapping's pairs, keys at column col, or a sequence's items, dashes at
// col) into a's: b's entries in order are either found in a, matched by
// data (the tree edits may have moved comments onto keys and items that
// the text keeps as they are), or removed; a's entries in between are
// new. A kept pair's value may itself be edited; a kept item is unchanged.
func (e *textEditor) align(b, a *yaml.Node, col int) bool {
	isMap := b.Kind == yaml.MappingNode
	step := 1
	if isMap {
		step = 2
	}
	fragment := func(entries []*yaml.Node) *yaml.Node {
		if isMap {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: entries}
		}
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: entries}
	}
	ai, prevEnd := 0, -1 // a's next entry; where b's previous entry ended
	for bi := 0; bi < len(b.Content); bi += step {
		entry := b.Content[bi]
		j := ai
		for j < len(a.Content) && !sameData(a.Content[j], entry) {
			j += step
		}
		if j >= len(a.Content) { // removed
			start, end, ok := e.extent(entry, col, isMap)
			if !ok {
				return false
			}
			e.edits = append(e.edits, textEdit{start: start, end: end})
			prevEnd = end
			continue
		}
		if j > ai && !e.insertBefore(entry, col, prevEnd, fragment(a.Content[ai:j])) {
			return false
		}
		if isMap && !e.walk(b.Content[bi+1], a.Content[j+1]) {
			return false
		}
		end, ok := e.end(entry, col, isMap)
		if !ok {
			return false
		}
		ai, prevEnd = j+step, end
	}
	if ai < len(a.Content) {
		return e.insertAt(prevEnd, col, fragment(a.Content[ai:]))
	}
	return true
}

// extent returns the lines a removal of n takes: from the start of n's
// line, which must hold nothing else before it, to where end says n ends.
func (e *textEditor) extent(n *yaml.Node, col int, isKey bool) (start, end int, ok bool) {
	if end, ok = e.end(n, col, isKey); !ok {
		return 0, 0, false
	}
	start = e.lines[n.Line-1]
	prefix := e.src[start : start+n.Column-1] // ASCII: end checked the column
	if isKey {
		ok = len(bytes.TrimLeft(prefix, " ")) == 0
	} else {
		ok = len(bytes.TrimLeft(prefix[:col], " ")) == 0 && prefix[col] == '-' && len(bytes.TrimLeft(prefix[col+1:], " ")) == 0
	}
	return start, end, ok
}

// end returns the offset just past the last line of content of a mapping
// pair (n its key, keys at column col) or a sequence item (n the item, its
// "-" at col); comments and blank lines after it are not part of it. n's
// line may start with something else ("- name: x" holds a mapping's first
// key).
func (e *textEditor) end(n *yaml.Node, col int, isKey bool) (int, bool) {
	c, ok := e.column(n)
	if !ok || isKey && c != col || !isKey && c <= col {
		return 0, false
	}
	return e.blockEnd(n.Line, col, isKey)
}

// insertBefore records the new keys or items of n before next (at column
// col): after the previous pair or item of the collection, which ended at
// prevEnd, or at the start of next's line when next is the first.
func (e *textEditor) insertBefore(next *yaml.Node, col, prevEnd int, n *yaml.Node) bool {
	if prevEnd < 0 {
		start, _, ok := e.extent(next, col, n.Kind == yaml.MappingNode)
		if !ok {
			return false
		}
		prevEnd = start
	}
	return e.insertAt(prevEnd, col, n)
}

// insertAt records n, encoded at column col, as new lines at offset at,
// the start of a line or the end of the text.
func (e *textEditor) insertAt(at, col int, n *yaml.Node) bool {
	text, ok := e.encodeAt(n, col)
	if !ok {
		return false
	}
	if at == len(e.src) && at > 0 && e.src[at-1] != '\n' {
		text = append([]byte{'\n'}, text...)
	}
	e.edits = append(e.edits, textEdit{start: at, end: at, text: text})
	return true
}

// column returns the 0-based byte column of n, when the text before it on
// its line is ASCII (yaml.v3 counts columns in characters).
func (e *textEditor) column(n *yaml.Node) (int, bool) {
	if n.Line < 1 || n.Line > len(e.lines) || n.Column < 1 {
		return 0, false
	}
	start := e.lines[n.Line-1]
	if start+n.Column-1 > len(e.src) {
		return 0, false
	}
	for _, c := range e.src[start : start+n.Column-1] {
		if c >= 0x80 || c == '\n' {
			return 0, false
		}
	}
	return n.Column - 1, true
}

// blockEnd returns the offset just past the last line of content of what
// starts on line (1-based) at column col: that line and the following ones
// indented further, or, with dashes, as far but starting with "-" (a
// sequence written under its key without indentation). Blank lines and
// comments count only when content follows them.
func (e *textEditor) blockEnd(line, col int, dashes bool) (int, bool) {
	end := e.lineEnd(line - 1)
	for l := line; l < len(e.lines); l++ {
		text := e.src[e.lines[l]:e.lineEnd(l)]
		body := bytes.TrimLeft(text, " ")
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if body[0] == '\t' {
			return 0, false // a tab where indentation ends: leave it to the encoder
		}
		ind := len(text) - len(body)
		more := ind > col || dashes && ind == col && body[0] == '-' && (len(body) == 1 || body[1] == ' ' || body[1] == '\n')
		if !more {
			break
		}
		end = e.lineEnd(l)
	}
	return end, true
}

// lineEnd returns the offset just past line l (0-based), its "\n" included.
func (e *textEditor) lineEnd(l int) int {
	if l+1 < len(e.lines) {
		return e.lines[l+1]
	}
	return len(e.src)
}

// scalar replaces a one-line scalar whose text is found where the parser
// saw it.
func (e *textEditor) scalar(b, a *yaml.Node) bool {
	if strings.ContainsAny(b.Value, "\n\r") || strings.ContainsAny(a.Value, "\n\r") {
		return false
	}
	col, ok := e.column(b)
	if !ok {
		return false
	}
	start := e.lines[b.Line-1] + col
	var want string
	switch b.Style {
	case 0:
		want = b.Value
	case yaml.SingleQuotedStyle:
		want = "'" + strings.ReplaceAll(b.Value, "'", "''") + "'"
	case yaml.DoubleQuotedStyle:
		if strings.ContainsAny(b.Value, "\"\\") || strings.IndexFunc(b.Value, func(r rune) bool { return r < 0x20 || r >= 0x7f }) >= 0 {
			return false
		}
		want = `"` + b.Value + `"`
	default:
		return false
	}
	end := start + len(want)
	if end > len(e.src) || string(e.src[start:end]) != want {
		return false
	}
	if end < len(e.src) && !strings.ContainsRune(" \t\n", rune(e.src[end])) {
		return false
	}
	bare := *a // its comments stay where they are in the text
	bare.HeadComment, bare.LineComment, bare.FootComment = "", "", ""
	text, err := yaml.Marshal(&bare)
	if err != nil {
		return false
	}
	text = bytes.TrimSuffix(text, []byte("\n"))
	if bytes.ContainsRune(text, '\n') {
		return false
	}
	e.edits = append(e.edits, textEdit{start: start, end: end, text: text})
	return true
}

// encodeAt renders a new block collection (the keys or items a document
// gained) as lines indented by indent spaces.
func (e *textEditor) encodeAt(n *yaml.Node, indent int) ([]byte, bool) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, false
	}
	if err := enc.Close(); err != nil {
		return nil, false
	}
	pad := strings.Repeat(" ", indent)
	var out bytes.Buffer
	for line := range bytes.Lines(b.Bytes()) {
		if len(bytes.TrimSpace(line)) > 0 {
			out.WriteString(pad)
		}
		out.Write(line)
	}
	return out.Bytes(), true
}

// sameData reports whether two trees say the same thing: kinds, resolved
// tags, values, anchors and aliases, in order; styles and comments aside.
func sameData(a, b *yaml.Node) bool { return sameDataSubstituting(a, b, nil) }

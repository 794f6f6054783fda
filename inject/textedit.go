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
// parsed from, in place: what annotation mode does (new keys in block
// mappings, new scalar values) becomes a few inserted or replaced lines,
// and every other byte of the user's document, its indentation, blank
// lines, comments and quoting, stays as it was. Re-encoding the whole tree
// would keep its data, key order and most comments, but re-indent
// sequences, re-wrap long strings and move comments. ok is false when the
// change is not one these edits can express (deleted keys, new sequence
// items, flow collections, multi-line scalars, ...): the caller encodes
// the tree then. The result is parsed again and compared with after, so a
// text edit never changes what the document says.
func editText(src []byte, before, after *yaml.Node) (out []byte, ok bool) {
	e := textEditor{src: src, lines: lineStarts(src)}
	if !e.walk(before, after) || len(e.edits) == 0 {
		return nil, false
	}
	// Stable: at one offset a nested mapping's new keys (recorded first)
	// stay before its parent's.
	slices.SortStableFunc(e.edits, func(a, b textEdit) int { return a.start - b.start })
	var buf bytes.Buffer
	buf.Grow(len(src) + 256)
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
	var check yaml.Node
	if err := yaml.Unmarshal(out, &check); err != nil || !sameData(&check, after) {
		return nil, false
	}
	return out, true
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
	if b.Kind != a.Kind || b.Anchor != a.Anchor || b.HeadComment != a.HeadComment ||
		b.LineComment != a.LineComment || b.FootComment != a.FootComment {
		return false
	}
	switch b.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		if len(b.Content) != len(a.Content) || b.Style != a.Style {
			return false
		}
		for i := range b.Content {
			if !e.walk(b.Content[i], a.Content[i]) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		return e.mapping(b, a)
	case yaml.ScalarNode:
		return e.scalar(b, a)
	}
	return false
}

// mapping handles a block mapping that kept its keys, in order, and may
// have gained keys before the first or after the last.
func (e *textEditor) mapping(b, a *yaml.Node) bool {
	if b.Style&yaml.FlowStyle != 0 || a.Style != b.Style || len(b.Content) == 0 || len(a.Content) < len(b.Content) {
		return false
	}
	// Where b's keys sit in a's: new keys can only come before or after.
	first := -1
	for off := 0; off+len(b.Content) <= len(a.Content); off += 2 {
		if sameNode(a.Content[off], b.Content[0]) {
			first = off
			break
		}
	}
	if first < 0 {
		return false
	}
	for i := 0; i < len(b.Content); i += 2 {
		if !sameNode(b.Content[i], a.Content[first+i]) || !e.walk(b.Content[i+1], a.Content[first+i+1]) {
			return false
		}
	}
	key := b.Content[0]
	indent, ok := e.column(key)
	if !ok {
		return false
	}
	if first > 0 {
		// Before the first key: only when it starts its line (not "- key:").
		start := e.lines[key.Line-1]
		if strings.TrimLeft(string(e.src[start:start+indent]), " ") != "" {
			return false
		}
		text, ok := encodePairs(a.Content[:first], indent)
		if !ok {
			return false
		}
		e.edits = append(e.edits, textEdit{start: start, end: start, text: text})
	}
	if rest := a.Content[first+len(b.Content):]; len(rest) > 0 {
		at, ok := e.blockEnd(b.Content[len(b.Content)-2], indent)
		if !ok {
			return false
		}
		text, ok := encodePairs(rest, indent)
		if !ok {
			return false
		}
		if at == len(e.src) && at > 0 && e.src[at-1] != '\n' {
			text = append([]byte{'\n'}, text...)
		}
		e.edits = append(e.edits, textEdit{start: at, end: at, text: text})
	}
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

// blockEnd returns the offset just past the last line of the block mapping
// whose last key is last and whose keys are indented by indent: the lines
// after it that are more indented (its value) or blank or comments, up to
// the last one with content.
func (e *textEditor) blockEnd(last *yaml.Node, indent int) (int, bool) {
	end := e.lineEnd(last.Line - 1)
	for l := last.Line; l < len(e.lines); l++ {
		line := e.src[e.lines[l]:e.lineEnd(l)]
		body := bytes.TrimLeft(line, " ")
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 || trimmed[0] == '#' {
			continue
		}
		if body[0] == '\t' {
			return 0, false // a tab where indentation ends: leave it to the encoder
		}
		if len(line)-len(body) < indent || bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) {
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

// encodePairs renders key/value nodes as block mapping lines indented by
// indent spaces.
func encodePairs(pairs []*yaml.Node, indent int) ([]byte, bool) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: pairs}); err != nil {
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
func sameData(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Value != b.Value || a.Anchor != b.Anchor || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.ScalarNode && a.ShortTag() != b.ShortTag() {
		return false
	}
	for i := range a.Content {
		if !sameData(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

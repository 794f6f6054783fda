package inject

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Source is one input: a file, a URL or stdin, read whole.
type Source struct {
	// Name says where the bytes came from, for messages ("app.yaml", "-").
	Name string
	// Data is the content.
	Data []byte
}

// document is one YAML document of a source.
type document struct {
	source string
	// index is the 1-based position of the document in its source.
	index int
	// line is the 1-based line of the source where text starts.
	line int
	// text is the document without its separator line (or with it, when
	// the line carries content: see ownsMarker), ending in "\n" unless
	// empty.
	text []byte
}

// normalise checks that data is text and returns it with the UTF-8 byte
// order marks it starts with removed and every line break (CRLF, or a lone
// CR, which YAML also reads as a line break) turned into LF. Both keep
// inject idempotent: with one of two marks kept, the output would start
// with it and the next run would drop it; "\r\r\n" would otherwise become
// a new CRLF.
func normalise(name string, data []byte) ([]byte, error) {
	for bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		data = data[3:]
	}
	if len(data) >= 2 && (data[0] == 0xfe && data[1] == 0xff || data[0] == 0xff && data[1] == 0xfe) {
		return nil, fmt.Errorf("%s: the input is UTF-16: convert it to UTF-8 (for example with iconv -f UTF-16 -t UTF-8)", name)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, fmt.Errorf("%s: line %d: the input contains a NUL byte: it is binary, not YAML or JSON", name, lineOf(data, i))
	}
	if !utf8.Valid(data) {
		i := firstInvalidUTF8(data)
		return nil, fmt.Errorf("%s: line %d: the input is not valid UTF-8 (byte 0x%02x at offset %d): convert it to UTF-8", name, lineOf(data, i), data[i], i)
	}
	if bytes.IndexByte(data, '\r') >= 0 {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	return data, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func lineOf(b []byte, off int) int {
	return bytes.Count(b[:off], []byte("\n")) + 1
}

// split cuts normalised data into documents at "---" lines (which may carry
// content after the marker) and after "..." end markers. Whitespace-only
// text before the first marker and after the last is not a document.
//
// A document's lines are contiguous in data, so its text is a slice of
// data, not a copy: a large manifest is held once (the caller's bytes
// must not change while the documents are in use).
func split(name string, data []byte) []document {
	var docs []document
	from, to := -1, -1 // the current document is data[from:to]; from < 0 when it has no line yet
	start := 1
	started := false // a marker opened the current document
	flush := func() {
		// A document of whitespace alone ("---" right after "---") says
		// nothing and is dropped: kept, it would print as a trailing "---"
		// that the next run reads as no document.
		if from >= 0 && len(bytes.TrimSpace(data[from:to])) > 0 {
			docs = append(docs, document{source: name, line: start, text: data[from:to:to]})
		}
		from, to = -1, -1
	}
	line := 1
	for off := 0; off < len(data); line++ {
		end := len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			end = off + i + 1
		}
		l := data[off:end]
		switch {
		case isMarker(l, "---"):
			flush()
			started, start = true, line+1
			if len(bytes.TrimSpace(l[3:])) > 0 {
				// Content on the marker line stays behind its marker:
				// "--- --- " is the scalar "---", which the content
				// alone would not be.
				from, to, start = off, end, line
			}
		case isMarker(l, "...") && len(bytes.TrimSpace(l[3:])) == 0:
			flush()
			started, start = false, line+1
		default:
			if from < 0 {
				if !started {
					start = line
				}
				from = off
			}
			to = end
		}
		off = end
	}
	// A trailing "---" opens no document.
	if started && (from < 0 || len(bytes.TrimSpace(data[from:to])) == 0) {
		started = false
	}
	flush()
	for i := range docs {
		docs[i].index = i + 1
		if t := docs[i].text; len(t) > 0 && t[len(t)-1] != '\n' {
			// The three-index slice above makes this append copy rather
			// than write into the caller's bytes.
			docs[i].text = append(t, '\n')
		}
	}
	return docs
}

// isMarker reports whether line l starts with marker followed by a space,
// a tab or the end of the line.
// ownsMarker reports whether text begins with its own "---" line, so that
// joining documents must not add another.
func ownsMarker(text []byte) bool {
	return isMarker(text, "---")
}

func isMarker(l []byte, marker string) bool {
	if !bytes.HasPrefix(l, []byte(marker)) {
		return false
	}
	rest := l[len(marker):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

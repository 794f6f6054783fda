package inject

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Limits on what one document may contain.
const (
	// maxDepth bounds the nesting of collections in a document.
	maxDepth = 512
	// maxAliasExpansion bounds the nodes a document's aliases expand to.
	maxAliasExpansion = 1 << 20
	// maxNodes bounds the nodes of one document, estimated from its
	// line breaks and commas before parsing (parsing costs about 2.5 µs a
	// node). Kubernetes objects are far smaller: the API server stores at
	// most about 1.5 MiB per object.
	maxNodes = 1 << 20
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseError is a document that is not valid YAML.
type parseError struct {
	doc  document
	line int
	msg  string
}

func (e *parseError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s: document %d, line %d: %s", e.doc.source, e.doc.index, e.line, e.msg)
	}
	return fmt.Sprintf("%s: document %d (line %d): %s", e.doc.source, e.doc.index, e.doc.line, e.msg)
}

// parse parses d into a document node. It returns nil for a document with
// no content (empty or comments only).
func parse(d document) (*yaml.Node, error) {
	if est := bytes.Count(d.text, []byte("\n")) + bytes.Count(d.text, []byte(",")); est > maxNodes {
		return nil, &parseError{doc: d, msg: fmt.Sprintf("the document is too large to process (about %d nodes, the limit is %d): split it into several documents", est, maxNodes)}
	}
	var n yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(d.text))
	err := dec.Decode(&n)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err == nil {
		// yaml.Unmarshal would ignore whatever follows the first
		// document; here it is an error.
		var rest yaml.Node
		if err = dec.Decode(&rest); errors.Is(err, io.EOF) {
			err = nil
		} else if err == nil {
			err = fmt.Errorf("yaml: line %d: unexpected content after the document (a missing \"---\"?)", max(rest.Line, 1))
		}
	}
	if err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			l, _ := strconv.Atoi(m[1])
			line = d.line + l - 1
			msg = msg[len(m[0]):]
		} else {
			msg = trimYAMLPrefix(msg)
		}
		return nil, &parseError{doc: d, line: line, msg: msg + ": fix the YAML"}
	}
	if n.Kind == 0 || len(n.Content) == 0 {
		return nil, nil
	}
	if err := checkTree(d, n.Content[0]); err != nil {
		return nil, err
	}
	return &n, nil
}

func trimYAMLPrefix(msg string) string {
	if len(msg) > 6 && msg[:6] == "yaml: " {
		return msg[6:]
	}
	return msg
}

// checkKey rejects a mapping key that no Kubernetes object can have: a null
// or a collection. kubectl's YAML-to-JSON conversion refuses them too, and
// re-encoding such a key does not always give it back (an anchored null key
// comes out as an empty string).
func checkKey(d document, k *yaml.Node) error {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	switch {
	case k.Kind != yaml.ScalarNode:
		return &parseError{doc: d, line: d.line + k.Line - 1, msg: "a mapping key is a list or a map: Kubernetes objects have string keys"}
	case k.ShortTag() == "!!null":
		return &parseError{doc: d, line: d.line + k.Line - 1, msg: fmt.Sprintf("mapping key %q is null: Kubernetes objects have string keys, quote it", k.Value)}
	}
	return nil
}

// checkMerge rejects a merge key ("<<") whose value is not a map or a
// list of maps: the node tree holds it, but decoding the document (as
// kubectl and this tool's own output check do) fails on it.
func checkMerge(d document, k, v *yaml.Node) error {
	if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
		return nil
	}
	isMap := func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		return n.Kind == yaml.MappingNode
	}
	ok := isMap(v)
	if !ok && v.Kind == yaml.SequenceNode {
		ok = true
		for _, e := range v.Content {
			ok = ok && isMap(e)
		}
	}
	if ok {
		return nil
	}
	return &parseError{doc: d, line: d.line + k.Line - 1, msg: `merge key "<<" needs a map or a list of maps as its value (quote the key if it is a plain "<<")`}
}

// checkTree rejects null and collection keys, duplicate keys, nesting deeper than maxDepth and
// aliases that expand beyond maxAliasExpansion.
func checkTree(d document, root *yaml.Node) error {
	memo := map[*yaml.Node]int{}
	var walk func(n *yaml.Node, depth int) (int, error)
	walk = func(n *yaml.Node, depth int) (int, error) {
		if depth > maxDepth {
			return 0, &parseError{doc: d, line: d.line + n.Line - 1, msg: fmt.Sprintf("nesting deeper than %d levels: this is not a Kubernetes manifest", maxDepth)}
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 1, nil
			}
			if c, ok := memo[n.Alias]; ok {
				return c, nil
			}
			return 1, nil
		}
		if c, ok := memo[n]; ok {
			return c, nil
		}
		count := 1
		if n.Kind == yaml.MappingNode {
			seen := make(map[string]struct{}, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if err := checkKey(d, k); err != nil {
					return 0, err
				}
				if err := checkMerge(d, k, n.Content[i+1]); err != nil {
					return 0, err
				}
				if k.Kind == yaml.ScalarNode && k.Value != "<<" {
					if _, dup := seen[k.Value]; dup {
						return 0, &parseError{doc: d, line: d.line + k.Line - 1, msg: fmt.Sprintf("duplicate key %q: remove one of them", k.Value)}
					}
					seen[k.Value] = struct{}{}
				}
			}
		}
		for _, c := range n.Content {
			cc, err := walk(c, depth+1)
			if err != nil {
				return 0, err
			}
			count += cc
			if count > maxAliasExpansion {
				return 0, &parseError{doc: d, line: d.line + n.Line - 1, msg: "aliases expand to too many nodes (a YAML alias bomb?)"}
			}
		}
		if n.Anchor != "" {
			memo[n] = count
		}
		return count, nil
	}
	_, err := walk(root, 0)
	return err
}

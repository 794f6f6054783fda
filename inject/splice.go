package inject

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// spliceCache keeps the YAML text of the proxy patch's containers and
// volumes, encoded once per configuration, for every document that
// receives them (--manual). yaml.v3's emitter keeps each event of a
// document (some 300 bytes apiece) until the document ends, so encoding
// the same hundred-line patch into 10,000 documents was most of the time
// and allocation of a large manual inject. Safe for concurrent use.
type spliceCache struct {
	// token marks the placeholders; random per run, so that no input can
	// contain one.
	token string
	mu    sync.Mutex
	texts map[string][]byte // by patch configuration, list and index
}

func newSpliceCache() *spliceCache {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &spliceCache{token: "x-meshctl-splice-" + hex.EncodeToString(b) + "-", texts: map[string][]byte{}}
}

// splice is one patch node of a document and the key of its text.
type splice struct {
	node *yaml.Node
	key  string
}

// patchSplices lists the nodes of patch p, each with its text's key.
func patchSplices(p *sidecar.Patch) []splice {
	var out []splice
	for _, l := range []struct {
		name  string
		nodes []*yaml.Node
	}{{"initContainers", p.InitContainers}, {"containers", p.Containers}, {"volumes", p.Volumes}} {
		for i, n := range l.nodes {
			out = append(out, splice{node: n, key: fmt.Sprintf("%s/%s/%d", p.Config, l.name, i)})
		}
	}
	return out
}

// text returns the encoding of n as the only item of a block sequence at
// column 0, from the cache when key is there.
func (c *spliceCache) text(key string, n *yaml.Node) ([]byte, error) {
	c.mu.Lock()
	t, ok := c.texts[key]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := encodeYAML(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{sidecar.CopyNode(n)}}, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.texts[key] = t
	c.mu.Unlock()
	return t, nil
}

// encode renders doc with the nodes of splices replaced by their cached
// text. It reports false when a placeholder did not come out as a block
// sequence item on a line of its own (a flow-style list of the user's),
// so that the caller encodes doc whole; the nodes are then copies of the
// shared ones.
func (c *spliceCache) encode(doc *yaml.Node, splices []splice, sizeHint int) ([]byte, bool, error) {
	return c.render(doc, splices, sizeHint, true, func() ([]byte, bool, error) {
		text, err := encodeYAML(doc, sizeHint)
		return text, err == nil, err
	})
}

// render swaps the nodes of splices in doc for placeholder scalars, has
// write render doc so, and replaces each placeholder's line with the cached
// text of its node. Whatever happens, the nodes are back in doc on return:
// the shared ones, or copies when it reports false and last is set (the
// caller then encodes doc itself, and encoding may touch them:
// spellFlowNulls).
func (c *spliceCache) render(doc *yaml.Node, splices []splice, sizeHint int, last bool, write func() ([]byte, bool, error)) ([]byte, bool, error) {
	byNode := make(map[*yaml.Node]int, len(splices))
	for i, s := range splices {
		byNode[s.node] = i
	}
	type swap struct {
		parent *yaml.Node
		index  int
		splice int
	}
	var swaps []swap
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i, ch := range n.Content {
			if k, ok := byNode[ch]; ok && n.Kind == yaml.SequenceNode {
				swaps = append(swaps, swap{parent: n, index: i, splice: k})
				continue
			}
			walk(ch)
		}
	}
	walk(doc)
	putBack := func(copies bool) {
		for _, s := range swaps {
			n := splices[s.splice].node
			if copies {
				n = sidecar.CopyNode(n)
			}
			s.parent.Content[s.index] = n
		}
	}
	if len(swaps) != len(splices) {
		putBack(last)
		return nil, false, nil
	}
	for _, s := range swaps {
		s.parent.Content[s.index] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.placeholder(s.splice)}
	}
	text, ok, err := write()
	if err != nil || !ok {
		putBack(last)
		return nil, false, err
	}
	out, ok, err := c.expand(text, splices, sizeHint)
	putBack(last && (!ok || err != nil))
	return out, ok && err == nil, err
}

// expand replaces the line of each placeholder in text, a block sequence
// item of its own, with the cached text of its node at that indentation.
func (c *spliceCache) expand(text []byte, splices []splice, sizeHint int) ([]byte, bool, error) {
	type found struct{ at, lineStart, splice int }
	spots := make([]found, 0, len(splices))
	for i := range splices {
		ph := []byte("- " + c.placeholder(i) + "\n")
		at := bytes.Index(text, ph)
		if at < 0 || bytes.Count(text, ph) != 1 {
			return nil, false, nil
		}
		lineStart := bytes.LastIndexByte(text[:at], '\n') + 1
		if len(bytes.TrimLeft(text[lineStart:at], " ")) != 0 {
			return nil, false, nil // not a block sequence item on its own line
		}
		spots = append(spots, found{at: at, lineStart: lineStart, splice: i})
	}
	slices.SortFunc(spots, func(a, b found) int { return a.at - b.at })
	var out bytes.Buffer
	out.Grow(sizeHint)
	done := 0
	for _, sp := range spots {
		s := splices[sp.splice]
		item, err := c.text(s.key, s.node)
		if err != nil {
			return nil, false, err
		}
		indent := text[sp.lineStart:sp.at]
		out.Write(text[done:sp.lineStart])
		for _, line := range bytes.SplitAfter(item, []byte("\n")) {
			if len(line) > 1 {
				out.Write(indent)
			}
			out.Write(line)
		}
		done = sp.at + len("- "+c.placeholder(sp.splice)+"\n")
	}
	out.Write(text[done:])
	return out.Bytes(), true, nil
}

func (c *spliceCache) placeholder(i int) string { return fmt.Sprintf("%s%d", c.token, i) }

package inject

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// comments collects the comments of nodes being removed from a collection
// so that they can be given to a node that stays.
type comments struct {
	lines []string
}

// take collects n's comments.
func (c *comments) take(n *yaml.Node) {
	for _, s := range []string{n.HeadComment, n.LineComment, n.FootComment} {
		if s != "" {
			c.lines = append(c.lines, s)
		}
	}
}

// giveHead puts the collected comments above n, before its own.
func (c *comments) giveHead(n *yaml.Node) {
	if len(c.lines) == 0 {
		return
	}
	n.HeadComment = join(append(c.lines, n.HeadComment)...)
	c.lines = nil
}

// giveFoot puts the collected comments below the last node of kept, or,
// when nothing is kept, below the collection itself.
func (c *comments) giveFoot(coll *yaml.Node, kept []*yaml.Node) {
	if len(c.lines) == 0 {
		return
	}
	target := coll
	if len(kept) > 0 {
		target = kept[len(kept)-1]
	}
	target.FootComment = join(append([]string{target.FootComment}, c.lines...)...)
	c.lines = nil
}

func join(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, "\n")
}

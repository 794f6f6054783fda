package inject

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/meshctl/meshctl/pkg/sidecar"
)

// errAlias is returned when an edit would go through a YAML alias, which
// would change every place the anchor is used.
var errAlias = errors.New("the pod template uses a YAML alias where meshctl edits it: expand the alias and retry")

// ensureMap returns the mapping under key in m, creating it when it is
// missing or null.
func ensureMap(m *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		switch {
		case v.Kind == yaml.AliasNode:
			return nil, errAlias
		case v.Kind == yaml.MappingNode:
			return v, nil
		case isNull(v):
			nm := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: v.Style & yaml.FlowStyle}
			m.Content[i+1] = nm
			return nm, nil
		default:
			return nil, fmt.Errorf("%s is not a mapping", key)
		}
	}
	nm := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if key == "metadata" {
		// Objects and pod templates read best with metadata first.
		m.Content = append([]*yaml.Node{strNode(key), nm}, m.Content...)
		return nm, nil
	}
	m.Content = append(m.Content, strNode(key), nm)
	return nm, nil
}

// ensureSeq returns the sequence under key in m, creating it when missing
// or null.
func ensureSeq(m *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		switch {
		case v.Kind == yaml.AliasNode:
			return nil, errAlias
		case v.Kind == yaml.SequenceNode:
			return v, nil
		case isNull(v):
			ns := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			m.Content[i+1] = ns
			return ns, nil
		default:
			return nil, fmt.Errorf("%s is not a list", key)
		}
	}
	ns := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	m.Content = append(m.Content, strNode(key), ns)
	return ns, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "" && n.Style == 0)
}

// strNode returns a string scalar, quoted when a plain one would be read
// back as something else.
func strNode(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if !sidecar.PlainString(v) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// setKV sets key to value in mapping m, in place when the key exists.
func setKV(m *yaml.Node, key, value string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if v := m.Content[i+1]; v.Kind == yaml.ScalarNode && v.Value == value && v.Tag == "!!str" {
				return
			}
			n := strNode(value)
			// The comments on the old value stay with the new one.
			old := m.Content[i+1]
			n.HeadComment, n.LineComment, n.FootComment = old.HeadComment, old.LineComment, old.FootComment
			m.Content[i+1] = n
			return
		}
	}
	m.Content = append(m.Content, strNode(key), strNode(value))
}

// deleteKeys removes the entries of mapping m for which drop is true and
// reports whether it removed any.
func deleteKeys(m *yaml.Node, drop func(k, v string) bool) bool {
	return deleteKeysNode(m, func(k string, v *yaml.Node) bool { return drop(k, scalar(v)) })
}

// removeNamed removes the items of sequence s whose name is owned and
// reports whether it removed any. Comments above a removed item move to
// the item that takes its place.
func removeNamed(s *yaml.Node, owned func(string) bool) bool {
	if s == nil || s.Kind != yaml.SequenceNode {
		return false
	}
	var out []*yaml.Node
	var orphan comments
	for _, item := range s.Content {
		if owned(scalar(sidecar.MapGet(item, "name"))) {
			orphan.take(item)
			continue
		}
		orphan.giveHead(item)
		out = append(out, item)
	}
	orphan.giveFoot(s, out)
	removed := len(out) != len(s.Content)
	s.Content = out
	return removed
}

// dropEmpty removes key from m when its value is an empty mapping or list.
func dropEmpty(m *yaml.Node, key string) {
	deleteKeysNode(m, func(k string, v *yaml.Node) bool {
		return k == key && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode) && len(v.Content) == 0
	})
}

// deleteKeysNode removes the entries of mapping m for which drop is true
// and reports whether it removed any. The user's comments on a removed
// entry move to the entry that follows it (or, at the end, below the one
// before it): a comment heading a section inject emptied is not the
// injector's to delete.
func deleteKeysNode(m *yaml.Node, drop func(string, *yaml.Node) bool) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	var out []*yaml.Node
	var orphan comments
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if drop(k.Value, v) {
			orphan.take(k)
			orphan.take(v)
			continue
		}
		orphan.giveHead(k)
		out = append(out, k, v)
	}
	orphan.giveFoot(m, out)
	removed := len(out) != len(m.Content)
	m.Content = out
	return removed
}

// strip removes from pod template tpl everything inject adds: meshctl's
// containers, volumes, labels and annotations (but not meshctl.io/inject:
// disabled nor config.meshctl.io/*). Keys in keep are left for the caller
// to overwrite in place, and so are the spec's lists in refill, even when
// emptied (the caller fills them again, where they were). Other
// collections emptied by the removal are dropped.
func strip(tpl *yaml.Node, keep, refill map[string]bool) bool {
	changed := false
	meta := sidecar.MapGet(tpl, "metadata")
	if meta != nil && meta.Kind == yaml.MappingNode {
		if deleteKeys(sidecar.MapGet(meta, "labels"), func(k, _ string) bool { return !keep[k] && sidecar.OwnedLabel(k) }) {
			changed = true
			dropEmpty(meta, "labels")
		}
		if deleteKeys(sidecar.MapGet(meta, "annotations"), func(k, v string) bool { return !keep[k] && sidecar.OwnedAnnotation(k, v) }) {
			changed = true
			dropEmpty(meta, "annotations")
		}
		if changed {
			dropEmpty(tpl, "metadata")
		}
	}
	spec := sidecar.MapGet(tpl, "spec")
	for _, f := range []struct {
		key   string
		owned func(string) bool
	}{{"initContainers", sidecar.OwnedContainer}, {"containers", sidecar.OwnedContainer}, {"volumes", sidecar.OwnedVolume}} {
		if removeNamed(sidecar.MapGet(spec, f.key), f.owned) {
			changed = true
			if f.key != "containers" && !refill[f.key] {
				dropEmpty(spec, f.key)
			}
		}
	}
	return changed
}

// applyPatch writes patch p into pod template tpl, replacing an earlier
// injection.
func applyPatch(tpl *yaml.Node, p *sidecar.Patch) error {
	keep := map[string]bool{}
	for _, kv := range p.Labels {
		keep[kv.Key] = true
	}
	for _, kv := range p.Annotations {
		keep[kv.Key] = true
	}
	refill := map[string]bool{"initContainers": len(p.InitContainers) > 0, "volumes": len(p.Volumes) > 0}
	strip(tpl, keep, refill)
	if err := setMeta(tpl, p.Labels, p.Annotations); err != nil {
		return err
	}
	spec := sidecar.MapGet(tpl, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return errors.New("the pod template has no spec")
	}
	if len(p.InitContainers) > 0 {
		s, err := ensureSeq(spec, "initContainers")
		if err != nil {
			return err
		}
		s.Content = append(append([]*yaml.Node{}, p.InitContainers...), s.Content...)
	}
	if len(p.Containers) > 0 {
		s, err := ensureSeq(spec, "containers")
		if err != nil {
			return err
		}
		s.Content = append(append([]*yaml.Node{}, p.Containers...), s.Content...)
	}
	if len(p.Volumes) > 0 {
		s, err := ensureSeq(spec, "volumes")
		if err != nil {
			return err
		}
		s.Content = append(s.Content, p.Volumes...)
	}
	return nil
}

// setMeta sets labels and annotations on the object or template obj. The
// inject annotation, when meshctl set it earlier, is removed unless
// annotations sets it again.
func setMeta(obj *yaml.Node, labels, annotations []sidecar.KV) error {
	if len(labels) == 0 && len(annotations) == 0 {
		return nil
	}
	meta, err := ensureMap(obj, "metadata")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		kvs []sidecar.KV
	}{{"labels", labels}, {"annotations", annotations}} {
		if len(f.kvs) == 0 {
			continue
		}
		m, err := ensureMap(meta, f.key)
		if err != nil {
			return err
		}
		for _, kv := range f.kvs {
			setKV(m, kv.Key, kv.Value)
		}
	}
	return nil
}

// sameNode reports whether two trees are equal, styles and comments
// included (what the encoder would write).
func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Style != b.Style || a.Anchor != b.Anchor ||
		a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment ||
		len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

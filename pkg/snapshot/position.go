package snapshot

import "go.yaml.in/yaml/v3"

// position is the shape of a YAML document with only what findings need:
// the line of every mapping key and list item, and whether a value is a
// literal block scalar. Keeping this instead of the yaml.Node tree (values,
// comments, tags, columns) cuts what a large mesh holds in memory by more
// than half.
type position struct {
	line    int32
	literal bool
	// keys and keyLines are parallel to kids for mappings; keys is nil for
	// sequences, whose kids are the items.
	keys     []string
	keyLines []int32
	kids     []position
}

// newPosition records the positions under n.
func newPosition(n *yaml.Node) *position {
	p := &position{}
	p.fill(n, 0)
	return p
}

// depthLimit bounds recursion on hostile input; real manifests are far
// shallower, and deeper fields simply resolve to their nearest ancestor.
const depthLimit = 200

func (p *position) fill(n *yaml.Node, depth int) {
	// An alias is located where it is written; following it could expand
	// a small hostile document into a huge tree.
	p.line = int32(n.Line)
	if depth > depthLimit {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		p.literal = n.Style&yaml.LiteralStyle != 0
	case yaml.MappingNode:
		count := len(n.Content) / 2
		p.keys = make([]string, count)
		p.keyLines = make([]int32, count)
		p.kids = make([]position, count)
		for i := 0; i < count; i++ {
			p.keys[i] = n.Content[2*i].Value
			p.keyLines[i] = int32(n.Content[2*i].Line)
			p.kids[i].fill(n.Content[2*i+1], depth+1)
		}
	case yaml.SequenceNode:
		p.kids = make([]position, len(n.Content))
		for i, c := range n.Content {
			p.kids[i].fill(c, depth+1)
		}
	}
}

// child steps into a mapping by key or a sequence by index, returning the
// child and the line that best names it (the key's line for mapping values).
func (p *position) child(step any) (*position, int) {
	switch key := step.(type) {
	case string:
		for i, k := range p.keys {
			if k == key {
				return &p.kids[i], int(p.keyLines[i])
			}
		}
	case int:
		if p.keys != nil || key < 0 || key >= len(p.kids) {
			return nil, 0
		}
		return &p.kids[key], int(p.kids[key].line)
	}
	return nil, 0
}

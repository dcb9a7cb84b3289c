package snapshot

import "go.yaml.in/yaml/v3"

// position is the shape of a YAML document with only what findings need:
// the line of every mapping key and list item, and whether a value is a
// literal block scalar. It is one flat slice per object (node 0 is the
// root; a node's children are consecutive), which holds about a third of
// what a tree of small structs would, and a tenth of the yaml.Node tree.
type position struct {
	nodes []posNode
}

// posNode is one value in the document.
type posNode struct {
	key     string // its key in the parent mapping; "" in a sequence
	line    int32  // the value's line
	keyLine int32  // its key's line in a mapping; the value's line otherwise
	// first and count locate the children in nodes; a mapping's children
	// are its values (with their keys), a sequence's its items.
	first, count int32
	mapping      bool
	literal      bool
}

// newPosition records the positions under n.
func newPosition(n *yaml.Node) *position {
	p := &position{nodes: make([]posNode, 1, countNodes(n, 0))}
	p.nodes[0] = posNode{line: int32(n.Line), keyLine: int32(n.Line)}
	p.fill(0, n, 0)
	return p
}

// depthLimit bounds recursion on hostile input; real manifests are far
// shallower, and deeper fields simply resolve to their nearest ancestor.
const depthLimit = 200

// countNodes is how many nodes fill will record for n.
func countNodes(n *yaml.Node, depth int) int {
	c := 1
	if depth > depthLimit {
		return c
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			c += countNodes(n.Content[i], depth+1)
		}
	case yaml.SequenceNode:
		for _, k := range n.Content {
			c += countNodes(k, depth+1)
		}
	}
	return c
}

// fill records the children of n, which is nodes[i]. An alias is located
// where it is written; following it could expand a small hostile document
// into a huge tree.
func (p *position) fill(i int, n *yaml.Node, depth int) {
	if depth > depthLimit {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		p.nodes[i].literal = n.Style&yaml.LiteralStyle != 0
	case yaml.MappingNode:
		first := len(p.nodes)
		count := len(n.Content) / 2
		p.nodes[i].first, p.nodes[i].count, p.nodes[i].mapping = int32(first), int32(count), true
		for k := 0; k < count; k++ {
			key, val := n.Content[2*k], n.Content[2*k+1]
			p.nodes = append(p.nodes, posNode{key: key.Value, line: int32(val.Line), keyLine: int32(key.Line)})
		}
		for k := 0; k < count; k++ {
			p.fill(first+k, n.Content[2*k+1], depth+1)
		}
	case yaml.SequenceNode:
		first := len(p.nodes)
		p.nodes[i].first, p.nodes[i].count = int32(first), int32(len(n.Content))
		for _, c := range n.Content {
			p.nodes = append(p.nodes, posNode{line: int32(c.Line), keyLine: int32(c.Line)})
		}
		for k, c := range n.Content {
			p.fill(first+k, c, depth+1)
		}
	}
}

// child steps from node i into a mapping by key or a sequence by index,
// returning the child's index and the line that best names it (the key's
// line for mapping values), or -1.
func (p *position) child(i int, step any) (int, int) {
	n := &p.nodes[i]
	switch key := step.(type) {
	case string:
		if !n.mapping {
			return -1, 0
		}
		for c := n.first; c < n.first+n.count; c++ {
			if p.nodes[c].key == key {
				return int(c), int(p.nodes[c].keyLine)
			}
		}
	case int:
		if n.mapping || key < 0 || key >= int(n.count) {
			return -1, 0
		}
		c := int(n.first) + key
		return c, int(p.nodes[c].line)
	}
	return -1, 0
}

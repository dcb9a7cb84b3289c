package snapshot

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Bounds on what one document may make the checks do, so that any input up
// to MaxFileSize is judged in time and memory linear in its size.
const (
	// MaxNestingDepth bounds how deeply mappings and sequences nest, aliases
	// followed. Envoy parses its configuration with protobuf's default
	// recursion limit of 100 (google/protobuf io/coded_stream.h,
	// default_recursion_limit_), so nothing deeper reaches a working proxy;
	// deeper input cost memory quadratic in its depth.
	MaxNestingDepth = 100
	// AliasExpansionFactor bounds the bytes that YAML aliases add, scalars
	// included, to this many times the size of the file (or standard input):
	// 2,001 aliases of one 105 KB script in a 1 MB file would otherwise be
	// decoded, and linted, 2,001 times. yaml.v3's own "excessive aliasing"
	// guard counts only aliases of collections.
	AliasExpansionFactor = 16
)

// shape is the size and depth of a node with its aliases expanded.
type shape struct{ bytes, depth int }

// boundsChecker checks documents of one parse pass against the bounds; the
// alias budget is shared by all documents of the pass.
type boundsChecker struct {
	file   string
	budget int
	memo   map[*yaml.Node]shape
}

func newBoundsChecker(file string, dataLen int) *boundsChecker {
	return &boundsChecker{file: file, budget: AliasExpansionFactor * dataLen}
}

// check walks root once (aliases are not walked again; their expanded
// shape is computed once per anchor) and returns the first bound hit.
func (b *boundsChecker) check(root *yaml.Node) error {
	_, err := b.walk(root, 0)
	return err
}

func (b *boundsChecker) walk(n *yaml.Node, depth int) (shape, error) {
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return shape{}, nil
		}
		s, err := b.expanded(n.Alias, 0)
		if err != nil {
			return s, err
		}
		if depth+s.depth > MaxNestingDepth {
			return s, b.tooDeep(n)
		}
		if b.budget -= s.bytes; b.budget < 0 {
			return s, fmt.Errorf("%s:%d: YAML aliases expand the input to more than %d times its size (the bound on alias expansion)", b.file, n.Line, AliasExpansionFactor)
		}
		return s, nil
	case yaml.ScalarNode:
		return shape{bytes: len(n.Value)}, nil
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		depth++
		if depth > MaxNestingDepth {
			return shape{}, b.tooDeep(n)
		}
	}
	var s shape
	for _, c := range n.Content {
		cs, err := b.walk(c, depth)
		if err != nil {
			return s, err
		}
		s.bytes += cs.bytes
		s.depth = max(s.depth, cs.depth)
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		s.depth++
	}
	return s, nil
}

// expanded is the shape of an anchored node with the aliases inside it
// expanded; nesting is the alias chain's length, bounded like depth.
func (b *boundsChecker) expanded(n *yaml.Node, nesting int) (shape, error) {
	if s, ok := b.memo[n]; ok {
		return s, nil
	}
	if nesting > MaxNestingDepth {
		return shape{}, b.tooDeep(n)
	}
	var s shape
	switch n.Kind {
	case yaml.ScalarNode:
		s.bytes = len(n.Value)
	case yaml.AliasNode:
		if n.Alias != nil {
			var err error
			if s, err = b.expanded(n.Alias, nesting+1); err != nil {
				return s, err
			}
		}
	default:
		for _, c := range n.Content {
			cs, err := b.expanded(c, nesting+1)
			if err != nil {
				return s, err
			}
			s.bytes += cs.bytes
			s.depth = max(s.depth, cs.depth)
			if s.depth > MaxNestingDepth {
				return s, b.tooDeep(n)
			}
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			s.depth++
		}
	}
	if b.memo == nil {
		b.memo = map[*yaml.Node]shape{}
	}
	b.memo[n] = s
	return s, nil
}

func (b *boundsChecker) tooDeep(n *yaml.Node) error {
	return fmt.Errorf("%s:%d: nested more than %d levels deep (the nesting bound; Envoy's protobuf parser refuses deeper configuration)", b.file, n.Line, MaxNestingDepth)
}

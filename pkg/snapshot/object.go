// Package snapshot holds the set of Kubernetes and Istio objects one check run
// looks at, whether read from manifest files (with file:line positions) or from
// a live cluster, and classifies them into workloads, filters and ConfigMaps.
package snapshot

import (
	"encoding/json"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
)

// Object is one Kubernetes object as read, before or besides typed decoding.
type Object struct {
	APIVersion  string
	Kind        string
	Namespace   string
	Name        string
	Labels      map[string]string
	Annotations map[string]string
	// Data is the whole object as JSON-compatible values.
	Data map[string]any
	// File and Line locate the object's first line when it came from a file.
	File string
	Line int
	// node is the parsed YAML document, kept to locate fields by path.
	node *yaml.Node
}

// Ref identifies the object in findings.
func (o *Object) Ref() finding.Ref {
	return finding.Ref{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, File: o.File, Line: o.Line}
}

// RefAt identifies the object at the line of the field at path (see LineOf).
func (o *Object) RefAt(path ...any) finding.Ref {
	return o.Ref().At(o.LineOf(path...))
}

// LineOf returns the line of the field at path, a list of map keys (string)
// and list indexes (int). When the full path is absent it returns the line of
// the deepest part that exists, and 0 when the object was not read from a file.
func (o *Object) LineOf(path ...any) int {
	if o.node == nil {
		return 0
	}
	n := o.node
	line := n.Line
	for _, p := range path {
		next, keyLine := child(n, p)
		if next == nil {
			break
		}
		n = next
		line = keyLine
	}
	return line
}

// child steps into a mapping by key or a sequence by index, returning the
// node and the line that best names it (the key's line for mapping values).
func child(n *yaml.Node, p any) (*yaml.Node, int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch key := p.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil, 0
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case int:
		if n.Kind != yaml.SequenceNode || key < 0 || key >= len(n.Content) {
			return nil, 0
		}
		return n.Content[key], n.Content[key].Line
	}
	return nil, 0
}

// Decode converts the object into a typed value by way of JSON, the same path
// the API server takes, so field names and defaults behave as in kubectl.
func (o *Object) Decode(into any) error {
	b, err := json.Marshal(o.Data)
	if err != nil {
		return fmt.Errorf("%s: %w", o.describe(), err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("%s: %w", o.describe(), err)
	}
	return nil
}

func (o *Object) describe() string {
	loc := o.Ref().Location()
	if loc != "" {
		loc += ": "
	}
	return loc + o.Ref().String()
}

// NewObject builds an Object from JSON-compatible data (as a live cluster
// returns it). File positions stay empty.
func NewObject(data map[string]any) (*Object, error) {
	o := &Object{Data: data}
	if err := o.fillMeta(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *Object) fillMeta() error {
	o.APIVersion, _ = o.Data["apiVersion"].(string)
	o.Kind, _ = o.Data["kind"].(string)
	meta, _ := o.Data["metadata"].(map[string]any)
	if o.Kind == "" {
		return fmt.Errorf("object has no kind")
	}
	if meta != nil {
		o.Name, _ = meta["name"].(string)
		o.Namespace, _ = meta["namespace"].(string)
		o.Labels = stringMap(meta["labels"])
		o.Annotations = stringMap(meta["annotations"])
	}
	return nil
}

// stringMap converts a decoded map of labels or annotations. YAML that
// writes `sidecar.istio.io/inject: false` yields a bool; Kubernetes rejects
// that, but here we keep its text so checks can still report on it.
func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch x := val.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

// LiteralBlockStart returns the file line of the first content line of the
// literal block scalar (`key: |`) at path, whose lines map one to one onto
// file lines. ok is false for any other value (plain, quoted or folded
// scalars, JSON strings), whose inner lines cannot be located.
func (o *Object) LiteralBlockStart(path ...any) (line int, ok bool) {
	if o.node == nil {
		return 0, false
	}
	n := o.node
	for _, p := range path {
		next, _ := child(n, p)
		if next == nil {
			return 0, false
		}
		n = next
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || n.Style&yaml.LiteralStyle == 0 {
		return 0, false
	}
	return n.Line + 1, true
}

package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// typeError says a json.UnmarshalTypeError in the user's terms, at the
// line of the field: "spec is a string, but must be a mapping" instead of
// "cannot unmarshal string into Go struct field EnvoyFilter.spec of type
// map[string]json.RawMessage". Other errors are returned as they are.
func (o *Object) typeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return err
	}
	var path []any
	for _, p := range strings.Split(te.Field, ".") {
		path = append(path, p)
	}
	ref := o.Ref().At(o.LineOf(path...))
	loc := ref.Location()
	if loc != "" {
		loc += ": "
	}
	return fmt.Errorf("%s%s: %s is %s, but must be %s", loc, o.Ref().String(), te.Field, jsonKind(te.Value), goKind(te.Type))
}

func jsonKind(v string) string {
	switch v {
	case "string":
		return "a string"
	case "number", "number " + v:
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "a mapping"
	}
	if strings.HasPrefix(v, "number") {
		return "a number"
	}
	return v
}

func goKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return goKind(t.Elem())
	}
	return "another type"
}

// complexKey finds a mapping key that is itself a mapping or a list (YAML
// allows "? {a: 1}: x"; Kubernetes objects do not), for the error that
// would otherwise read "invalid map key: map[string]interface {}...".
func complexKey(n *yaml.Node, depth int) *yaml.Node {
	if n == nil || depth > MaxNestingDepth {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.MappingNode || k.Kind == yaml.SequenceNode {
				return k
			}
		}
	}
	for _, c := range n.Content {
		if k := complexKey(c, depth+1); k != nil {
			return k
		}
	}
	return nil
}

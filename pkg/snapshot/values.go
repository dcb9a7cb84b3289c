package snapshot

import (
	"maps"
	"slices"
)

// Nested reads a value of decoded manifest data (maps of any, as an
// object's Data or an EnvoyFilter patch value) by map keys; nil when a key
// is missing or a value on the way is not a map.
func Nested(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Walk visits v and every value under it, map keys in sorted order, each
// with its path from at (map keys as strings, list indexes as ints: the
// path form Object.LineOf takes).
func Walk(v any, at []any, visit func(v any, at []any)) {
	visit(v, at)
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			Walk(x[k], append(append([]any(nil), at...), k), visit)
		}
	case []any:
		for i, e := range x {
			Walk(e, append(append([]any(nil), at...), i), visit)
		}
	}
}

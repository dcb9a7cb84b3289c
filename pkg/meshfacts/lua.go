package meshfacts

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// LuaScript is one inline Lua script found in an EnvoyFilter patch or a
// TrafficExtension's lua.inlineCode.
type LuaScript struct {
	// Filter is the EnvoyFilter or TrafficExtension that holds the script.
	Filter *snapshot.Object
	// Name says where in the filter the script sits, for messages:
	// "configPatches[0] inline_code", "configPatches[1] source_codes[hello.lua]".
	Name   string
	Source string
	// Path locates the script's key inside the EnvoyFilter object.
	Path []any
	// PerRoute marks a LuaPerRoute source_code (delivered with the route).
	PerRoute bool
}

// FileLine maps a line inside the script to a line of the manifest file, or
// 0 when the filter was not read from a file. Lines of a literal block
// scalar (`inline_code: |`) map one to one; any other form (a quoted or
// folded string, JSON) is reported at its key's line, the closest exact spot.
func (s LuaScript) FileLine(scriptLine int) int {
	key := s.Filter.LineOf(s.Path...)
	if key == 0 || s.Filter.File == "" {
		return 0
	}
	if start, ok := s.Filter.LiteralBlockStart(s.Path...); ok {
		return start + scriptLine - 1
	}
	return key
}

// Ref points at a line of the script in the manifest.
func (s LuaScript) Ref(scriptLine int) finding.Ref {
	return s.Filter.Ref().At(s.FileLine(scriptLine))
}

// Lua filter config types, in the direct @type form and as the type_url of
// a udpa.type.v1.TypedStruct / xds.type.v3.TypedStruct.
const (
	luaTypeSuffix         = ".filters.http.lua.v3.Lua"
	luaV2TypeSuffix       = ".filter.http.lua.v2.Lua"
	luaPerRouteTypeSuffix = ".filters.http.lua.v3.LuaPerRoute"
)

// LuaScriptsIn finds every inline Lua script in an EnvoyFilter: inline_code,
// default_source_code.inline_string, each source_codes entry and per-route
// LuaPerRoute source_code, in snake_case and camelCase, directly typed or
// wrapped in a TypedStruct. Scripts loaded from files are not in the input
// and are skipped.
func LuaScriptsIn(ef *snapshot.EnvoyFilter) []LuaScript {
	var out []LuaScript
	for i, value := range ef.PatchValues() {
		base := []any{"spec", "configPatches", i, "patch", "value"}
		prefix := fmt.Sprintf("configPatches[%d]", i)
		snapshot.Walk(value, base, func(v any, at []any) {
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			typ, _ := m["@type"].(string)
			cfg, cfgAt := m, at
			if IsTypedStruct(typ) {
				typ, _ = firstString(m, "type_url", "typeUrl")
				cfg, _ = m["value"].(map[string]any)
				cfgAt = appendPath(at, "value")
			}
			if cfg == nil {
				return
			}
			switch {
			case strings.HasSuffix(typ, luaTypeSuffix) || strings.HasSuffix(typ, luaV2TypeSuffix):
				out = append(out, luaConfigScripts(ef, prefix, cfg, cfgAt)...)
			case strings.HasSuffix(typ, luaPerRouteTypeSuffix):
				for _, key := range []string{"source_code", "sourceCode"} {
					if s, ok := inlineSource(cfg[key], appendPath(cfgAt, key)); ok {
						s.Filter, s.Name, s.PerRoute = ef.Object, prefix+" per-route "+key, true
						out = append(out, s)
					}
				}
			case typ == "" && isLuaFilterName(m["name"]):
				// Istio's pre-typed_config form: name: envoy.lua, config: {inlineCode: ...}.
				if c, ok := m["config"].(map[string]any); ok {
					out = append(out, luaConfigScripts(ef, prefix, c, appendPath(at, "config"))...)
				}
			}
		})
	}
	return out
}

func isLuaFilterName(v any) bool {
	n, _ := v.(string)
	return n == "envoy.lua" || n == "envoy.filters.http.lua"
}

func luaConfigScripts(ef *snapshot.EnvoyFilter, prefix string, cfg map[string]any, at []any) []LuaScript {
	var out []LuaScript
	for _, key := range []string{"inline_code", "inlineCode"} {
		if code, ok := cfg[key].(string); ok {
			out = append(out, LuaScript{Filter: ef.Object, Name: prefix + " " + key, Source: code, Path: appendPath(at, key)})
		}
	}
	for _, key := range []string{"default_source_code", "defaultSourceCode"} {
		if s, ok := inlineSource(cfg[key], appendPath(at, key)); ok {
			s.Filter, s.Name = ef.Object, prefix+" "+key
			out = append(out, s)
		}
	}
	for _, key := range []string{"source_codes", "sourceCodes"} {
		codes, _ := cfg[key].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(codes)) {
			if s, ok := inlineSource(codes[name], appendPath(at, key, name)); ok {
				s.Filter, s.Name = ef.Object, fmt.Sprintf("%s %s[%s]", prefix, key, name)
				out = append(out, s)
			}
		}
	}
	return out
}

// inlineSource reads a DataSource's inline_string.
func inlineSource(v any, at []any) (LuaScript, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return LuaScript{}, false
	}
	for _, key := range []string{"inline_string", "inlineString"} {
		if code, ok := m[key].(string); ok {
			return LuaScript{Source: code, Path: appendPath(at, key)}, true
		}
	}
	return LuaScript{}, false
}

func firstString(m map[string]any, keys ...string) (string, bool) {
	for _, k := range keys {
		if s, ok := m[k].(string); ok {
			return s, true
		}
	}
	return "", false
}

func appendPath(at []any, more ...any) []any {
	return append(append([]any(nil), at...), more...)
}

// LuaScriptsInExtension is the inline code of a Lua TrafficExtension
// (spec.lua.inlineCode), which istiod puts into Envoy's Lua filter as
// default_source_code.inline_string (istio/istio
// pilot/pkg/networking/core/extension/lua.go).
func LuaScriptsInExtension(te *snapshot.TrafficExtension) []LuaScript {
	code, ok := te.Lua()
	if !ok || code == "" {
		return nil
	}
	return []LuaScript{{Filter: te.Object, Name: "lua.inlineCode", Source: code, Path: []any{"spec", "lua", "inlineCode"}}}
}

// IsTypedStruct reports the two TypedStruct types (cncf/xds
// udpa/type/v1/typed_struct.proto and xds/type/v3/typed_struct.proto), which
// wrap a filter's config as type_url plus value: what a typed_config says
// its type is then sits one level further in.
func IsTypedStruct(t string) bool {
	return t == "type.googleapis.com/udpa.type.v1.TypedStruct" || t == "type.googleapis.com/xds.type.v3.TypedStruct"
}

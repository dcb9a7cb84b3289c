package fixtureserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// repeatedFields lists, per dump type, the repeated fields ?resource= may
// name and the message type of their elements (envoy.admin.v3).
var repeatedFields = map[string]map[string]string{
	"ListenersConfigDump": {
		"static_listeners":  "ListenersConfigDump.StaticListener",
		"dynamic_listeners": "ListenersConfigDump.DynamicListener",
	},
	"ClustersConfigDump": {
		"static_clusters":          "ClustersConfigDump.StaticCluster",
		"dynamic_active_clusters":  "ClustersConfigDump.DynamicCluster",
		"dynamic_warming_clusters": "ClustersConfigDump.DynamicCluster",
	},
	"RoutesConfigDump": {
		"static_route_configs":  "RoutesConfigDump.StaticRouteConfig",
		"dynamic_route_configs": "RoutesConfigDump.DynamicRouteConfig",
	},
	"ScopedRoutesConfigDump": {
		"inline_scoped_route_configs":  "ScopedRoutesConfigDump.InlineScopedRouteConfigs",
		"dynamic_scoped_route_configs": "ScopedRoutesConfigDump.DynamicScopedRouteConfigs",
	},
	"SecretsConfigDump": {
		"static_secrets":          "SecretsConfigDump.StaticSecret",
		"dynamic_active_secrets":  "SecretsConfigDump.DynamicSecret",
		"dynamic_warming_secrets": "SecretsConfigDump.DynamicSecret",
	},
	"EcdsConfigDump": {
		"ecds_filters": "EcdsConfigDump.EcdsFilterConfig",
	},
	"EndpointsConfigDump": {
		"static_endpoint_configs":  "EndpointsConfigDump.StaticEndpointConfig",
		"dynamic_endpoint_configs": "EndpointsConfigDump.DynamicEndpointConfig",
	},
}

const typePrefix = "type.googleapis.com/envoy.admin.v3."

// elementName is the name ?name_regex= matches for one repeated-field
// element: the resource's own name inside its wrapper.
func elementName(elem map[string]any) string {
	for _, path := range [][]string{
		{"name"},
		{"active_state", "listener", "name"},
		{"warming_state", "listener", "name"},
		{"listener", "name"},
		{"cluster", "name"},
		{"route_config", "name"},
		{"ecds_filter", "name"},
		{"endpoint_config", "cluster_name"},
	} {
		var cur any = elem
		for _, k := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[k]
		}
		if s, ok := cur.(string); ok {
			return s
		}
	}
	return ""
}

type dumpEntry struct {
	typeName string // e.g. "ListenersConfigDump"
	fields   map[string]any
}

func (s *Server) serveConfigDump(w http.ResponseWriter, rawQuery string) {
	_, params := queryParams(rawQuery)
	// Unlike /logging, /config_dump parameters are URL-decoded.
	for k, v := range params {
		if dv, err := decode(v); err == nil {
			params[k] = dv
		}
	}
	resource, mask, nameRegex := params["resource"], params["mask"], params["name_regex"]
	_, includeEDS := params["include_eds"]

	var re *regexp.Regexp
	if nameRegex != "" {
		var err error
		if re, err = regexp.Compile("^(?:" + nameRegex + ")$"); err != nil {
			writeText(w, http.StatusBadRequest, fmt.Sprintf("Error while parsing name_regex from %s: %v", nameRegex, err))
			return
		}
	}

	var dumps []dumpEntry
	for _, raw := range s.configs {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			writeText(w, http.StatusInternalServerError, "bad fixture: "+err.Error())
			return
		}
		t, _ := m["@type"].(string)
		t = strings.TrimPrefix(t, typePrefix)
		if t == "EndpointsConfigDump" && !includeEDS {
			continue
		}
		dumps = append(dumps, dumpEntry{typeName: t, fields: m})
	}

	var out []any
	if resource != "" {
		known := false
		for _, d := range dumps {
			elemType, ok := repeatedFields[d.typeName][resource]
			if !ok {
				if _, present := d.fields[resource]; present {
					writeText(w, http.StatusBadRequest, fmt.Sprintf("%s is not a repeated field. Use ?mask=%s to get only this field", resource, resource))
					return
				}
				continue
			}
			known = true
			elems, _ := d.fields[resource].([]any)
			for _, e := range elems {
				em, ok := e.(map[string]any)
				if !ok {
					continue
				}
				if re != nil && !re.MatchString(elementName(em)) {
					continue
				}
				packed := map[string]any{"@type": typePrefix + elemType}
				for k, v := range em {
					packed[k] = v
				}
				if mask != "" {
					trimmed, ok := applyMask(packed, mask, true)
					if !ok {
						writeText(w, http.StatusBadRequest, fmt.Sprintf("FieldMask %s could not be successfully used.", mask))
						return
					}
					packed = trimmed
				}
				out = append(out, packed)
			}
		}
		if !known {
			writeText(w, http.StatusNotFound, fmt.Sprintf("%s not found in config dump", resource))
			return
		}
	} else {
		for _, d := range dumps {
			m := d.fields
			if re != nil {
				m = filterByName(d, re)
			}
			if mask != "" {
				trimmed, ok := applyMask(m, mask, false)
				if !ok {
					continue
				}
				m = trimmed
			}
			out = append(out, m)
		}
		if mask != "" && len(out) == 0 {
			writeText(w, http.StatusBadRequest, fmt.Sprintf("FieldMask %s could not be successfully applied to any configs.", mask))
			return
		}
	}
	if out == nil {
		out = []any{}
	}
	body, err := json.MarshalIndent(map[string]any{"configs": out}, "", " ")
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, append(body, '\n'))
}

func filterByName(d dumpEntry, re *regexp.Regexp) map[string]any {
	out := make(map[string]any, len(d.fields))
	for k, v := range d.fields {
		if _, repeated := repeatedFields[d.typeName][k]; repeated {
			var kept []any
			for _, e := range v.([]any) {
				if em, ok := e.(map[string]any); ok && re.MatchString(elementName(em)) {
					kept = append(kept, e)
				}
			}
			if len(kept) == 0 {
				continue
			}
			v = kept
		}
		out[k] = v
	}
	return out
}

// applyMask keeps "@type" and the masked paths of m. A mask is valid for m
// when every path exists in it (the fixtures have no schema; a real Envoy
// checks the proto). In element mode a path may look into at most one Any
// (a map with "@type") right below the element, as Envoy's mask does.
func applyMask(m map[string]any, mask string, element bool) (map[string]any, bool) {
	out := map[string]any{"@type": m["@type"]}
	for _, path := range strings.Split(mask, ",") {
		segs := strings.Split(strings.TrimSpace(path), ".")
		var cur any = m
		dst := out
		for i, seg := range segs {
			cm, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if i >= 2 && element {
				if _, isAny := cm["@type"]; isAny {
					return nil, false
				}
			}
			v, present := cm[seg]
			if !present {
				return nil, false
			}
			if i == len(segs)-1 {
				dst[seg] = v
				break
			}
			next, ok := dst[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				if vm, isMap := v.(map[string]any); isMap {
					if t, isAny := vm["@type"]; isAny {
						next["@type"] = t
					}
				}
				dst[seg] = next
			}
			dst, cur = next, v
		}
	}
	return out, true
}

func decode(s string) (string, error) {
	return url.QueryUnescape(s)
}

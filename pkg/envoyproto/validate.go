// Package envoyproto checks the Envoy configuration an EnvoyFilter patch
// carries against Envoy's real xDS protos (go-control-plane): the @type must
// resolve, field names must exist, and complete values must pass the protos'
// validation rules, as Envoy would apply them.
package envoyproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/filterdoctor/filterdoctor/pkg/suggest"
)

const typePrefix = "type.googleapis.com/"

// Message returns an empty proto of the type istiod converts a patch value
// of applyTo into, or nil when applyTo carries no value we can check.
func Message(applyTo string) proto.Message {
	switch applyTo {
	case "HTTP_FILTER":
		return &hcmv3.HttpFilter{}
	case "NETWORK_FILTER":
		return &listenerv3.Filter{}
	case "LISTENER_FILTER":
		return &listenerv3.ListenerFilter{}
	case "LISTENER":
		return &listenerv3.Listener{}
	case "FILTER_CHAIN":
		return &listenerv3.FilterChain{}
	case "CLUSTER":
		return &clusterv3.Cluster{}
	case "ROUTE_CONFIGURATION":
		return &routev3.RouteConfiguration{}
	case "VIRTUAL_HOST":
		return &routev3.VirtualHost{}
	case "HTTP_ROUTE":
		return &routev3.Route{}
	case "EXTENSION_CONFIG":
		return &corev3.TypedExtensionConfig{}
	case "BOOTSTRAP":
		return &bootstrapv3.Bootstrap{}
	}
	return nil
}

// filterKinds are the applyTo values whose value names an extension that
// Envoy finds by its typed_config type.
var filterKinds = map[string]bool{"HTTP_FILTER": true, "NETWORK_FILTER": true, "LISTENER_FILTER": true, "EXTENSION_CONFIG": true}

// IsIstioProxyType reports types built into istio-proxy rather than
// upstream Envoy (istio.stats, metadata exchange, ...): go-control-plane
// does not know them, so their content is not judged.
func IsIstioProxyType(t string) bool {
	name := strings.TrimPrefix(t, typePrefix)
	return strings.HasPrefix(name, "istio.") || strings.HasPrefix(name, "io.istio.") || strings.HasPrefix(name, "stats.")
}

// Check validates a patch value (as JSON) for applyTo. complete says the
// value must stand alone (ADD, INSERT_*, REPLACE): then typed_config is
// required and the proto's validation rules apply. A MERGE value is partial,
// so only names and types are checked.
func Check(applyTo string, value []byte, complete bool) error {
	msg := Message(applyTo)
	if msg == nil {
		return nil
	}
	var tree map[string]any
	if err := json.Unmarshal(value, &tree); err != nil {
		return fmt.Errorf("value is not a JSON object: %w", err)
	}
	if filterKinds[applyTo] {
		tc, has := typedConfig(tree)
		if !has {
			if complete && !hasConfigDiscovery(tree) {
				return fmt.Errorf("%s value has no typed_config (nor config_discovery); Envoy needs its @type to find the filter implementation (\"Didn't find a registered implementation\")", applyTo)
			}
		} else if err := checkTypedConfig(tc, complete, applyTo == "EXTENSION_CONFIG"); err != nil {
			return err
		}
	}
	neutralizeIstioTypes(tree)
	b, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	if err := unmarshal(b, msg); err != nil {
		return fmt.Errorf("does not fit %s: %s", msg.ProtoReflect().Descriptor().FullName(), cleanProtoError(err))
	}
	if complete {
		if err := validate(msg); err != nil {
			return err
		}
	}
	return nil
}

func typedConfig(tree map[string]any) (map[string]any, bool) {
	for _, k := range []string{"typed_config", "typedConfig"} {
		if tc, ok := tree[k].(map[string]any); ok {
			return tc, true
		}
	}
	return nil, false
}

// checkTypedConfig resolves @type (looking through TypedStruct) and decodes
// the content into it, so the error names the filter's own fields. ecds
// says the value is an EXTENSION_CONFIG, which istio-agent rewrites before
// Envoy sees it (localizeRemoteWasm).
func checkTypedConfig(tc map[string]any, complete, ecds bool) error {
	t, _ := tc["@type"].(string)
	if t == "" {
		return errors.New("typed_config has no @type")
	}
	content := map[string]any{}
	for k, v := range tc {
		if k != "@type" {
			content[k] = v
		}
	}
	if t == typePrefix+"udpa.type.v1.TypedStruct" || t == typePrefix+"xds.type.v3.TypedStruct" {
		inner, _ := tc["type_url"].(string)
		if inner == "" {
			inner, _ = tc["typeUrl"].(string)
		}
		if inner == "" {
			return errors.New("TypedStruct has no type_url")
		}
		v, _ := tc["value"].(map[string]any)
		if v == nil {
			v = map[string]any{}
		}
		t, content = inner, v
	}
	if IsIstioProxyType(t) {
		return nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(t)
	if err != nil && knownTypes[strings.TrimPrefix(t, typePrefix)] {
		return nil // a real Envoy type whose proto is not linked: exists, not judged
	}
	if err != nil {
		hint := ""
		if strings.Contains(t, ".v2.") || strings.Contains(t, ".v2alpha") {
			hint = "; v2 types were removed from Envoy, use the v3 type"
		}
		if near := nearestType(t); near != "" {
			hint += fmt.Sprintf("; did you mean %s%s?", typePrefix, near)
		}
		return fmt.Errorf("typed_config @type %q is not a type Envoy knows%s", t, hint)
	}
	if ecds && wasmTypes[t] {
		localizeRemoteWasm(content)
	}
	neutralizeIstioTypes(content)
	b, err := json.Marshal(content)
	if err != nil {
		return err
	}
	m := mt.New().Interface()
	if err := unmarshal(b, m); err != nil {
		return fmt.Errorf("typed_config does not fit %s: %s", mt.Descriptor().FullName(), cleanProtoError(err))
	}
	if complete {
		return validate(m)
	}
	return nil
}

// neutralizeIstioTypes replaces nested Any values that cannot be judged
// (istio-proxy types, and Envoy types whose protos are not linked) with an
// empty TypedStruct, so protojson can decode the rest of the tree.
func neutralizeIstioTypes(v any) {
	switch x := v.(type) {
	case map[string]any:
		if t, ok := x["@type"].(string); ok && unjudged(t) {
			for k := range x {
				delete(x, k)
			}
			x["@type"] = typePrefix + "udpa.type.v1.TypedStruct"
			return
		}
		for _, e := range x {
			neutralizeIstioTypes(e)
		}
	case []any:
		for _, e := range x {
			neutralizeIstioTypes(e)
		}
	}
}

// unjudged reports types that exist but whose content is not checked.
func unjudged(t string) bool {
	if IsIstioProxyType(t) {
		return true
	}
	if _, err := protoregistry.GlobalTypes.FindMessageByURL(t); err == nil {
		return false
	}
	return knownTypes[strings.TrimPrefix(t, typePrefix)]
}

// validate runs protoc-gen-validate rules, which Envoy enforces on load.
func validate(m proto.Message) error {
	type allValidator interface{ ValidateAll() error }
	type validator interface{ Validate() error }
	var err error
	switch v := m.(type) {
	case allValidator:
		err = v.ValidateAll()
	case validator:
		err = v.Validate()
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s fails Envoy's validation: %s", m.ProtoReflect().Descriptor().FullName(), firstLine(err.Error()))
}

func cleanProtoError(err error) string {
	// The protobuf module spells its errors' separators as a space or a
	// no-break space, chosen per binary (google.golang.org/protobuf
	// internal/detrand: "unstable across different builds"), so the text
	// is made plain before it is trimmed.
	s := strings.ReplaceAll(err.Error(), "\u00a0", " ")
	s = strings.TrimPrefix(s, "proto: ")
	// protojson prefixes "(line 1:23): "; the position is in our re-encoded
	// JSON, not the user's file, so it would mislead.
	if strings.HasPrefix(s, "(line ") {
		if i := strings.Index(s, "): "); i >= 0 {
			s = s[i+3:]
		}
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// nearestType suggests a registered type whose name is close to t: the
// same message name in another version, or a near spelling.
func nearestType(t string) string {
	name := strings.TrimPrefix(t, typePrefix)
	short := name[strings.LastIndex(name, ".")+1:]
	var candidates []string
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		full := string(mt.Descriptor().FullName())
		if !strings.HasPrefix(full, "envoy.") {
			return true
		}
		if string(mt.Descriptor().Name()) == short || suggest.Distance(full, name) <= 3 {
			candidates = append(candidates, full)
		}
		return true
	})
	for full := range knownTypes {
		if full[strings.LastIndex(full, ".")+1:] == short || suggest.Distance(full, name) <= 3 {
			candidates = append(candidates, full)
		}
	}
	if len(candidates) == 0 {
		return ""
	}
	sort.Slice(candidates, func(i, j int) bool {
		di, dj := suggest.Distance(candidates[i], name), suggest.Distance(candidates[j], name)
		if di != dj {
			return di < dj
		}
		return candidates[i] < candidates[j]
	})
	return candidates[0]
}

package envoyproto

import (
	"bytes"

	"github.com/golang/protobuf/jsonpb" //nolint:staticcheck // the decoder istiod uses, see unmarshal
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// unmarshal decodes a patch value as istiod does. istiod reads patch values
// with golang/protobuf's jsonpb (istio/istio pkg/util/protomarshal), which
// is laxer than protojson in places real Istio files rely on: a Duration
// may be any Go duration ("500ms", github.com/golang/protobuf
// jsonpb/decode.go at v1.5.4 uses time.ParseDuration), where protojson
// wants seconds ("0.5s"). protojson runs first, for its clearer errors;
// what only jsonpb accepts is accepted, and protojson's error is kept for
// what neither does.
func unmarshal(b []byte, m proto.Message) error {
	err := protojson.Unmarshal(b, m)
	if err == nil {
		return nil
	}
	proto.Reset(m)
	if jsonpb.Unmarshal(bytes.NewReader(b), protoadapt.MessageV1Of(m)) == nil {
		return nil
	}
	return err
}

// hasConfigDiscovery: a filter may name its configuration by
// config_discovery instead of carrying a typed_config; Envoy then fetches
// it over ECDS (the form Istio generates for WasmPlugins).
func hasConfigDiscovery(tree map[string]any) bool {
	for _, k := range []string{"config_discovery", "configDiscovery"} {
		if _, ok := tree[k].(map[string]any); ok {
			return true
		}
	}
	return false
}

// wasmTypes are the Wasm filter configurations whose vm_config.code
// istio-agent rewrites.
var wasmTypes = map[string]bool{
	typePrefix + "envoy.extensions.filters.http.wasm.v3.Wasm":    true,
	typePrefix + "envoy.extensions.filters.network.wasm.v3.Wasm": true,
}

// localizeRemoteWasm rewrites what istio-agent rewrites before Envoy sees
// an ECDS resource: a Wasm module fetched from code.remote is downloaded by
// the agent and handed to Envoy as code.local.filename (istio/istio
// pkg/wasm/convert.go), so Envoy never validates the remote source's
// http_uri timeout or sha256. content is a Wasm typed_config's fields.
func localizeRemoteWasm(content map[string]any) {
	cfg, _ := content["config"].(map[string]any)
	if cfg == nil {
		return
	}
	for _, vk := range []string{"vm_config", "vmConfig"} {
		vm, _ := cfg[vk].(map[string]any)
		if vm == nil {
			continue
		}
		code, _ := vm["code"].(map[string]any)
		if code == nil {
			continue
		}
		if _, remote := code["remote"]; remote {
			delete(code, "remote")
			code["local"] = map[string]any{"filename": "/var/lib/istio/data/module.wasm"}
		}
	}
}

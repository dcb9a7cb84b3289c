package fixtureserver

import (
	"fmt"
	"strings"
)

// InboundEnvoyFilter is the manifest of an EnvoyFilter named name that
// puts one HTTP filter, before the router, into the inbound HTTP chain of
// port of the pods labelled app=app: what tests apply to a cluster whose
// proxies answer from these captures (the sidecar capture's inbound chain
// of port 80 is virtualInbound/0.0.0.0_80). value is the YAML of the
// filter's name and typed_config, indented by two spaces.
func InboundEnvoyFilter(name, app string, port int, value string) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: %s}
spec:
  workloadSelector: {labels: {app: %s}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        portNumber: %d
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
%s`, name, app, port, indent(value, "        "))
}

// LuaValue is the value of a Lua HTTP filter named envoy.filters.http.lua
// with script as its default source code.
func LuaValue(script string) string {
	return `name: envoy.filters.http.lua
typed_config:
  "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
  default_source_code:
    inline_string: |
` + indent(script, "      ")
}

// WasmValue is the value of a V8 Wasm HTTP filter named name that loads
// filename from the proxy's file system.
func WasmValue(name, filename string) string {
	return fmt.Sprintf(`name: %s
typed_config:
  "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
  config:
    root_id: %s
    vm_config:
      runtime: envoy.wasm.runtime.v8
      code: {local: {filename: %s}}
`, name, name, filename)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

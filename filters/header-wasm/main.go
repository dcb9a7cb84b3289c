//go:build wasip1

// Command header-wasm is filterdoctor's reference Wasm filter: it adds a
// configurable header to every request and response and logs at info.
//
// Plugin configuration (EnvoyFilter configuration.value, or WasmPlugin
// pluginConfig) is JSON:
//
//	{"header": "x-filterdoctor", "value": "header-wasm"}
//
// An unparsable configuration, or one with an empty header name, is refused:
// Envoy then reports "Failed to configure base Wasm plugin" and does not
// apply the filter.
package main

import (
	"strings"

	"github.com/filterdoctor/filterdoctor/filters/proxywasm"
)

type config struct{ Header, Value string }

type plugin struct{ cfg config }

func (p *plugin) OnConfigure(raw []byte) bool {
	cfg := config{Header: "x-filterdoctor", Value: "header-wasm"}
	if len(raw) > 0 {
		parsed, err := proxywasm.ParseFlatJSON(raw)
		if err != nil {
			proxywasm.Log(proxywasm.LogError, "header-wasm: bad plugin configuration: "+err.Error())
			return false
		}
		if v, ok := parsed["header"]; ok {
			cfg.Header = strings.ToLower(v)
		}
		if v, ok := parsed["value"]; ok {
			cfg.Value = v
		}
	}
	if cfg.Header == "" {
		proxywasm.Log(proxywasm.LogError, `header-wasm: plugin configuration has an empty "header"`)
		return false
	}
	p.cfg = cfg
	proxywasm.Log(proxywasm.LogInfo, "header-wasm: adding "+cfg.Header+": "+cfg.Value)
	return true
}

func (p *plugin) NewStream(uint32) proxywasm.Stream { return stream{cfg: p.cfg} }

type stream struct{ cfg config }

func (s stream) OnRequestHeaders(bool) proxywasm.Action {
	if err := proxywasm.SetRequestHeader(s.cfg.Header, s.cfg.Value); err != nil {
		proxywasm.Log(proxywasm.LogError, "header-wasm: set request header: "+err.Error())
	}
	path, _ := proxywasm.RequestHeader(":path")
	proxywasm.Log(proxywasm.LogInfo, "header-wasm: request "+path)
	return proxywasm.Continue
}

func (s stream) OnResponseHeaders(bool) proxywasm.Action {
	if err := proxywasm.SetResponseHeader(s.cfg.Header, s.cfg.Value); err != nil {
		proxywasm.Log(proxywasm.LogError, "header-wasm: set response header: "+err.Error())
	}
	return proxywasm.Continue
}

func init() {
	proxywasm.SetPlugin(func(string) proxywasm.Plugin { return &plugin{} })
}

// main is never called in a -buildmode=c-shared module; the Go toolchain
// still requires it in package main.
func main() {}

package checks

import (
	"slices"

	"github.com/filterdoctor/filterdoctor/pkg/finding"
	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// istioProxyWasmRuntimes are the Wasm runtimes istio-proxy has: it is built
// with --define wasm=v8 (istio/proxy .bazelrc), which links V8 only; the
// null runtime (modules compiled into Envoy) is always there. The wamr,
// wasmtime and wavm runtime extensions are listed in istio/proxy
// bazel/extension_config/extensions_build_config.bzl, but without their
// engines: Envoy finds no factory and fails ("Envoy was compiled without
// support for it", envoyproxy/envoy source/extensions/common/wasm/wasm_vm.cc).
var istioProxyWasmRuntimes = []string{"envoy.wasm.runtime.v8", "envoy.wasm.runtime.null"}

// envoyFilterWasmRuntime reports vm_config.runtime values istio-proxy does
// not have, wherever a vm_config appears in an EnvoyFilter patch (the
// direct typed_config, a TypedStruct, an EXTENSION_CONFIG patch).
type envoyFilterWasmRuntime struct{}

func (envoyFilterWasmRuntime) Name() string { return "envoyfilter-wasm-runtime" }

func (envoyFilterWasmRuntime) Codes() []*finding.Code {
	return []*finding.Code{finding.EnvoyFilterWasmRuntime}
}

func (envoyFilterWasmRuntime) Run(c *Context) []finding.Finding {
	var fs []finding.Finding
	for _, ef := range c.EnvoyFilters() {
		for i, value := range ef.PatchValues() {
			snapshot.Walk(value, patchPath(i, "patch", "value"), func(v any, at []any) {
				m, ok := v.(map[string]any)
				if !ok {
					return
				}
				for _, vmKey := range []string{"vm_config", "vmConfig"} {
					rt, ok := snapshot.Nested(m, vmKey, "runtime").(string)
					if !ok || slices.Contains(istioProxyWasmRuntimes, rt) {
						continue
					}
					path := append(append([]any(nil), at...), vmKey, "runtime")
					fs = append(fs, finding.EnvoyFilterWasmRuntime.About(ef.RefAt(path...)).Saysf("EnvoyFilter %s/%s configPatches[%d] asks for Wasm runtime %q, but istio-proxy is built with V8 only (it has %s): Envoy cannot create the VM and rejects the filter.",
						ef.Namespace, ef.Name, i, rt, describeList(istioProxyWasmRuntimes)).WithFix("Set runtime: envoy.wasm.runtime.v8."))
				}
			})
		}
	}
	return fs
}

func describeList(xs []string) string {
	out := ""
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			out += " and "
		default:
			out += ", "
		}
		out += x
	}
	return out
}

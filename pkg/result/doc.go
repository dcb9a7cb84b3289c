// Package result holds what each command found, as typed values; it decides
// nothing and renders nothing.
//
// The domain packages produce these values (pkg/checks a Check, pkg/wasminspect
// a WasmInspect, pkg/wasmhost a WasmRun, pkg/lua a LuaRun, pkg/fleet a
// Loglevel) and pkg/render presents them as text, JSON, YAML or SARIF. Their
// JSON form is each command's `-o json` output, a stable contract: fields are
// only ever added. The package depends on pkg/finding alone, so that both
// executables can link it.
package result

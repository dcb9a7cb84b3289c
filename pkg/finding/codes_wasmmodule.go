package finding

// FD4xxx: Wasm modules, as Envoy (proxy-wasm-cpp-host) loads them. Shared by
// `wasm inspect` and by `check` for every module payload it meets.
var (
	WasmNotModule = register(Code{
		ID: "FD4001", Severity: Error,
		Title:   "Payload is not a binary wasm module",
		Explain: "Envoy loads only binary WebAssembly core modules, which start with the bytes 00 61 73 6d (\"\\0asm\") and version 1. WebAssembly text (.wat), base64 or hex text of a module, compressed files, components (component model) and native executables are not modules: the Istio agent rejects a fetched one (\"fetched Wasm binary from ... is invalid\") and Envoy logs \"Failed to parse corrupted Wasm module\", then \"Wasm VM failed Failed to initialize Wasm code\".",
		Fix:     "Supply the compiled .wasm file's bytes: compile text with wat2wasm, decode base64 with base64 -d, and put files into ConfigMaps with kubectl create configmap --from-file (which uses binaryData).",
		Example: "(module (func (export \"proxy_abi_version_0_2_1\")))   # .wat text, not compiled",
	})
	WasmCorrupt = register(Code{
		ID: "FD4002", Severity: Error,
		Title:   "Wasm module is truncated or corrupted",
		Explain: "The bytes start like a wasm module but a section cannot be read: a size runs past the end of the file (a truncated download or copy), a vector does not fit, or sections disagree. Envoy refuses it with \"Failed to parse corrupted Wasm module\" or \"Failed to load Wasm bytecode\".",
		Fix:     "Rebuild or re-download the module and compare its size and checksum with the build output.",
	})
	WasmABIVersion = register(Code{
		ID: "FD4003", Severity: Error,
		Title:   "Wasm module exports no proxy-wasm ABI version Envoy knows",
		Explain: "Before anything else Envoy looks for a function export named proxy_abi_version_0_1_0, proxy_abi_version_0_2_0 or proxy_abi_version_0_2_1 (the first in export order wins). Without one it stops with \"Wasm VM failed Missing or unknown Proxy-Wasm ABI version\". Modules that are not proxy-wasm plugins, Go built before 1.24 (no //go:wasmexport), the Higress-only proxy_abi_version_0_2_100 and the unimplemented vNEXT marker proxy_abi_version_0_x_x all end here.",
		Fix:     "Build with a proxy-wasm SDK (proxy-wasm-go-sdk, proxy-wasm-rust-sdk, proxy-wasm-cpp-sdk), which exports the marker.",
		Example: "(module (func (export \"proxy_on_request_headers\") (param i32 i32 i32) (result i32) i32.const 0))",
	})
	WasmNoAllocator = register(Code{
		ID: "FD4004", Severity: Error,
		Title:   "Wasm module exports neither malloc nor proxy_on_memory_allocate",
		Explain: "The host copies headers, bodies and configuration into the module's memory through an exported allocator: malloc or proxy_on_memory_allocate, of type (i32) -> i32. Without either Envoy fails with \"Wasm module is missing malloc function.\" (older: \"Wasm missing malloc\").",
		Fix:     "Export proxy_on_memory_allocate (every proxy-wasm SDK does); with a hand-written module, export an allocator of type (i32) -> i32.",
	})
	WasmImportUnsupported = register(Code{
		ID: "FD4005", Severity: Error,
		Title:   "Wasm module imports a function this Envoy does not provide",
		Explain: "Envoy links every function import against the host functions it registers for the module's ABI version: env.proxy_* and a WASI subset that grew over releases (clock_time_get and random_get in 1.17, path_open and the preopen calls in 1.21, sched_yield, poll_oneoff and fd_fdstat_set_flags in 1.33, the rest of WASI preview1 in 1.39). The first import it cannot find fails the load with \"Failed to load Wasm module due to a missing import: <module>.<name>\"; since 2022 Envoy names only that first one. Imports from any other module (gojs, wasi_snapshot_preview2, AssemblyScript's env.abort) or with draft names (env.proxy_dispatch_http_call) are provided by no release.",
		Fix:     "Upgrade to the Istio release named in the message, or remove the code that pulls the import in.",
		Example: "(import \"wasi_snapshot_preview1\" \"sched_yield\" (func (result i32)))   ;; Istio < 1.25",
	})
	WasmImportSignature = register(Code{
		ID: "FD4006", Severity: Error,
		Title:   "Wasm module imports a host function with the wrong signature",
		Explain: "A function import must have exactly the host's type. Otherwise Envoy fails with \"Failed to load Wasm module due to an import type mismatch: <module>.<name>, want: ..., but host exports: ...\". Hand-written bindings and SDKs for other hosts (a 2-argument sock_accept from WasmEdge, a ()->() proxy_continue_request from the 0.1.0 spec text) are the usual cause.",
		Fix:     "Declare the import with the host signature given in the message.",
		Example: "(import \"env\" \"proxy_log\" (func (param i32 i32) (result i32)))   ;; host: (i32, i32, i32) -> (i32)",
	})
	WasmGlobalImport = register(Code{
		ID: "FD4007", Severity: Error,
		Title:   "Wasm module imports a global",
		Explain: "Envoy's host provides functions (and creates memory and tables) but never globals, so any global import fails the load with \"Failed to load Wasm module due to a missing import: <module>.<name>\". Emscripten builds with dynamic linking or a stack pointer import (env.__stack_pointer, env.__memory_base) produce them.",
		Fix:     "Build a standalone module that defines its globals (emscripten: -sSTANDALONE_WASM, no -sMAIN_MODULE/-sSIDE_MODULE).",
		Example: "(import \"env\" \"__stack_pointer\" (global (mut i32)))",
	})
	WasmExportSignature = register(Code{
		ID: "FD4008", Severity: Error,
		Title:   "Wasm module exports a callback with the wrong signature for its ABI",
		Explain: "Envoy looks up _initialize, _start, main, malloc, proxy_on_memory_allocate and every proxy_on_* callback by name and checks its type. The types depend on the ABI version: proxy_on_request_headers and proxy_on_response_headers take 2 parameters in 0.1.0 and 3 (with end_of_stream) in 0.2.x. A mismatch fails start-up with \"Bad function signature for: <name>, want: ..., but the module exports: ...\".",
		Fix:     "Give the export the signature in the message, or export the ABI marker that matches the callbacks the module implements.",
		Example: "(func (export \"proxy_abi_version_0_2_1\"))\n(func (export \"proxy_on_request_headers\") (param i32 i32) (result i32) i32.const 0)",
	})
	WasmCommandExits = register(Code{
		ID: "FD4009", Severity: Error,
		Title:   "Wasm command module exits during start-up",
		Explain: "A module that exports _start but not _initialize is a WASI command: Envoy runs _start once at load. Go (GOOS=wasip1 without -buildmode=c-shared) and TinyGo 0.35 and later end _start by calling proc_exit when main returns. Since Envoy 1.24 (Istio 1.16), V8 allows only an allow-list of host calls during start-up, and proc_exit is not on it: the load fails with \"Function: _start failed: Uncaught Error: restricted_callback\" and a backtrace through runtime.exit.",
		Fix:     "Build a reactor: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (Go ≥1.24), or tinygo build -buildmode=c-shared; put plugin set-up in init(), since main is not called.",
		Example: "GOOS=wasip1 GOARCH=wasm go build -o plugin.wasm .   # no -buildmode=c-shared",
	})
	WasmMemoryTooLarge = register(Code{
		ID: "FD4010", Severity: Error,
		Title:   "Wasm module's initial memory exceeds the host limit",
		Explain: "Envoy's V8 runs with --wasm_max_mem_pages=16384: a module may not start with more than 1 GiB (16384 pages of 64 KiB) of linear memory. A larger initial memory fails compilation or instantiation (\"Failed to load Wasm bytecode\" or \"Failed to create new Wasm instance\").",
		Fix:     "Lower the initial memory (linker flag --initial-memory, emscripten -sINITIAL_MEMORY) and let the module grow it when needed.",
		Example: "(memory (export \"memory\") 20000)",
	})
	WasmTooLargeForConfigMap = register(Code{
		ID: "FD4011", Severity: Error,
		Title:   "Wasm module is larger than a ConfigMap can hold",
		Explain: "A module mounted from a ConfigMap must fit in it, and the API server refuses a ConfigMap over 1 MiB (1048576 bytes) of data and binaryData together. Go modules are several MiB; TinyGo and Rust ones often exceed the limit with debug sections.",
		Fix:     "Strip debug information (go build -ldflags=-s -w, wasm-opt --strip-debug, Rust strip = true), or deliver the module with a WasmPlugin from an OCI registry instead of a ConfigMap.",
	})
)

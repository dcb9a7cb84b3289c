package wasminspect

import (
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
)

// Why a build ends up with an import. Sources: the imports of modules built
// with Go 1.26.8 (GOOS=wasip1, measured); reported failures in
// istio/istio#39697 (Rust std), tetratelabs/proxy-wasm-go-sdk#251 and #324
// (TinyGo), wasilibs/nottinygc#8 and #47, higress-group/higress-standalone#151
// and proxy-wasm/proxy-wasm-cpp-host#308; and the imports other producers
// leave (solo-io/proxy-runtime's env.abort, emscripten's
// env.emscripten_notify_memory_growth, GOOS=js's gojs module).
var wasiCauses = map[string]string{
	"sched_yield":             "the Go runtime's scheduler (every GOOS=wasip1 Go module); Rust std Mutex; TinyGo with nottinygc",
	"poll_oneoff":             "the Go runtime's timers and netpoll (every GOOS=wasip1 Go module); Rust std::thread::sleep; TinyGo time.Sleep",
	"fd_fdstat_set_flags":     "Go's syscall package, which sets stdin/stdout/stderr non-blocking at init (fmt, os, encoding/json, time)",
	"fd_fdstat_get":           "Go's syscall init and os.File (fmt, os); wasi-libc stdio",
	"fd_prestat_get":          "Go's syscall init and wasi-libc, which scan the preopened directories at start-up (os, fmt)",
	"fd_prestat_dir_name":     "Go's syscall init and wasi-libc, which scan the preopened directories at start-up (os, fmt)",
	"path_open":               "file access: Go os.Open/os.ReadFile, net/http and text/template (which read files such as /etc/hosts and mime types); TinyGo os",
	"path_filestat_get":       "os.Stat/os.Lstat: Go net/http, text/template and os file access",
	"fd_filestat_get":         "os.File.Stat: Go os file access; TinyGo with google.golang.org/protobuf",
	"fd_read":                 "reading files or stdin: Go net/http and os file access",
	"fd_seek":                 "os.File.Seek and io.Seeker file access",
	"fd_close":                "closing files: Go os file access",
	"fd_filestat_set_size":    "os.File.Truncate: Go text/template and os file writes",
	"fd_filestat_set_times":   "os.Chtimes on an open file",
	"fd_pread":                "os.File.ReadAt (Go text/template, TinyGo WAF engines)",
	"fd_pwrite":               "os.File.WriteAt",
	"fd_readdir":              "os.ReadDir/filepath.Walk (TinyGo 0.28 runtime; crowdsec)",
	"fd_sync":                 "os.File.Sync",
	"fd_datasync":             "fdatasync in C/Rust file code",
	"fd_advise":               "posix_fadvise in C/Rust file code",
	"fd_allocate":             "posix_fallocate in C/Rust file code",
	"fd_renumber":             "dup2 in C/Rust code",
	"fd_tell":                 "ftell/lseek in C/Rust file code",
	"fd_fdstat_set_rights":    "Go's syscall package (rights-dropping file calls)",
	"path_create_directory":   "os.Mkdir/os.MkdirAll",
	"path_remove_directory":   "os.Remove/os.RemoveAll of directories (Higress WAF)",
	"path_unlink_file":        "os.Remove of files",
	"path_rename":             "os.Rename",
	"path_link":               "os.Link",
	"path_symlink":            "os.Symlink",
	"path_readlink":           "os.Readlink and filepath.EvalSymlinks",
	"path_filestat_set_times": "os.Chtimes",
	"sock_accept":             "Go's net package (net.FileListener); a proxy-wasm plugin cannot serve sockets",
	"sock_recv":               "socket reads in Go's net package or C/Rust code",
	"sock_send":               "socket writes in Go's net package or C/Rust code",
	"sock_shutdown":           "Go's net package",
	"clock_res_get":           "clock resolution queries (time in C/Rust, clock_getres)",
	"clock_time_get":          "reading the clock (time.Now, Instant::now)",
	"random_get":              "random numbers (crypto/rand, math/rand seeding, hash map seeds)",
	"proc_raise":              "raise() or abort() in C code compiled against wasi-libc",
	"proc_exit":               "a runtime that exits when main returns (Go, TinyGo, wasi-libc)",
}

// envCauses explains env imports no upstream Envoy provides.
var envCauses = map[string]string{
	"proxy_dispatch_http_call":                  "an SDK or host written for the unimplemented vNEXT draft ABI (mosn proxy-wasm-go-host); Envoy's call is proxy_http_call",
	"proxy_dispatch_grpc_call":                  "the unimplemented vNEXT draft ABI; Envoy's call is proxy_grpc_call",
	"proxy_get_map_value":                       "the unimplemented vNEXT draft ABI; Envoy's call is proxy_get_header_map_value",
	"proxy_set_tick_period":                     "the unimplemented vNEXT draft ABI; Envoy's call is proxy_set_tick_period_milliseconds",
	"proxy_get_buffer":                          "the unimplemented vNEXT draft ABI; Envoy's call is proxy_get_buffer_bytes",
	"proxy_send_http_response":                  "the unimplemented vNEXT draft ABI; Envoy's call is proxy_send_local_response",
	"proxy_resume_http_request":                 "the unimplemented vNEXT draft ABI; Envoy's call is proxy_continue_stream",
	"proxy_redis_init":                          "the Higress proxy-wasm-go-sdk (Higress-only host function)",
	"proxy_redis_call":                          "the Higress proxy-wasm-go-sdk (Higress-only host function)",
	"proxy_get_upstream_hosts":                  "the Higress proxy-wasm-go-sdk (Higress-only host function)",
	"proxy_set_upstream_override_host":          "the Higress proxy-wasm-go-sdk (Higress-only host function)",
	"proxy_inject_encoded_data_to_filter_chain": "the Higress proxy-wasm-go-sdk (Higress-only host function)",
	"abort": "the AssemblyScript runtime, unless built with --use abort=... (solo-io/proxy-runtime)",
}

// causeOf says what usually brings in module.name, or "".
func causeOf(module, name string) string {
	switch {
	case isWASIModule(module):
		return wasiCauses[name]
	case module == release.ModuleEnv:
		if c, ok := envCauses[name]; ok {
			return c
		}
		if strings.HasPrefix(name, "syscall/js.") || strings.HasPrefix(name, "runtime.") {
			return "a TinyGo -target=wasm (JavaScript) build"
		}
		if strings.HasPrefix(name, "__wbindgen") || strings.HasPrefix(name, "__wbg_") {
			return "wasm-bindgen (a browser/JavaScript Rust build)"
		}
	case module == "gojs" || module == "go":
		return "a GOOS=js build, which targets browsers and Node.js"
	case strings.HasPrefix(module, "wasi:") || module == "wasi_snapshot_preview2":
		return "a WASI preview 2 / component-model build"
	case module == "wbg" || strings.HasPrefix(module, "__wbindgen"):
		return "wasm-bindgen (a browser/JavaScript Rust build)"
	}
	return ""
}

// neverFix is the remediation for an import no release provides.
func neverFix(module, name string, p result.WasmProducer) string {
	switch {
	case module == "gojs" || module == "go":
		return "Build with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared (Go ≥1.24) and a proxy-wasm SDK."
	case module == release.ModuleEnv && (strings.HasPrefix(name, "syscall/js.") || strings.HasPrefix(name, "runtime.")):
		return "Build with tinygo -target=wasip1 (or -target=wasi), not -target=wasm."
	case module == release.ModuleEnv && name == "abort":
		return "Build with asc --use abort=<your abort function> (solo-io/proxy-runtime documents abort=abort_proc_exit)."
	case strings.HasPrefix(module, "wasi:") || module == "wasi_snapshot_preview2":
		return "Build a WASI preview 1 core module (e.g. Rust --target wasm32-wasip1), not a component."
	case module == release.ModuleEnv && envCauses[name] != "" && strings.Contains(envCauses[name], "Higress"):
		return "Use the upstream proxy-wasm SDK; Higress-only host functions exist only in Higress gateways."
	case module == release.ModuleEnv && strings.HasPrefix(name, "proxy_"):
		return "Use an SDK that targets Envoy's ABI (0.2.1): proxy-wasm-go-sdk, proxy-wasm-rust-sdk or proxy-wasm-cpp-sdk."
	case isWASIModule(module) && name == "proc_raise":
		return "Avoid raise()/abort() paths in C code, or provide your own proc_raise-free abort."
	case isWASIModule(module):
		return "Remove the code that needs it; no Envoy release provides this WASI function."
	}
	if p.Language == "Go" || p.Language == "TinyGo" {
		return "Remove the //go:wasmimport declaration (or the package that declares it); Envoy provides only env.proxy_* and WASI preview 1."
	}
	return "Remove the import; Envoy provides only env.proxy_* functions and WASI preview 1 (wasi_snapshot_preview1/wasi_unstable)."
}

package release

// This file is the one data table of what a proxy-wasm host (Envoy, through
// proxy-wasm-cpp-host) offers a module: the host functions it registers for
// each ABI version, the WASI functions it registers and the Envoy release that
// first shipped each one, the exports it looks up with their required
// signatures, and the start-up allow-list. `wasm inspect` and `wasm run`
// both read it; nothing else restates these facts.
//
// Sources, all in github.com/proxy-wasm/proxy-wasm-cpp-host at 52a0291
// (2026-07-01) unless a commit is named:
//   - env.* names and ABI split: src/wasm.cc registerCallbacks() and
//     include/proxy-wasm/exports.h.
//   - signatures: the exports.h declarations (Word = i32, int64/uint64 =
//     i64), written "(i32, i64) -> (i32)" below.
//   - WASI: FOR_ALL_WASI_FUNCTIONS in exports.h, registered under both
//     wasi_unstable and wasi_snapshot_preview1 (src/wasm.cc); the first
//     Envoy of each function is derived from the cpp-host commit that added
//     it (see the envoy* variables).
//   - exports: include/proxy-wasm/wasm.h and WasmBase::getFunctions().
//   - start-up allow-list: WasmBase::startVm() setRestrictedCallback
//     (src/v8/v8.cc; commits in startupAllowed).

import (
	"sort"
	"strings"
)

// ValType is a WebAssembly value type, encoded as in the binary format.
type ValType byte

// Value types that appear in host and export signatures.
const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
	F32 ValType = 0x7d
	F64 ValType = 0x7c
)

// String renders the text-format name (i32, i64, ...).
func (t ValType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case 0x7b:
		return "v128"
	case 0x70:
		return "funcref"
	case 0x6f:
		return "externref"
	}
	return "type(0x" + hexByte(byte(t)) + ")"
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&0xf]})
}

// Signature is a function type.
type Signature struct {
	Params  []ValType
	Results []ValType
}

// String renders "(i32, i64) -> (i32)".
func (s Signature) String() string {
	return "(" + joinTypes(s.Params) + ") -> (" + joinTypes(s.Results) + ")"
}

// EnvoyString renders the signature the way cpp-host's V8 errors print it:
// types space-separated, "void" for none ("i32 i32 -> i32").
func (s Signature) EnvoyString() string {
	side := func(ts []ValType) string {
		if len(ts) == 0 {
			return "void"
		}
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = t.String()
		}
		return strings.Join(parts, " ")
	}
	return side(s.Params) + " -> " + side(s.Results)
}

func joinTypes(ts []ValType) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

// Equal reports whether two signatures are the same function type.
func (s Signature) Equal(o Signature) bool {
	if len(s.Params) != len(o.Params) || len(s.Results) != len(o.Results) {
		return false
	}
	for i := range s.Params {
		if s.Params[i] != o.Params[i] {
			return false
		}
	}
	for i := range s.Results {
		if s.Results[i] != o.Results[i] {
			return false
		}
	}
	return true
}

// sig builds a signature from compact type lists ("i32x5 i64", see
// parseTypes) so the table reads like the exports.h declarations.
func sig(params string, results string) Signature {
	return Signature{Params: parseTypes(params), Results: parseTypes(results)}
}

// parseTypes reads "i32 i32 i64" or "i32x5".
func parseTypes(s string) []ValType {
	var out []ValType
	for _, f := range strings.Fields(s) {
		n := 1
		if i := strings.IndexByte(f, 'x'); i > 0 {
			n = 0
			for _, c := range f[i+1:] {
				n = n*10 + int(c-'0')
			}
			f = f[:i]
		}
		var t ValType
		switch f {
		case "i32":
			t = I32
		case "i64":
			t = I64
		default:
			panic("release: bad type in host table: " + f)
		}
		for range n {
			out = append(out, t)
		}
	}
	return out
}

// ABI is a proxy-wasm ABI version, chosen by the module through its
// proxy_abi_version_* export.
type ABI int

// ABI versions that upstream Envoy understands (proxy-wasm-cpp-host
// include/proxy-wasm/wasm_vm.h AbiVersion). ABIUnknown covers every other
// marker, including vNEXT's proxy_abi_version_0_x_x and Higress's _0_2_100.
const (
	ABIUnknown ABI = iota
	ABI010
	ABI020
	ABI021
)

// KnownABIs lists the versions Envoy accepts, oldest first.
var KnownABIs = []ABI{ABI010, ABI020, ABI021}

// String renders "0.2.1".
func (a ABI) String() string {
	switch a {
	case ABI010:
		return "0.1.0"
	case ABI020:
		return "0.2.0"
	case ABI021:
		return "0.2.1"
	}
	return "unknown"
}

// ABIExportPrefix starts every ABI marker export name.
const ABIExportPrefix = "proxy_abi_version_"

// ExportName is the marker export a module of this ABI carries.
func (a ABI) ExportName() string {
	if a == ABIUnknown {
		return ""
	}
	return ABIExportPrefix + strings.ReplaceAll(a.String(), ".", "_")
}

// ABIFromExport maps a marker export name to its ABI; ok is false for names
// Envoy does not recognise (cpp-host bytecode_util.cc getAbiVersion compares
// against exactly the three known names).
func ABIFromExport(name string) (ABI, bool) {
	for _, a := range KnownABIs {
		if name == a.ExportName() {
			return a, true
		}
	}
	return ABIUnknown, false
}

// Host modules. cpp-host registers every WASI function under both WASI names.
const (
	ModuleEnv          = "env"
	ModuleWASI         = "wasi_snapshot_preview1"
	ModuleWASIUnstable = "wasi_unstable"
)

// ImportKey names an import as module.name.
type ImportKey struct{ Module, Name string }

// String renders "module.name", as Envoy's missing-import error does.
func (k ImportKey) String() string { return k.Module + "." + k.Name }

// HostFunction is one function the host can register.
type HostFunction struct {
	// Module is "env" or, for WASI, "wasi_snapshot_preview1" (the function is
	// registered under "wasi_unstable" too).
	Module string
	Name   string
	Sig    Signature
	// Since is the first Envoy minor that registers it.
	Since Version
	// ABIs limits env functions to some ABI versions; nil means every one.
	ABIs []ABI
}

// IsWASI reports whether the function belongs to the WASI modules.
func (f HostFunction) IsWASI() bool { return f.Module == ModuleWASI }

// ForABI reports whether the host registers f for a module of ABI a.
func (f HostFunction) ForABI(a ABI) bool {
	if f.ABIs == nil {
		return true
	}
	for _, x := range f.ABIs {
		if x == a {
			return true
		}
	}
	return false
}

// OldestWasmEnvoy is the oldest Envoy filterdoctor knows (Istio 1.8): every
// function marked with it was present in all Wasm-capable Envoy releases.
var OldestWasmEnvoy = Version{1, 16}

// Envoy minors at which the host surface grew. Each comment gives the
// cpp-host commit and how the Envoy release was determined.
var (
	// Initial cpp-host host functions and WASI set (56204b1, 2020-03/04),
	// present in every Envoy Istio ≥1.8 ships.
	envoyInitial = OldestWasmEnvoy
	// clock_time_get (4636486, 2020-10-14) and random_get (6a75b62,
	// 2020-10-15): Envoy 1.17.0 picked up cpp-host after both (inferred).
	envoyClock = Version{1, 17}
	// path_open, fd_prestat_get, fd_prestat_dir_name (f383473, 2021-11-18;
	// envoy PR #19074 merged 2021-11-29): Envoy 1.21 (inferred, strong).
	envoyPreopens = Version{1, 21}
	// emscripten_notify_memory_growth (73fe589, 2022-06-15): the next Envoy
	// release after that date is 1.23 (inferred).
	envoyEmscriptenGrowth = Version{1, 23}
	// fd_fdstat_set_flags, sched_yield, poll_oneoff (c4d7bb0, PR #427,
	// 2024-12-19): Envoy 1.33.0 (verified: proxy-wasm-go-sdk README
	// "Envoy >= 1.33.0 ... PR#427").
	envoyGoMin = Version{1, 33}
	// The rest of WASI preview1 except proc_raise (94091cd, PR #533,
	// 2026-04-06; envoy PR #45756): Envoy 1.39 (inferred, strong).
	envoyFullWASI = Version{1, 39}
)

// hostFunctions is the table, grouped by how cpp-host registers each
// function: for every ABI, per ABI, then WASI.
var hostFunctions = func() []HostFunction {
	abi010 := []ABI{ABI010}
	abi02x := []ABI{ABI020, ABI021}
	abi021 := []ABI{ABI021}
	env := func(name, params, results string, abis []ABI) HostFunction {
		return HostFunction{Module: ModuleEnv, Name: name, Sig: sig(params, results), Since: envoyInitial, ABIs: abis}
	}
	wasi := func(since Version, name, params, results string) HostFunction {
		return HostFunction{Module: ModuleWASI, Name: name, Sig: sig(params, results), Since: since}
	}
	return []HostFunction{
		// FOR_ALL_HOST_FUNCTIONS: every ABI version.
		env("proxy_get_status", "i32x3", "i32", nil),
		env("proxy_log", "i32x3", "i32", nil),
		env("proxy_get_property", "i32x4", "i32", nil),
		env("proxy_set_property", "i32x4", "i32", nil),
		env("proxy_send_local_response", "i32x8", "i32", nil),
		env("proxy_get_shared_data", "i32x5", "i32", nil),
		env("proxy_set_shared_data", "i32x5", "i32", nil),
		env("proxy_register_shared_queue", "i32x3", "i32", nil),
		env("proxy_resolve_shared_queue", "i32x5", "i32", nil),
		env("proxy_dequeue_shared_queue", "i32x3", "i32", nil),
		env("proxy_enqueue_shared_queue", "i32x3", "i32", nil),
		env("proxy_get_buffer_bytes", "i32x5", "i32", nil),
		env("proxy_get_buffer_status", "i32x3", "i32", nil),
		env("proxy_set_buffer_bytes", "i32x5", "i32", nil),
		env("proxy_add_header_map_value", "i32x5", "i32", nil),
		env("proxy_get_header_map_value", "i32x5", "i32", nil),
		env("proxy_replace_header_map_value", "i32x5", "i32", nil),
		env("proxy_remove_header_map_value", "i32x3", "i32", nil),
		env("proxy_get_header_map_pairs", "i32x3", "i32", nil),
		env("proxy_set_header_map_pairs", "i32x3", "i32", nil),
		env("proxy_get_header_map_size", "i32x2", "i32", nil),
		env("proxy_http_call", "i32x10", "i32", nil),
		env("proxy_define_metric", "i32x4", "i32", nil),
		env("proxy_increment_metric", "i32 i64", "i32", nil),
		env("proxy_record_metric", "i32 i64", "i32", nil),
		env("proxy_get_metric", "i32x2", "i32", nil),
		env("proxy_grpc_call", "i32x12", "i32", nil),
		env("proxy_grpc_stream", "i32x9", "i32", nil),
		env("proxy_grpc_cancel", "i32", "i32", nil),
		env("proxy_grpc_close", "i32", "i32", nil),
		env("proxy_grpc_send", "i32x4", "i32", nil),
		env("proxy_set_tick_period_milliseconds", "i32", "i32", nil),
		env("proxy_get_current_time_nanoseconds", "i32", "i32", nil),
		env("proxy_set_effective_context", "i32", "i32", nil),
		env("proxy_done", "", "i32", nil),
		env("proxy_call_foreign_function", "i32x6", "i32", nil),
		// ABI 0.1.0 only. The spec says these return nothing; the host
		// registers them as () -> i32, and the host is what links.
		env("proxy_get_configuration", "i32x2", "i32", abi010),
		env("proxy_continue_request", "", "i32", abi010),
		env("proxy_continue_response", "", "i32", abi010),
		env("proxy_clear_route_cache", "", "i32", abi010),
		// ABI 0.2.x.
		env("proxy_continue_stream", "i32", "i32", abi02x),
		env("proxy_close_stream", "i32", "i32", abi02x),
		// ABI 0.2.1 only (cpp-host d1e7040).
		env("proxy_get_log_level", "i32", "i32", abi021),
		// Registered for every ABI, outside the proxy_ namespace.
		env("pthread_equal", "i32x2", "i32", nil),
		{Module: ModuleEnv, Name: "emscripten_notify_memory_growth", Sig: sig("i32", ""), Since: envoyEmscriptenGrowth},

		wasi(envoyInitial, "fd_write", "i32x4", "i32"),
		wasi(envoyInitial, "fd_read", "i32x4", "i32"),
		wasi(envoyInitial, "fd_seek", "i32 i64 i32 i32", "i32"),
		wasi(envoyInitial, "fd_close", "i32", "i32"),
		wasi(envoyInitial, "fd_fdstat_get", "i32x2", "i32"),
		wasi(envoyInitial, "environ_get", "i32x2", "i32"),
		wasi(envoyInitial, "environ_sizes_get", "i32x2", "i32"),
		wasi(envoyInitial, "args_get", "i32x2", "i32"),
		wasi(envoyInitial, "args_sizes_get", "i32x2", "i32"),
		wasi(envoyInitial, "proc_exit", "i32", ""),
		wasi(envoyClock, "clock_time_get", "i32 i64 i32", "i32"),
		wasi(envoyClock, "random_get", "i32x2", "i32"),
		wasi(envoyPreopens, "path_open", "i32x5 i64 i64 i32 i32", "i32"),
		wasi(envoyPreopens, "fd_prestat_get", "i32x2", "i32"),
		wasi(envoyPreopens, "fd_prestat_dir_name", "i32x3", "i32"),
		wasi(envoyGoMin, "fd_fdstat_set_flags", "i32x2", "i32"),
		wasi(envoyGoMin, "sched_yield", "", "i32"),
		wasi(envoyGoMin, "poll_oneoff", "i32x4", "i32"),
		wasi(envoyFullWASI, "fd_filestat_get", "i32x2", "i32"),
		wasi(envoyFullWASI, "clock_res_get", "i32x2", "i32"),
		wasi(envoyFullWASI, "fd_advise", "i32 i64 i64 i32", "i32"),
		wasi(envoyFullWASI, "fd_allocate", "i32 i64 i64", "i32"),
		wasi(envoyFullWASI, "fd_datasync", "i32", "i32"),
		wasi(envoyFullWASI, "fd_fdstat_set_rights", "i32 i64 i64", "i32"),
		wasi(envoyFullWASI, "fd_filestat_set_size", "i32 i64", "i32"),
		wasi(envoyFullWASI, "fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
		wasi(envoyFullWASI, "fd_pread", "i32x3 i64 i32", "i32"),
		wasi(envoyFullWASI, "fd_pwrite", "i32x3 i64 i32", "i32"),
		wasi(envoyFullWASI, "fd_readdir", "i32x3 i64 i32", "i32"),
		wasi(envoyFullWASI, "fd_renumber", "i32x2", "i32"),
		wasi(envoyFullWASI, "fd_sync", "i32", "i32"),
		wasi(envoyFullWASI, "fd_tell", "i32x2", "i32"),
		wasi(envoyFullWASI, "path_create_directory", "i32x3", "i32"),
		wasi(envoyFullWASI, "path_filestat_get", "i32x5", "i32"),
		wasi(envoyFullWASI, "path_filestat_set_times", "i32x4 i64 i64 i32", "i32"),
		wasi(envoyFullWASI, "path_link", "i32x6", "i32"),
		wasi(envoyFullWASI, "path_readlink", "i32x6", "i32"),
		wasi(envoyFullWASI, "path_remove_directory", "i32x3", "i32"),
		wasi(envoyFullWASI, "path_rename", "i32x6", "i32"),
		wasi(envoyFullWASI, "path_symlink", "i32x4", "i32"),
		wasi(envoyFullWASI, "path_unlink_file", "i32x3", "i32"),
		wasi(envoyFullWASI, "sock_accept", "i32x3", "i32"),
		wasi(envoyFullWASI, "sock_recv", "i32x6", "i32"),
		wasi(envoyFullWASI, "sock_send", "i32x5", "i32"),
		wasi(envoyFullWASI, "sock_shutdown", "i32x2", "i32"),
	}
}()

// hostIndex finds table rows by ImportKey; WASI rows appear under both names.
var hostIndex = func() map[ImportKey]int {
	m := make(map[ImportKey]int, 2*len(hostFunctions))
	for i, f := range hostFunctions {
		m[ImportKey{f.Module, f.Name}] = i
		if f.IsWASI() {
			m[ImportKey{ModuleWASIUnstable, f.Name}] = i
		}
	}
	return m
}()

// LookupHostFunction returns what any release of the host knows about
// module.name, whatever the Envoy or ABI version. ok is false when no
// upstream Envoy ever registers it (proxy_dispatch_http_call, env.abort,
// wasi proc_raise, gojs.*, ...).
func LookupHostFunction(module, name string) (HostFunction, bool) {
	i, ok := hostIndex[ImportKey{module, name}]
	if !ok {
		return HostFunction{}, false
	}
	return hostFunctions[i], true
}

// HostFunctions returns every function some Envoy release registers, with
// WASI functions listed once under wasi_snapshot_preview1.
func HostFunctions() []HostFunction { return append([]HostFunction(nil), hostFunctions...) }

// Provides reports whether Envoy envoy registers module.name for a module
// of ABI abi, and with which signature.
func Provides(envoy Version, abi ABI, module, name string) (Signature, bool) {
	f, ok := LookupHostFunction(module, name)
	if !ok || !envoy.AtLeast(f.Since) || !f.ForABI(abi) {
		return Signature{}, false
	}
	return f.Sig, true
}

// HostImports is the full import surface Envoy envoy offers a module of ABI
// abi: every function it registers, WASI ones under both module names. An
// ABIUnknown module never gets this far in Envoy; it gets the functions
// common to every ABI.
func HostImports(envoy Version, abi ABI) map[ImportKey]Signature {
	out := make(map[ImportKey]Signature, len(hostIndex))
	for k, i := range hostIndex {
		f := hostFunctions[i]
		if envoy.AtLeast(f.Since) && f.ForABI(abi) {
			out[k] = f.Sig
		}
	}
	return out
}

// FirstEnvoyProviding returns the first Envoy minor that registers
// module.name for some ABI version. ok is false when no release does.
func FirstEnvoyProviding(module, name string) (Version, bool) {
	f, ok := LookupHostFunction(module, name)
	if !ok {
		return Version{}, false
	}
	return f.Since, true
}

// SupportedABIs lists the ABI versions Envoy envoy accepts. Every upstream
// Envoy since 1.16 (Istio ≥1.8) knows 0.1.0, 0.2.0 and 0.2.1 and nothing
// newer (cpp-host src/bytecode_util.cc at 52a0291 knows no other marker
// export).
func SupportedABIs(envoy Version) []ABI {
	if envoy.Less(OldestWasmEnvoy) {
		return []ABI{ABI010}
	}
	return append([]ABI(nil), KnownABIs...)
}

// MaxMemoryPages is the largest initial memory, in 64 KiB pages, V8 lets a
// module declare: PROXY_WASM_HOST_MAX_WASM_MEMORY_SIZE_BYTES (1 GiB), passed
// as --wasm_max_mem_pages=16384 (cpp-host src/v8/v8.cc).
const MaxMemoryPages = 16384

// WasmPageSize is the WebAssembly page size in bytes.
const WasmPageSize = 64 << 10

// MaxRandomGetBytes is the largest random_get buffer the host fills
// (PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES); larger requests get
// EINVAL.
const MaxRandomGetBytes = 64 << 10

// ExportSpec is a module export the host looks up, with the signature it
// requires.
type ExportSpec struct {
	Name string
	Sig  Signature
	// ABIs limits the export to some ABI versions; nil means every one.
	ABIs []ABI
}

// exportSpecs follows include/proxy-wasm/wasm.h (WasmCallVoid<N> is
// (i32×N)->(), WasmCallWord<N> is (i32×N)->i32) and getFunctions().
var exportSpecs = []ExportSpec{
	{Name: "_initialize", Sig: sig("", "")},
	{Name: "_start", Sig: sig("", "")},
	{Name: "main", Sig: sig("i32x2", "i32")},
	{Name: "__main_void", Sig: sig("", "i32")},
	{Name: "malloc", Sig: sig("i32", "i32")},
	{Name: "proxy_on_memory_allocate", Sig: sig("i32", "i32")},
	{Name: "proxy_validate_configuration", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_vm_start", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_configure", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_tick", Sig: sig("i32", "")},
	{Name: "proxy_on_context_create", Sig: sig("i32x2", "")},
	{Name: "proxy_on_new_connection", Sig: sig("i32", "i32")},
	{Name: "proxy_on_downstream_data", Sig: sig("i32x3", "i32")},
	{Name: "proxy_on_upstream_data", Sig: sig("i32x3", "i32")},
	{Name: "proxy_on_downstream_connection_close", Sig: sig("i32x2", "")},
	{Name: "proxy_on_upstream_connection_close", Sig: sig("i32x2", "")},
	{Name: "proxy_on_request_headers", Sig: sig("i32x2", "i32"), ABIs: []ABI{ABI010}},
	{Name: "proxy_on_response_headers", Sig: sig("i32x2", "i32"), ABIs: []ABI{ABI010}},
	{Name: "proxy_on_request_headers", Sig: sig("i32x3", "i32"), ABIs: []ABI{ABI020, ABI021}},
	{Name: "proxy_on_response_headers", Sig: sig("i32x3", "i32"), ABIs: []ABI{ABI020, ABI021}},
	{Name: "proxy_on_request_body", Sig: sig("i32x3", "i32")},
	{Name: "proxy_on_response_body", Sig: sig("i32x3", "i32")},
	{Name: "proxy_on_request_trailers", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_response_trailers", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_request_metadata", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_response_metadata", Sig: sig("i32x2", "i32")},
	{Name: "proxy_on_http_call_response", Sig: sig("i32x5", "")},
	{Name: "proxy_on_grpc_receive", Sig: sig("i32x3", "")},
	{Name: "proxy_on_grpc_close", Sig: sig("i32x3", "")},
	{Name: "proxy_on_grpc_receive_initial_metadata", Sig: sig("i32x3", "")},
	{Name: "proxy_on_grpc_receive_trailing_metadata", Sig: sig("i32x3", "")},
	{Name: "proxy_on_queue_ready", Sig: sig("i32x2", "")},
	{Name: "proxy_on_foreign_function", Sig: sig("i32x3", ""), ABIs: []ABI{ABI020, ABI021}},
	{Name: "proxy_on_done", Sig: sig("i32", "i32")},
	{Name: "proxy_on_log", Sig: sig("i32", "")},
	{Name: "proxy_on_delete", Sig: sig("i32", "")},
}

// ExpectedExport returns the signature the host requires of export name for
// a module of ABI abi. ok is false for exports the host never calls under
// that ABI (it ignores them).
func ExpectedExport(abi ABI, name string) (Signature, bool) {
	for _, e := range exportSpecs {
		if e.Name != name {
			continue
		}
		if e.ABIs == nil || abi == ABIUnknown || containsABI(e.ABIs, abi) {
			return e.Sig, true
		}
	}
	return Signature{}, false
}

// ExportSpecs lists every export the host looks up, for documentation and
// for the dry-run host.
func ExportSpecs() []ExportSpec { return append([]ExportSpec(nil), exportSpecs...) }

func containsABI(as []ABI, a ABI) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// startupAllowed is the restricted-callback allow-list that V8 applies
// while _initialize, main, __main_void or _start run. Each step adds to the
// previous one; keys are WASI names (both WASI modules) unless prefixed
// "env.". Commits are proxy-wasm-cpp-host's; Envoy releases inferred as the
// first release after the commit.
var startupAllowed = []struct {
	since Version
	names []string
}{
	// 66b3b7d "v8: add restricted callbacks" (2022-08-05) → Envoy 1.24.
	{Version{1, 24}, []string{"env.proxy_log", "fd_write", "args_sizes_get", "args_get", "environ_sizes_get",
		"environ_get", "fd_prestat_get", "fd_prestat_dir_name", "clock_time_get", "random_get"}},
	// c4d7bb0 (2024-12-19) → Envoy 1.33.
	{envoyGoMin, []string{"fd_fdstat_get", "fd_fdstat_set_flags"}},
	// 14fa83a (2025-11) → Envoy 1.37 (released 2026-01-13).
	{Version{1, 37}, []string{"env.emscripten_notify_memory_growth"}},
	// 94091cd (2026-04-06) → Envoy 1.39.
	{envoyFullWASI, []string{"clock_res_get", "poll_oneoff", "fd_advise", "fd_allocate", "fd_datasync",
		"fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
		"fd_pwrite", "fd_readdir", "fd_renumber", "fd_sync", "fd_tell", "path_create_directory",
		"path_filestat_get", "path_filestat_set_times", "path_link", "path_readlink", "path_remove_directory",
		"path_rename", "path_symlink", "path_unlink_file", "sock_accept", "sock_recv", "sock_send", "sock_shutdown"}},
}

// RestrictedCallbacksSince is the first Envoy whose V8 traps host calls
// outside the allow-list during start-up ("restricted_callback").
var RestrictedCallbacksSince = Version{1, 24}

// AllowedAtStartup reports whether Envoy envoy lets start-up code
// (_initialize, main, __main_void, _start) call module.name. Before
// restricted callbacks existed every registered function was allowed.
// proc_exit, sched_yield, fd_read, fd_seek, fd_close, path_open and every
// env.proxy_* except proxy_log are never allowed once they exist.
func AllowedAtStartup(envoy Version, module, name string) bool {
	if envoy.Less(RestrictedCallbacksSince) {
		return true
	}
	key := name
	switch module {
	case ModuleEnv:
		key = "env." + name
	case ModuleWASI, ModuleWASIUnstable:
	default:
		return false
	}
	for _, step := range startupAllowed {
		if envoy.Less(step.since) {
			break
		}
		for _, n := range step.names {
			if n == key {
				return true
			}
		}
	}
	return false
}

// PollOneoffSucceeds reports whether Envoy's poll_oneoff answers success.
// Between its arrival (envoyGoMin) and cpp-host 94091cd (envoyFullWASI) it
// returned ENOSYS, which the Go runtime survives only while idle.
func PollOneoffSucceeds(envoy Version) bool { return envoy.AtLeast(envoyFullWASI) }

// WASIReleases lists the Envoy minors at which the WASI set grew, oldest
// first, for messages such as "sched_yield arrived with Envoy 1.33".
func WASIReleases() []Version {
	seen := map[Version]bool{}
	var out []Version
	for _, f := range hostFunctions {
		if f.IsWASI() && !seen[f.Since] {
			seen[f.Since] = true
			out = append(out, f.Since)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

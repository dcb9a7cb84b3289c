package wasmhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/filterdoctor/filterdoctor/pkg/release"
	"github.com/filterdoctor/filterdoctor/pkg/result"
	"github.com/filterdoctor/filterdoctor/pkg/wasminspect"
)

// Context IDs as Envoy hands them out: the VM context is 0, the plugin's
// root context comes next, then one context per stream.
const (
	rootContextID   = 1
	streamContextID = 2
)

// Envoy's wrapper lines around a load failure (cpp-host createWasm and
// Envoy's Wasm::error, which prefixes "Wasm VM failed ").
const (
	failPrefix         = "Wasm VM failed "
	msgLoadCode        = failPrefix + "Failed to load Wasm code"
	msgInitializeCode  = failPrefix + "Failed to initialize Wasm code"
	msgFailClosed      = "Plugin configured to fail closed failed to load"
	msgCorrupt         = failPrefix + "Failed to parse corrupted Wasm module"
	msgUnknownABI      = failPrefix + "Missing or unknown Proxy-Wasm ABI version"
	msgBytecode        = failPrefix + "Failed to load Wasm bytecode"
	msgMissingMalloc   = failPrefix + "Wasm module is missing malloc function."
	msgStartFailed     = failPrefix + "Failed to start base Wasm"
	msgConfigureFailed = failPrefix + "Failed to configure base Wasm plugin"
)

// Run loads wasm as Envoy would and drives one HTTP stream through it.
// Envoy-visible failures (refused module, trap, configure false) are in
// the report's Failure; the error is for problems of the run itself.
func Run(ctx context.Context, wasm []byte, opts Options) (*result.WasmRun, error) {
	if len(wasm) > MaxModuleBytes {
		return nil, fmt.Errorf("module is %d bytes; filterdoctor runs modules up to %d bytes (Istio's default OCI limit)", len(wasm), MaxModuleBytes)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Ticks > MaxTicks {
		return nil, fmt.Errorf("%d ticks: filterdoctor drives at most %d (the bound on ticks)", opts.Ticks, MaxTicks)
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	defer watchHostHeap(ctx, stop, uint64(release.MaxMemoryPages)*release.WasmPageSize)()
	ctx = withLinearMemory(ctx)

	h := &host{opts: opts, rep: &result.WasmRun{}, metrics: map[uint32]*metric{}, shared: map[string]*sharedValue{}, runCtx: ctx}
	h.rep.Module.File = opts.File
	h.rep.Module.Size = len(wasm)
	h.rep.Host.Istio = opts.Istio
	h.rep.Host.Envoy = opts.Envoy.String()
	h.rep.Release = result.Release{Istio: opts.Istio, Envoy: opts.Envoy.String(), Source: opts.ReleaseSource}
	h.rep.Logs = []result.WasmLogLine{}
	defer h.noteDroppedLogs()
	h.rep.Steps = []result.WasmStep{}

	rt, err := h.newRuntime(ctx, wasm)
	if err != nil {
		return nil, err
	}
	// Closing frees the runtime's memory; the report is complete by then.
	defer func() { _ = rt.Close(context.Background()) }()

	if !h.load(ctx, rt, wasm) {
		return h.rep, nil
	}
	if !h.startPlugin(ctx) {
		return h.rep, nil
	}
	h.runTicks(ctx)
	if h.rep.Failure == nil {
		h.runStream(ctx)
	}
	h.collectMetrics()
	return h.rep, nil
}

// newRuntime picks the engine. wazero's compiler needs ~1.5 s of CPU for a
// 2 MB Go module, its interpreter ~0.1 s, and one request runs about as fast
// on either: so a module is interpreted unless its compiled code is already
// in the cache (EngineAuto), or the caller asks for the compiler.
func (h *host) newRuntime(ctx context.Context, wasm []byte) (wazero.Runtime, error) {
	engine := h.opts.Engine
	if engine == EngineAuto {
		engine = EngineInterpreter
		if h.opts.CacheDir != "" && fileExists(compiledMarker(h.opts.CacheDir, wasm)) {
			engine = EngineCompiler
		}
	}
	h.engine = engine
	var cfg wazero.RuntimeConfig
	if engine == EngineCompiler {
		cfg = wazero.NewRuntimeConfigCompiler()
		if h.opts.CacheDir != "" {
			cache, err := wazero.NewCompilationCacheWithDir(h.opts.CacheDir)
			if err != nil {
				return nil, fmt.Errorf("wazero compilation cache %s: %w", h.opts.CacheDir, err)
			}
			cfg = cfg.WithCompilationCache(cache)
			h.rep.Host.Cache = h.opts.CacheDir
		}
		h.rep.Host.Engine = "compiler"
	} else {
		cfg = wazero.NewRuntimeConfigInterpreter()
		h.rep.Host.Engine = "interpreter"
	}
	cfg = cfg.WithCloseOnContextDone(true).WithMemoryLimitPages(release.MaxMemoryPages)
	return wazero.NewRuntimeWithConfig(ctx, cfg), nil
}

// compiledMarker names the file that records that the cache in dir holds
// compiled code for this module (wazero offers no lookup of its own).
func compiledMarker(dir string, wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return filepath.Join(dir, "filterdoctor-compiled", hex.EncodeToString(sum[:]))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// markCompiled records a module compiled into the cache; failing to write
// the marker only costs the next run its speed-up.
func markCompiled(dir string, wasm []byte) {
	path := compiledMarker(dir, wasm)
	if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		_ = os.WriteFile(path, nil, 0o644)
	}
}

// fail records Envoy's log lines for a refused or broken plugin.
func (h *host) fail(stage string, lines ...string) {
	h.rep.Failure = &result.WasmFailure{Stage: stage, EnvoyLog: lines}
}

// load is cpp-host's WasmBase::load and initialize: ABI marker, compile,
// link, required exports, then start-up code under the restricted-callback
// rule.
func (h *host) load(ctx context.Context, rt wazero.Runtime, wasm []byte) bool {
	// The module's structure, read by the same decoder as `wasm inspect`:
	// anything it cannot follow is what cpp-host answers with "Failed to
	// parse corrupted Wasm module". Its ABI is the first function export
	// whose name is a marker Envoy knows (cpp-host bytecode_util.cc
	// getAbiVersion).
	shape, err := wasminspect.ParseBytes(wasm)
	if err != nil {
		h.fail("load", msgCorrupt, msgLoadCode, msgFailClosed)
		h.rep.Failure.Detail = err.Error()
		return false
	}
	h.abi = shape.ABI
	h.rep.Module.ABI = h.abi.String()
	if h.abi == release.ABIUnknown || !containsABI(release.SupportedABIs(h.opts.Envoy), h.abi) {
		h.fail("load", msgUnknownABI, msgLoadCode, msgFailClosed)
		return false
	}

	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		h.fail("load", msgBytecode, msgLoadCode, msgFailClosed)
		h.rep.Failure.Detail = "compile: " + err.Error()
		return false
	}
	if h.engine == EngineCompiler && h.opts.CacheDir != "" {
		markCompiled(h.opts.CacheDir, wasm)
	}
	if line, ok := h.linkError(shape, compiled); !ok {
		h.fail("load", line, msgInitializeCode, msgFailClosed)
		return false
	}
	exported := compiled.ExportedFunctions()
	if _, ok := exported["_initialize"]; ok {
		h.rep.Module.Start = "_initialize"
	} else if _, ok := exported["_start"]; ok {
		h.rep.Module.Start = "_start"
	}
	if line, ok := exportSignatureError(h.abi, exported); !ok {
		h.fail("load", line, msgInitializeCode, msgFailClosed)
		return false
	}
	switch {
	case exported["malloc"] != nil:
		h.allocName = "malloc"
	case exported["proxy_on_memory_allocate"] != nil:
		h.allocName = "proxy_on_memory_allocate"
	default:
		h.fail("load", msgMissingMalloc, msgInitializeCode, msgFailClosed)
		return false
	}

	if err := h.instantiateHost(ctx, rt); err != nil {
		return h.internal("load", err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		h.fail("load", failPrefix+"Failed to create new Wasm instance", msgInitializeCode, msgFailClosed)
		h.rep.Failure.Detail = err.Error()
		return false
	}
	h.mod = mod
	h.alloc = mod.ExportedFunction(h.allocName)

	// Start-up code runs with only the allow-listed host calls (V8's
	// restricted callbacks): cpp-host WasmBase::startVm.
	h.startup = true
	defer func() { h.startup = false }()
	if h.rep.Module.Start == "_initialize" {
		if !h.callStart(ctx, "_initialize") {
			return false
		}
		if mod.ExportedFunction("main") != nil && !h.callStart(ctx, "main", 0, 0) {
			return false
		}
	} else if h.rep.Module.Start == "_start" && !h.callStart(ctx, "_start") {
		return false
	}
	return true
}

func containsABI(as []release.ABI, a release.ABI) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func (h *host) callStart(ctx context.Context, name string, args ...uint64) bool {
	h.rep.Steps = append(h.rep.Steps, result.WasmStep{Call: name})
	if _, err := h.call(ctx, 0, name, args...); err != nil {
		line, _ := h.trap("start", name, err)
		h.rep.Failure.EnvoyLog = append([]string{line}, msgInitializeCode, msgFailClosed)
		h.rep.Steps[len(h.rep.Steps)-1].Result = "trap"
		return false
	}
	h.rep.Steps[len(h.rep.Steps)-1].Result = "ok"
	return true
}

// linkError checks imports in module order, as V8's link does, and returns
// Envoy's text for the first one the host does not provide.
func (h *host) linkError(shape *wasminspect.Module, compiled wazero.CompiledModule) (string, bool) {
	defs := map[release.ImportKey]api.FunctionDefinition{}
	for _, d := range compiled.ImportedFunctions() {
		m, n, _ := d.Import()
		defs[release.ImportKey{Module: m, Name: n}] = d
	}
	for _, imp := range shape.Imports {
		key := imp.Key()
		switch imp.Kind {
		case result.WasmKindMemory, result.WasmKindTable:
			continue
		case result.WasmKindFunc:
		default:
			return "Failed to load Wasm module due to a missing import: " + key.String(), false
		}
		module := imp.Module
		if module == release.ModuleWASIUnstable {
			module = release.ModuleWASI
		}
		want, ok := release.Provides(h.opts.Envoy, h.abi, module, imp.Name)
		if !ok {
			return "Failed to load Wasm module due to a missing import: " + key.String(), false
		}
		d, ok := defs[key]
		if !ok {
			continue
		}
		got := signatureOf(d)
		if !got.Equal(want) {
			return fmt.Sprintf("Failed to load Wasm module due to an import type mismatch: %s, want: %s, but host exports: %s",
				key, got.EnvoyString(), want.EnvoyString()), false
		}
	}
	return "", true
}

func signatureOf(d api.FunctionDefinition) release.Signature {
	var s release.Signature
	for _, t := range d.ParamTypes() {
		s.Params = append(s.Params, release.ValType(t))
	}
	for _, t := range d.ResultTypes() {
		s.Results = append(s.Results, release.ValType(t))
	}
	return s
}

// exportSignatureError is V8's getModuleFunction check on every export the
// host looks up.
func exportSignatureError(abi release.ABI, exported map[string]api.FunctionDefinition) (string, bool) {
	for _, spec := range release.ExportSpecs() {
		d, ok := exported[spec.Name]
		if !ok {
			continue
		}
		want, ok := release.ExpectedExport(abi, spec.Name)
		if !ok {
			continue
		}
		if got := signatureOf(d); !got.Equal(want) {
			return fmt.Sprintf("Bad function signature for: %s, want: %s, but the module exports: %s",
				spec.Name, want.EnvoyString(), got.EnvoyString()), false
		}
	}
	return "", true
}

// internal records a failure of filterdoctor's own host, never blamed on the module.
func (h *host) internal(stage string, err error) bool {
	h.fail(stage, "filterdoctor: "+err.Error())
	return false
}

var errNoCall = errors.New("export not present")

// call invokes a module export with the given context as the current one.
func (h *host) call(ctx context.Context, contextID uint32, name string, args ...uint64) ([]uint64, error) {
	fn := h.mod.ExportedFunction(name)
	if fn == nil {
		return nil, errNoCall
	}
	prevCurrent, prevEffective := h.current, h.effective
	h.current, h.effective = contextID, contextID
	defer func() {
		h.current, h.effective = prevCurrent, prevEffective
		h.flushOutput(1, true)
		h.flushOutput(2, true)
	}()
	return fn.Call(ctx, args...)
}

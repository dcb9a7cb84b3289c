package wasmhost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/filterdoctor/filterdoctor/pkg/result"
)

const (
	headerWasm  = "filters/header-wasm"
	calloutWasm = "filters/callout-wasm"
	panicWasm   = "pkg/wasmhost/testdata/panicfilter"

	authCluster = "outbound|8080||auth.shop.svc.cluster.local"
	calloutConf = `{"cluster": "outbound|8080||auth.shop.svc.cluster.local", "authority": "auth.shop.svc.cluster.local", "path": "/bearer"}`
)

func TestHeaderWasmAddsHeaders(t *testing.T) {
	rep := run(t, goModule(t, headerWasm), Options{
		Envoy:        istio(t, "1.25"),
		PluginConfig: []byte(`{"header": "X-Team", "value": "blue"}`),
		Request:      Exchange{Headers: []result.WasmHeader{{Name: ":path", Value: "/orders"}}},
	})
	requireNoFailure(t, rep)
	if v, _ := header(rep.Request.HeadersAfter, "x-team"); v != "blue" {
		t.Errorf("request x-team = %q, want blue; headers %v", v, rep.Request.HeadersAfter)
	}
	if _, ok := header(rep.Request.HeadersBefore, "x-team"); ok {
		t.Error("x-team already in the request before the filter ran")
	}
	if v, _ := header(rep.Response.HeadersAfter, "x-team"); v != "blue" {
		t.Errorf("response x-team = %q, want blue", v)
	}
	if !rep.Request.Delivered || !rep.Response.Delivered || rep.LocalReply != nil {
		t.Errorf("stream not passed through: request %v response %v local reply %+v", rep.Request.Delivered, rep.Response.Delivered, rep.LocalReply)
	}
	if !hasLog(rep, "info", "header-wasm: request /orders") {
		t.Errorf("info log missing: %+v", rep.Logs)
	}
	var calls []string
	for _, s := range rep.Steps {
		calls = append(calls, s.Call)
	}
	want := "_initialize proxy_on_context_create proxy_on_vm_start proxy_on_configure proxy_on_context_create proxy_on_request_headers proxy_on_response_headers proxy_on_done proxy_on_delete"
	if got := strings.Join(calls, " "); got != want {
		t.Errorf("lifecycle\n got %s\nwant %s", got, want)
	}
}

func TestHeaderWasmInfoLogHiddenAtWarning(t *testing.T) {
	rep := run(t, goModule(t, headerWasm), Options{Envoy: istio(t, "1.25"), LogLevel: LogWarn})
	requireNoFailure(t, rep)
	for _, l := range rep.Logs {
		if l.Source == "proxy_log" && l.Level == "info" && l.Shown {
			t.Errorf("info line shown with the wasm logger at warning: %+v", l)
		}
	}
}

func TestGoRuntimeNeedsSchedYield(t *testing.T) {
	wasm := goModule(t, headerWasm)
	rep := run(t, wasm, Options{Envoy: istio(t, "1.24")})
	requireEnvoyLog(t, rep, "load",
		"Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.sched_yield",
		"Wasm VM failed Failed to initialize Wasm code")
	for _, v := range []string{"1.25", "1.28", "1.31"} {
		requireNoFailure(t, run(t, wasm, Options{Envoy: istio(t, v)}))
	}
}

func TestPluginConfigRefused(t *testing.T) {
	rep := run(t, goModule(t, headerWasm), Options{Envoy: istio(t, "1.25"), PluginConfig: []byte(`{"header": ""}`)})
	requireEnvoyLog(t, rep, "configure", "Wasm VM failed Failed to configure base Wasm plugin")
	if !hasLog(rep, "error", `header-wasm: plugin configuration has an empty "header"`) {
		t.Errorf("module's own error not logged: %+v", rep.Logs)
	}
	if rep.Request.HeadersBefore != nil {
		t.Error("a stream ran through a plugin Envoy refused")
	}
}

func TestCalloutAllowed(t *testing.T) {
	rep := run(t, goModule(t, calloutWasm), Options{
		Envoy:         istio(t, "1.25"),
		PluginConfig:  []byte(calloutConf),
		Request:       Exchange{Headers: []result.WasmHeader{{Name: ":path", Value: "/orders"}, {Name: "authorization", Value: "Bearer t"}}},
		CallResponses: map[string]CallAnswer{authCluster: {Status: 200, Body: "ok"}},
	})
	requireNoFailure(t, rep)
	if len(rep.HTTPCalls) != 1 || rep.HTTPCalls[0].Result != "Ok" || rep.HTTPCalls[0].Cluster != authCluster {
		t.Fatalf("http calls %+v", rep.HTTPCalls)
	}
	if v, _ := header(rep.HTTPCalls[0].Headers, "authorization"); v != "Bearer t" {
		t.Errorf("callout did not forward authorization: %v", rep.HTTPCalls[0].Headers)
	}
	if v, _ := header(rep.Request.HeadersAfter, "x-auth-status"); v != "allowed" {
		t.Errorf("x-auth-status = %q, want allowed", v)
	}
	if !rep.Request.Delivered || rep.LocalReply != nil {
		t.Errorf("allowed request not passed on: delivered %v local reply %+v", rep.Request.Delivered, rep.LocalReply)
	}
	// The request was held while the call was out, then resumed from the
	// call's callback, which Envoy delivers on the root context.
	var seq []string
	for _, s := range rep.Steps[4:] {
		seq = append(seq, s.Call+"/"+s.Result)
	}
	want := "proxy_on_context_create/ proxy_on_request_headers/StopIteration proxy_on_http_call_response/ proxy_on_response_headers/Continue"
	if got := strings.Join(seq[:4], " "); got != want {
		t.Errorf("steps\n got %s\nwant %s", got, want)
	}
}

func TestCalloutDenied(t *testing.T) {
	rep := run(t, goModule(t, calloutWasm), Options{
		Envoy:         istio(t, "1.25"),
		PluginConfig:  []byte(calloutConf),
		CallResponses: map[string]CallAnswer{authCluster: {Status: 401, Body: "no"}},
	})
	requireNoFailure(t, rep)
	if rep.LocalReply == nil || rep.LocalReply.Status != 403 || rep.LocalReply.Details != "callout_denied" {
		t.Fatalf("local reply %+v, want 403 callout_denied", rep.LocalReply)
	}
	if rep.Request.Delivered {
		t.Error("denied request reached the upstream")
	}
	if v, _ := header(rep.Response.HeadersAfter, ":status"); v != "403" {
		t.Errorf("response :status %q, want 403 (the local reply runs through the response callbacks)", v)
	}
}

func TestCalloutUnknownCluster(t *testing.T) {
	rep := run(t, goModule(t, calloutWasm), Options{Envoy: istio(t, "1.25"), PluginConfig: []byte(calloutConf)})
	requireNoFailure(t, rep)
	if len(rep.HTTPCalls) != 1 || rep.HTTPCalls[0].Result != "BadArgument" {
		t.Fatalf("http calls %+v, want one BadArgument (Envoy has no such cluster)", rep.HTTPCalls)
	}
	if !strings.Contains(rep.HTTPCalls[0].Reason, authCluster) {
		t.Errorf("reason %q does not name the cluster", rep.HTTPCalls[0].Reason)
	}
	if rep.LocalReply == nil || rep.LocalReply.Status != 503 {
		t.Errorf("local reply %+v, want the filter's 503", rep.LocalReply)
	}
	if !hasLog(rep, "error", "callout-wasm: http call to "+authCluster+" failed: proxy-wasm host: bad argument") {
		t.Errorf("module's error log missing: %+v", rep.Logs)
	}
}

func TestTrapBacktraceHasGoNames(t *testing.T) {
	rep := run(t, goModule(t, panicWasm), Options{Envoy: istio(t, "1.31")})
	requireEnvoyLog(t, rep, "stream", "Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable")
	frames := strings.Join(rep.Failure.Backtrace, "\n")
	for _, want := range []string{"runtime.gopanic", "main.pickHeader", "main.stream.OnRequestHeaders", "proxy_on_request_headers"} {
		if !strings.Contains(frames, want) {
			t.Errorf("backtrace lacks %s:\n%s", want, frames)
		}
	}
	if !hasLog(rep, "error", "panic: runtime error: index out of range [1000] with length 4") {
		t.Errorf("Go's panic message not logged from stderr: %+v", rep.Logs)
	}
}

func TestRestrictedCallbackAtStartup(t *testing.T) {
	wasm := watModule(t, "restricted_initialize")
	rep := run(t, wasm, Options{Envoy: istio(t, "1.25")})
	requireEnvoyLog(t, rep, "start",
		"Function: _initialize failed: Uncaught Error: restricted_callback",
		"Wasm VM failed Failed to initialize Wasm code")
	if len(rep.Failure.Backtrace) == 0 || rep.Failure.Backtrace[0] != "plugin.setup" {
		t.Errorf("backtrace %v, want plugin.setup first", rep.Failure.Backtrace)
	}
	// Envoy 1.23 (Istio 1.15) predates restricted callbacks.
	requireNoFailure(t, run(t, wasm, Options{Envoy: istio(t, "1.15")}))
}

func TestCommandModuleProcExit(t *testing.T) {
	rep := run(t, watModule(t, "command_proc_exit"), Options{Envoy: istio(t, "1.31")})
	requireEnvoyLog(t, rep, "start", "Function: _start failed: Uncaught Error: restricted_callback", "Wasm VM failed Failed to initialize Wasm code")
	if got := strings.Join(rep.Failure.Backtrace, " "); !strings.HasPrefix(got, "runtime.exit runtime.main") {
		t.Errorf("backtrace %q, want runtime.exit runtime.main first", got)
	}
}

func TestABI010(t *testing.T) {
	rep := run(t, watModule(t, "abi010"), Options{Envoy: istio(t, "1.25"), PluginConfig: []byte("conf-0.1.0")})
	requireNoFailure(t, rep)
	if rep.Module.ABI != "0.1.0" {
		t.Errorf("ABI %q", rep.Module.ABI)
	}
	if v, _ := header(rep.Request.HeadersAfter, "x-abi"); v != "0.1.0" {
		t.Errorf("two-argument header callback did not add x-abi: %v", rep.Request.HeadersAfter)
	}
	if !hasLog(rep, "info", "conf-0.1.0") {
		t.Errorf("proxy_get_configuration did not deliver the plugin config: %+v", rep.Logs)
	}
	rep = run(t, watModule(t, "abi010_three_args"), Options{Envoy: istio(t, "1.25")})
	requireEnvoyLog(t, rep, "load",
		"Bad function signature for: proxy_on_request_headers, want: i32 i32 -> i32, but the module exports: i32 i32 i32 -> i32",
		"Wasm VM failed Failed to initialize Wasm code")
}

func TestLoadFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		wasm  func(t *testing.T) []byte
		lines []string
	}{
		{"no malloc", func(t *testing.T) []byte { return watModule(t, "no_malloc") },
			[]string{"Wasm VM failed Wasm module is missing malloc function.", "Wasm VM failed Failed to initialize Wasm code"}},
		{"unknown ABI", func(t *testing.T) []byte { return watModule(t, "no_abi") },
			[]string{"Wasm VM failed Missing or unknown Proxy-Wasm ABI version", "Wasm VM failed Failed to load Wasm code"}},
		{"import no Envoy has", func(t *testing.T) []byte { return watModule(t, "dispatch_import") },
			[]string{"Failed to load Wasm module due to a missing import: env.proxy_dispatch_http_call", "Wasm VM failed Failed to initialize Wasm code"}},
		{"import type mismatch", func(t *testing.T) []byte { return watModule(t, "import_mismatch") },
			[]string{"Failed to load Wasm module due to an import type mismatch: env.proxy_log, want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32"}},
		{"text", func(*testing.T) []byte { return []byte("(module)") },
			[]string{"Wasm VM failed Failed to parse corrupted Wasm module", "Wasm VM failed Failed to load Wasm code"}},
		{"truncated", func(t *testing.T) []byte { return goModule(t, headerWasm)[:4096] },
			[]string{"Wasm VM failed Failed to parse corrupted Wasm module"}},
		{"empty", func(*testing.T) []byte { return nil },
			[]string{"Wasm VM failed Failed to parse corrupted Wasm module"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireEnvoyLog(t, run(t, tc.wasm(t), Options{Envoy: istio(t, "1.25")}), "load", tc.lines...)
		})
	}
}

func TestEndlessLoopIsStopped(t *testing.T) {
	rep := run(t, watModule(t, "endless_loop"), Options{Envoy: istio(t, "1.25"), Timeout: time.Second})
	if rep.Failure == nil || !strings.Contains(rep.Failure.EnvoyLog[0], "proxy_on_request_headers did not return within 1s") {
		t.Fatalf("failure %+v, want the call stopped by the timeout", rep.Failure)
	}
}

func TestRootServices(t *testing.T) {
	rep := run(t, watModule(t, "services"), Options{Envoy: istio(t, "1.25"), Ticks: 3})
	requireNoFailure(t, rep)
	if rep.TickPeriodMs != 100 || rep.Ticks != 3 {
		t.Errorf("tick period %d ms, %d ticks; want 100 ms, 3", rep.TickPeriodMs, rep.Ticks)
	}
	if len(rep.Metrics) != 1 || rep.Metrics[0].Name != "ticks" || rep.Metrics[0].Type != "counter" || rep.Metrics[0].Value != 3 {
		t.Errorf("metrics %+v, want counter ticks = 3", rep.Metrics)
	}
	n := 0
	for _, l := range rep.Logs {
		switch l.Message {
		case "tick!": // dequeued in proxy_on_queue_ready
			n++
		case "cas-mismatch":
		default:
			t.Errorf("unexpected log %+v", l)
		}
	}
	if n != 3 || !hasLog(rep, "info", "cas-mismatch") {
		t.Errorf("queue deliveries %d (want 3) or missing CAS refusal: %+v", n, rep.Logs)
	}
}

func TestHugeModuleRefused(t *testing.T) {
	_, err := Run(context.Background(), make([]byte, MaxModuleBytes+1), Options{Envoy: istio(t, "1.25")})
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want a one-line refusal", err)
	}
}

func TestCompilerFillsCacheAndAutoUsesIt(t *testing.T) {
	wasm := watModule(t, "abi010")
	cache := t.TempDir()
	rep := run(t, wasm, Options{Envoy: istio(t, "1.25"), CacheDir: cache})
	if rep.Host.Engine != "interpreter" {
		t.Errorf("uncached module ran with %q, want the interpreter", rep.Host.Engine)
	}
	requireNoFailure(t, run(t, wasm, Options{Envoy: istio(t, "1.25"), CacheDir: cache, Engine: EngineCompiler}))
	rep = run(t, wasm, Options{Envoy: istio(t, "1.25"), CacheDir: cache})
	requireNoFailure(t, rep)
	if rep.Host.Engine != "compiler" || rep.Host.Cache != cache {
		t.Errorf("cached module ran with %q, want the compiler", rep.Host.Engine)
	}
	if v, _ := header(rep.Request.HeadersAfter, "x-abi"); v != "0.1.0" {
		t.Errorf("compiled run lost the header edit: %v", rep.Request.HeadersAfter)
	}
}

func TestEnginesAgreeOnTraps(t *testing.T) {
	for _, e := range []Engine{EngineInterpreter, EngineCompiler} {
		rep := run(t, watModule(t, "command_proc_exit"), Options{Envoy: istio(t, "1.31"), Engine: e})
		requireEnvoyLog(t, rep, "start", "Function: _start failed: Uncaught Error: restricted_callback")
		if len(rep.Failure.Backtrace) == 0 || rep.Failure.Backtrace[0] != "runtime.exit" {
			t.Errorf("engine %d: backtrace %v", e, rep.Failure.Backtrace)
		}
	}
}

func TestBodiesTrailersAndAPauseNeverResumed(t *testing.T) {
	rep := run(t, watModule(t, "bodies"), Options{
		Envoy:    istio(t, "1.25"),
		Request:  Exchange{Body: []byte("secret-data"), Trailers: []result.WasmHeader{{Name: "x-checksum", Value: "abc"}}},
		Response: Exchange{Body: []byte("hello")},
	})
	requireNoFailure(t, rep)
	if rep.Request.BodyAfter != "REDACTED-data" || !rep.Request.Delivered {
		t.Errorf("request body after %q (delivered %v), want REDACTED-data", rep.Request.BodyAfter, rep.Request.Delivered)
	}
	if !hasLog(rep, "info", "secret-data") {
		t.Errorf("body not read back: %+v", rep.Logs)
	}
	// The trailer was logged at debug, below the info logger level: recorded, hidden.
	found := false
	for _, l := range rep.Logs {
		found = found || l.Message == "abc" && l.Level == "debug" && !l.Shown
	}
	if !found {
		t.Errorf("trailer not logged as a hidden debug line: %+v", rep.Logs)
	}
	if rep.Response.Delivered {
		t.Error("response delivered although the body callback stopped it for good")
	}
	var bodyStep *result.WasmStep
	for i := range rep.Steps {
		if rep.Steps[i].Call == "proxy_on_response_body" {
			bodyStep = &rep.Steps[i]
		}
	}
	if bodyStep == nil || bodyStep.Result != "StopIterationAndBuffer" || !strings.Contains(bodyStep.Note, "never resumed") {
		t.Errorf("response body step %+v", bodyStep)
	}
	if last := rep.Steps[len(rep.Steps)-1]; last.Call != "proxy_on_delete" {
		t.Errorf("stream not finished with the end-of-stream callbacks: last step %+v", last)
	}
}

func TestVMConfigAndProperties(t *testing.T) {
	rep := run(t, watModule(t, "properties"), Options{
		Envoy:    istio(t, "1.25"),
		VMConfig: []byte("vm-settings"),
		RootID:   "my-root",
		Request:  Exchange{Headers: []result.WasmHeader{{Name: ":path", Value: "/items?x=1"}}},
	})
	requireNoFailure(t, rep)
	var got []string
	for _, l := range rep.Logs {
		got = append(got, l.Message)
	}
	want := "vm-settings|/items?x=1|my-root|property not found"
	if strings.Join(got, "|") != want {
		t.Errorf("logs %q, want %q", strings.Join(got, "|"), want)
	}
}

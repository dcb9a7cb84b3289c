package release

import "testing"

func TestHostImportsFollowEnvoyAndABI(t *testing.T) {
	v := func(s string) Version {
		t.Helper()
		x, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		envoy  string
		abi    ABI
		module string
		name   string
		want   bool
	}{
		{"1.32", ABI021, ModuleWASI, "sched_yield", false},
		{"1.33", ABI021, ModuleWASI, "sched_yield", true},
		{"1.33", ABI021, ModuleWASIUnstable, "poll_oneoff", true},
		{"1.38", ABI021, ModuleWASI, "path_filestat_get", false},
		{"1.39", ABI021, ModuleWASI, "path_filestat_get", true},
		{"1.20", ABI021, ModuleWASI, "path_open", false},
		{"1.21", ABI021, ModuleWASI, "path_open", true},
		{"1.40", ABI020, ModuleEnv, "proxy_get_log_level", false},
		{"1.40", ABI021, ModuleEnv, "proxy_get_log_level", true},
		{"1.40", ABI021, ModuleEnv, "proxy_continue_request", false},
		{"1.40", ABI010, ModuleEnv, "proxy_continue_request", true},
		{"1.40", ABI021, ModuleEnv, "proxy_dispatch_http_call", false},
		{"1.40", ABI021, ModuleWASI, "proc_raise", false},
		{"1.40", ABI021, "gojs", "runtime.wasmExit", false},
	}
	for _, c := range cases {
		_, got := Provides(v(c.envoy), c.abi, c.module, c.name)
		if got != c.want {
			t.Errorf("Provides(%s, %s, %s.%s) = %v, want %v", c.envoy, c.abi, c.module, c.name, got, c.want)
		}
		if _, inMap := HostImports(v(c.envoy), c.abi)[ImportKey{c.module, c.name}]; inMap != c.want {
			t.Errorf("HostImports(%s, %s) has %s.%s = %v, want %v", c.envoy, c.abi, c.module, c.name, inMap, c.want)
		}
	}
}

func TestHostSignaturesMatchHostsigs(t *testing.T) {
	cases := map[ImportKey]string{
		{ModuleWASI, "path_open"}:                      "(i32, i32, i32, i32, i32, i64, i64, i32, i32) -> (i32)",
		{ModuleWASI, "proc_exit"}:                      "(i32) -> ()",
		{ModuleWASI, "sched_yield"}:                    "() -> (i32)",
		{ModuleWASI, "fd_pread"}:                       "(i32, i32, i32, i64, i32) -> (i32)",
		{ModuleEnv, "proxy_increment_metric"}:          "(i32, i64) -> (i32)",
		{ModuleEnv, "proxy_http_call"}:                 "(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32) -> (i32)",
		{ModuleEnv, "emscripten_notify_memory_growth"}: "(i32) -> ()",
	}
	for k, want := range cases {
		f, ok := LookupHostFunction(k.Module, k.Name)
		if !ok {
			t.Errorf("%s missing from the host table", k)
			continue
		}
		if got := f.Sig.String(); got != want {
			t.Errorf("%s signature %s, want %s", k, got, want)
		}
	}
	if n := len(HostImports(Version{1, 39}, ABI021)); n != 2*45+39+2 {
		t.Errorf("Envoy 1.39 ABI 0.2.1 offers %d imports, want %d (45 WASI functions (exports.h list) under two names, 39 env.proxy_*, 2 others)", n, 2*45+39+2)
	}
}

func TestFirstEnvoyProvidingAndIstio(t *testing.T) {
	e, ok := FirstEnvoyProviding(ModuleWASI, "sched_yield")
	if !ok || e != (Version{1, 33}) {
		t.Fatalf("sched_yield first Envoy = %v %v, want 1.33", e, ok)
	}
	if i, ok := FirstIstioWithEnvoy(e); !ok || i.Version != (Version{1, 25}) {
		t.Fatalf("first Istio with Envoy 1.33 = %v, want 1.25", i.Version)
	}
	if _, ok := FirstEnvoyProviding(ModuleEnv, "proxy_dispatch_http_call"); ok {
		t.Fatal("proxy_dispatch_http_call is provided by no release")
	}
}

func TestExpectedExportDependsOnABI(t *testing.T) {
	s010, _ := ExpectedExport(ABI010, "proxy_on_request_headers")
	s021, _ := ExpectedExport(ABI021, "proxy_on_request_headers")
	if len(s010.Params) != 2 || len(s021.Params) != 3 {
		t.Fatalf("proxy_on_request_headers params: 0.1.0 %s, 0.2.1 %s", s010, s021)
	}
	if _, ok := ExpectedExport(ABI010, "proxy_on_foreign_function"); ok {
		t.Fatal("proxy_on_foreign_function is not looked up under 0.1.0")
	}
	if a, ok := ABIFromExport("proxy_abi_version_0_2_100"); ok {
		t.Fatalf("Higress marker recognised as %s", a)
	}
	if got := (Signature{Params: []ValType{I32, I32}, Results: []ValType{I32}}).EnvoyString(); got != "i32 i32 -> i32" {
		t.Fatalf("EnvoyString = %q", got)
	}
}

func TestAllowedAtStartup(t *testing.T) {
	cases := []struct {
		envoy        Version
		module, name string
		want         bool
	}{
		{Version{1, 23}, ModuleWASI, "proc_exit", true},
		{Version{1, 24}, ModuleWASI, "proc_exit", false},
		{Version{1, 40}, ModuleWASI, "proc_exit", false},
		{Version{1, 40}, ModuleWASI, "sched_yield", false},
		{Version{1, 32}, ModuleWASI, "fd_fdstat_get", false},
		{Version{1, 33}, ModuleWASIUnstable, "fd_fdstat_get", true},
		{Version{1, 38}, ModuleWASI, "poll_oneoff", false},
		{Version{1, 39}, ModuleWASI, "poll_oneoff", true},
		{Version{1, 40}, ModuleEnv, "proxy_log", true},
		{Version{1, 40}, ModuleEnv, "proxy_get_property", false},
	}
	for _, c := range cases {
		if got := AllowedAtStartup(c.envoy, c.module, c.name); got != c.want {
			t.Errorf("AllowedAtStartup(%s, %s.%s) = %v, want %v", c.envoy, c.module, c.name, got, c.want)
		}
	}
}

;; Imports that Istio 1.24 (Envoy 1.32) lacks, one no release has, and a
;; GOOS=js one. sched_yield comes first, as in Go's output.
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_dispatch_http_call" (func (param i32 i32) (result i32)))
  (import "gojs" "runtime.wasmExit" (func (param i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))

;; Shaped like a Go GOOS=wasip1 build without -buildmode=c-shared: exports
;; _start (entry _rt0_wasm_wasip1, named in the name section) and imports
;; proc_exit. Compiled with --debug-names so the fingerprint is present.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $_rt0_wasm_wasip1 (export "_start") i32.const 0 call $proc_exit)
  (func $marker (export "proxy_abi_version_0_2_1"))
  (func $alloc (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))

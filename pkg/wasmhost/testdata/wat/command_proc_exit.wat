;; A WASI command module (no _initialize) whose _start ends in proc_exit, as
;; Go or TinyGo builds without -buildmode=c-shared do.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func $runtime.exit (param $code i32) (call $proc_exit (local.get $code)))
  (func $runtime.main (call $runtime.exit (i32.const 0)))
  (func (export "_start") (call $runtime.main))
  (func (export "proxy_abi_version_0_2_1")))

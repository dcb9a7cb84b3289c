;; Shared memory and an atomic instruction (threads proposal), which wabin's
;; decoder rejects: the fallback decoder must still list imports and exports.
(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (memory (export "memory") 1 1 shared)
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    i32.const 0 i32.const 1 i32.atomic.rmw.add))

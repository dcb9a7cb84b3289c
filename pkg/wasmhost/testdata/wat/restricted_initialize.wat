;; A reactor whose start-up code asks for a tick period: V8 allows only
;; logging and a few WASI calls while _initialize runs.
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.add (local.get $n) (i32.const 8))))
    (local.get $p))
  (func $plugin.setup
    (drop (call $set_tick (i32.const 1000))))
  (func (export "_initialize") (call $plugin.setup))
  (func (export "proxy_abi_version_0_2_1")))

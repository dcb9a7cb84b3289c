;; An ABI 0.1.0 module: two-argument header callbacks, configuration via
;; proxy_get_configuration, and proxy_continue_request to resume.
(module
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_configuration" (func $get_config (param i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-abi")
  (data (i32.const 32) "0.1.0")
  (global $heap (mut i32) (i32.const 4096))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.add (local.get $n) (i32.const 8))))
    (local.get $p))
  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    ;; Log the configuration the host hands over (pointer at 64, size at 68).
    (drop (call $get_config (i32.const 64) (i32.const 68)))
    (drop (call $log (i32.const 2) (i32.load (i32.const 64)) (i32.load (i32.const 68))))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (result i32)
    (drop (call $add (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 32) (i32.const 5)))
    (i32.const 0))
  (func (export "proxy_abi_version_0_1_0")))

;; Rewrites :path to /v2 in the request headers. When the plugin
;; configuration is non-empty it then calls the clear_route_cache foreign
;; function, as Envoy 1.33 and later require for routing to follow.
(module
  (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_call_foreign_function" (func $foreign (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) ":path")
  (data (i32.const 32) "/v2")
  (data (i32.const 48) "clear_route_cache")
  ;; 64/68: pointer/size returned by the host; 72: configuration size
  (global $heap (mut i32) (i32.const 4096))
  (global $clear (mut i32) (i32.const 0))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.add (local.get $n) (i32.const 8))))
    (local.get $p))
  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    (global.set $clear (i32.gt_u (local.get $size) (i32.const 0)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $end i32) (result i32)
    (drop (call $replace (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 32) (i32.const 3)))
    (if (global.get $clear)
      (then (drop (call $foreign (i32.const 48) (i32.const 17) (i32.const 0) (i32.const 0) (i32.const 64) (i32.const 68)))))
    (i32.const 0))
  (func (export "proxy_on_delete") (param i32))
  (func (export "proxy_abi_version_0_2_1")))

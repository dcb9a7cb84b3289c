;; An ABI 0.2.1 reactor written for Envoy's network (TCP) Wasm filter: it
;; exports the connection callbacks only.
(module
  (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_new_connection") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_downstream_data") (param i32 i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_upstream_data") (param i32 i32 i32) (result i32) i32.const 0)
  (func (export "proxy_on_downstream_connection_close") (param i32 i32))
  (func (export "proxy_on_upstream_connection_close") (param i32 i32))
  (func (export "proxy_on_done") (param i32) (result i32) i32.const 1)
  (func (export "proxy_on_delete") (param i32)))

;; A module with HTTP callbacks but no proxy_abi_version_* export: Envoy
;; refuses it ("Missing or unknown Proxy-Wasm ABI version").
(module
  (memory (export "memory") 2)
  (func (export "_initialize"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0))

;; No proxy_abi_version_* marker: "Missing or unknown Proxy-Wasm ABI version".
(module
  (memory (export "memory") 1)
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) i32.const 0))

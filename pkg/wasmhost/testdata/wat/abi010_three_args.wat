;; Marked ABI 0.1.0 but exporting the 0.2.x header callback signature.
(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_1_0")))

;; Imports a host function from an old draft of the ABI that no Envoy registers.
(module
  (import "env" "proxy_dispatch_http_call" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1")))

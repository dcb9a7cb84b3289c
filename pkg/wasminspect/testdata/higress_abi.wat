;; The Higress fork's ABI marker, unknown to upstream Envoy.
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_100"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))

;; vNEXT's placeholder marker: no Envoy knows it.
(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_x_x")))

;; 20000 initial pages (about 1.2 GiB), over V8's 16384-page limit.
(module
  (memory (export "memory") 20000)
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))

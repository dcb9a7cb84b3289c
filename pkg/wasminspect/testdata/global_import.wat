;; A global import, as emscripten dynamic linking produces.
(module
  (import "env" "__stack_pointer" (global (mut i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))

;; ABI 0.2.0 module calling proxy_get_log_level, which exists only for 0.2.1,
;; and proxy_continue_request, which exists only for 0.1.0.
(module
  (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
  (import "env" "proxy_continue_request" (func (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))

;; A module that tries to exhaust the host (issue 11). proxy_on_vm_start
;; picks its attack by the size of the VM configuration:
;;   1  memory.grow(1) until refused, then loop forever
;;   2  a million 100-byte proxy_log lines
;;   3  one proxy_log of 1,000 MB (the memory starts at 16,000 pages)
;;   4  stdout writes of 1 MB without a newline, 100 times, then "end\n"
;;   5  shared data: 1 MB values under 100,000 different keys
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (data (i32.const 16) "end\n")
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param $ctx i32) (param $size i32) (result i32)
    (local $i i32)
    (if (i32.eq (local.get $size) (i32.const 1))
      (then
        (block $full
          (loop $grow
            (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $grow)))
        (loop $forever (br $forever))))
    (if (i32.eq (local.get $size) (i32.const 2))
      (then
        (loop $flood
          (drop (call $log (i32.const 2) (i32.const 4096) (i32.const 100)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $flood (i32.lt_u (local.get $i) (i32.const 1000000))))))
    (if (i32.eq (local.get $size) (i32.const 3))
      (then
        (drop (memory.grow (i32.const 16000)))
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 1048576000)))))
    (if (i32.eq (local.get $size) (i32.const 4))
      (then
        ;; iovec at 32: 1 MB from 65536
        (i32.store (i32.const 32) (i32.const 65536))
        (i32.store (i32.const 36) (i32.const 1048576))
        (loop $write
          (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $write (i32.lt_u (local.get $i) (i32.const 100))))
        (i32.store (i32.const 32) (i32.const 16))
        (i32.store (i32.const 36) (i32.const 4))
        (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48)))))
    (if (i32.eq (local.get $size) (i32.const 5))
      (then
        (loop $share
          (i32.store (i32.const 8) (local.get $i))
          (drop (call $set_shared (i32.const 8) (i32.const 4) (i32.const 65536) (i32.const 1048576) (i32.const 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $share (i32.lt_u (local.get $i) (i32.const 100000))))))
    (i32.const 1))
  (func (export "proxy_abi_version_0_2_1")))

;; A small proxy-wasm (ABI 0.2.1) HTTP filter for the check benchmark: it
;; copies x-request-id into x-mesh-trace on the request, stamps x-served-by
;; on the response, counts requests in a metric and logs at debug level when
;; Envoy's wasm logger allows it. Hand-written so the module stays a few KB
;; (a Go or Rust SDK build is hundreds of KB); `wat2wasm --debug-names`
;; builds it, and bench/check-vs-istioctl.sh does that before generating the
;; mesh. Only host functions every Istio release since 1.10 registers.
(module
  (type $i32x3_i32 (func (param i32 i32 i32) (result i32)))
  (type $i32x4_i32 (func (param i32 i32 i32 i32) (result i32)))
  (type $i32x5_i32 (func (param i32 i32 i32 i32 i32) (result i32)))

  (import "env" "proxy_log" (func $proxy_log (type $i32x3_i32)))
  (import "env" "proxy_get_log_level" (func $proxy_get_log_level (param i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (type $i32x5_i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (type $i32x5_i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (type $i32x5_i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (type $i32x5_i32)))
  (import "env" "proxy_get_property" (func $get_property (type $i32x4_i32)))
  (import "env" "proxy_define_metric" (func $define_metric (type $i32x4_i32)))
  (import "env" "proxy_increment_metric" (func $increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_send_local_response" (func $send_local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (type $i32x4_i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))

  (memory (export "memory") 2)

  ;; Heap starts past the static data; a bump allocator, as small SDKs use.
  (global $heap (mut i32) (i32.const 8192))
  (global $metric_requests (mut i32) (i32.const 0))
  (global $log_level (mut i32) (i32.const 3))
  (global $config_ptr (mut i32) (i32.const 0))
  (global $config_len (mut i32) (i32.const 0))

  ;; Header names, messages and the default configuration.
  (data (i32.const 1024) "x-request-id")          ;; 12
  (data (i32.const 1040) "x-mesh-trace")          ;; 12
  (data (i32.const 1056) "x-served-by")           ;; 11
  (data (i32.const 1072) "filterdoctor-bench")    ;; 18
  (data (i32.const 1096) "mesh_bench_requests_total") ;; 25
  (data (i32.const 1128) "request without x-request-id") ;; 28
  (data (i32.const 1160) "configured mesh filter") ;; 22
  (data (i32.const 1184) "vm started")            ;; 10
  (data (i32.const 1200) "request forbidden by mesh filter") ;; 32
  (data (i32.const 1240) "node.metadata.WORKLOAD_NAME") ;; 27
  (data (i32.const 1280) "bad configuration, using defaults\n") ;; 34
  (data (i32.const 2048)
    "{\"headers\":{\"request\":[{\"from\":\"x-request-id\",\"to\":\"x-mesh-trace\"}],"
    "\"response\":[{\"name\":\"x-served-by\",\"value\":\"filterdoctor-bench\"}]},"
    "\"deny\":{\"paths\":[\"/admin\",\"/debug/pprof\",\"/internal\"],\"status\":403},"
    "\"metrics\":{\"requests\":\"mesh_bench_requests_total\"},"
    "\"log\":{\"level\":\"debug\",\"sample\":0.01},"
    "\"notes\":\"Defaults used when the plugin configuration is empty. The filter copies the "
    "request id into a trace header so that downstream services can correlate their logs "
    "with the sidecar's access log, stamps the responding workload on every response, and "
    "counts requests per workload. Paths under deny are answered locally with the given status "
    "before they reach the application container. Sampling applies to debug logs only.\"}")

  ;; --- memory helpers ------------------------------------------------------
  (func $malloc (param $size i32) (result i32)
    (local $p i32) (local $need i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.set $need (i32.shr_u (i32.add (global.get $heap) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.lt_s (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const 0))
          (then (unreachable)))))
    (local.get $p))

  (func $memcpy (param $dst i32) (param $src i32) (param $n i32)
    (block $done
      (loop $copy
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $copy))))

  (func $memeq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $differ
      (loop $cmp
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $cmp)))
    (i32.const 0))

  ;; Decimal rendering of an unsigned value into a fresh buffer; returns the
  ;; pointer and leaves the length at ptr-4.
  (func $utoa (param $v i32) (result i32)
    (local $buf i32) (local $end i32) (local $p i32) (local $len i32)
    (local.set $buf (call $malloc (i32.const 16)))
    (local.set $end (i32.add (local.get $buf) (i32.const 16)))
    (local.set $p (local.get $end))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digit (local.get $v)))
    (local.set $len (i32.sub (local.get $end) (local.get $p)))
    (i32.store (i32.sub (local.get $p) (i32.const 4)) (local.get $len))
    (local.get $p))

  (func $log (param $level i32) (param $ptr i32) (param $len i32)
    (if (i32.ge_u (local.get $level) (global.get $log_level))
      (then (drop (call $proxy_log (local.get $level) (local.get $ptr) (local.get $len))))))

  ;; stderr fallback for messages before the host is ready.
  (func $eprint (param $ptr i32) (param $len i32)
    (local $iov i32)
    (local.set $iov (call $malloc (i32.const 12)))
    (i32.store (local.get $iov) (local.get $ptr))
    (i32.store offset=4 (local.get $iov) (local.get $len))
    (drop (call $fd_write (i32.const 2) (local.get $iov) (i32.const 1) (i32.add (local.get $iov) (i32.const 8)))))

  ;; --- proxy-wasm exports --------------------------------------------------
  (func (export "_initialize"))
  (func (export "proxy_abi_version_0_2_1"))

  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (call $malloc (local.get $size)))

  (func (export "proxy_on_context_create") (param $ctx i32) (param $parent i32))

  (func (export "proxy_on_vm_start") (param $ctx i32) (param $size i32) (result i32)
    (local $out i32)
    (local.set $out (call $malloc (i32.const 8)))
    (if (i32.eqz (call $proxy_get_log_level (local.get $out)))
      (then (global.set $log_level (i32.load (local.get $out)))))
    (call $log (i32.const 1) (i32.const 1184) (i32.const 10))
    (i32.const 1))

  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    (local $pp i32) (local $lp i32)
    (local.set $pp (call $malloc (i32.const 8)))
    (local.set $lp (i32.add (local.get $pp) (i32.const 4)))
    (if (i32.and (i32.gt_u (local.get $size) (i32.const 0))
                 (i32.eqz (call $get_buffer (i32.const 3) (i32.const 0) (local.get $size) (local.get $pp) (local.get $lp))))
      (then
        (global.set $config_ptr (i32.load (local.get $pp)))
        (global.set $config_len (i32.load (local.get $lp))))
      (else
        (global.set $config_ptr (i32.const 2048))
        (global.set $config_len (i32.const 600))))
    (if (i32.ne (i32.load8_u (global.get $config_ptr)) (i32.const 123))
      (then
        (call $eprint (i32.const 1280) (i32.const 34))
        (global.set $config_ptr (i32.const 2048))
        (global.set $config_len (i32.const 600))))
    (drop (call $define_metric (i32.const 0) (i32.const 1096) (i32.const 25) (i32.const 4096)))
    (global.set $metric_requests (i32.load (i32.const 4096)))
    (call $log (i32.const 2) (i32.const 1160) (i32.const 22))
    (i32.const 1))

  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (local $pp i32) (local $lp i32) (local $path i32) (local $plen i32)
    (drop (call $increment_metric (global.get $metric_requests) (i64.const 1)))
    (local.set $pp (call $malloc (i32.const 8)))
    (local.set $lp (i32.add (local.get $pp) (i32.const 4)))
    ;; :path under /admin is answered here.
    (i32.store (i32.const 4100) (i32.const 0x7461703a)) ;; ":pat"
    (i32.store8 (i32.const 4104) (i32.const 0x68))      ;; "h"
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 4100) (i32.const 5) (local.get $pp) (local.get $lp)))
      (then
        (local.set $path (i32.load (local.get $pp)))
        (local.set $plen (i32.load (local.get $lp)))
        (if (i32.and (i32.ge_u (local.get $plen) (i32.const 6))
                     (call $memeq (local.get $path) (i32.add (i32.const 2048) (i32.const 151)) (i32.const 6)))
          (then
            (drop (call $send_local_response (i32.const 403) (i32.const 1200) (i32.const 32)
              (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
            (return (i32.const 1))))))
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 1024) (i32.const 12) (local.get $pp) (local.get $lp)))
      (then
        (drop (call $replace_header (i32.const 0) (i32.const 1040) (i32.const 12)
          (i32.load (local.get $pp)) (i32.load (local.get $lp)))))
      (else
        (call $log (i32.const 1) (i32.const 1128) (i32.const 28))))
    (i32.const 0))

  (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    (local $pp i32) (local $lp i32) (local $num i32)
    (local.set $pp (call $malloc (i32.const 8)))
    (local.set $lp (i32.add (local.get $pp) (i32.const 4)))
    (if (i32.eqz (call $get_property (i32.const 1240) (i32.const 27) (local.get $pp) (local.get $lp)))
      (then
        (drop (call $add_header (i32.const 2) (i32.const 1056) (i32.const 11)
          (i32.load (local.get $pp)) (i32.load (local.get $lp)))))
      (else
        (drop (call $add_header (i32.const 2) (i32.const 1056) (i32.const 11) (i32.const 1072) (i32.const 18)))))
    (local.set $num (call $utoa (local.get $ctx)))
    (call $log (i32.const 0) (local.get $num) (i32.load (i32.sub (local.get $num) (i32.const 4))))
    (i32.const 0))

  (func (export "proxy_on_log") (param $ctx i32)
    (local $t i32)
    (local.set $t (call $malloc (i32.const 8)))
    (drop (call $clock_time_get (i32.const 0) (i64.const 1000) (local.get $t))))

  (func (export "proxy_on_done") (param $ctx i32) (result i32) (i32.const 1))
  (func (export "proxy_on_delete") (param $ctx i32))

  ;; Random sampling for debug logs; proc_exit only on a broken host.
  (func $sample (result i32)
    (local $r i32)
    (local.set $r (call $malloc (i32.const 4)))
    (if (call $random_get (local.get $r) (i32.const 4))
      (then (call $proc_exit (i32.const 70))))
    (i32.lt_u (i32.rem_u (i32.load (local.get $r)) (i32.const 100)) (i32.const 1)))
  (export "mesh_sample" (func $sample)))

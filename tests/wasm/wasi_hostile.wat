;; WASI calls a hostile module makes through tether-wasm's own
;; implementation (tests/wasm/cli.sh runs them):
;;   steal_stdout  gives the command's stdout another number
;;                 (fd_renumber), closes it under that number, then
;;                 opens a file: the file must not get the number of the
;;                 command's stdout, and the result must still be printed
;;   sleep_forever polls one relative clock of 2^64 - 1 ns, which must
;;                 sleep (until --timeout ends it), not wrap to the past
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber"
    (func $fd_renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "a.txt")
  (data (i32.const 32) "b.txt")

  ;; Opens NAME (at 16 or 32, 5 bytes) in the first mapped directory
  ;; (fd 3), creating it (oflags 9: creat|trunc), its fd stored at AT.
  (func $open (param $name i32) (param $at i32)
    (drop (call $path_open (i32.const 3) (i32.const 0) (local.get $name) (i32.const 5)
      (i32.const 9) (i64.const 0x7fffffff) (i64.const 0x7fffffff) (i32.const 0)
      (local.get $at))))

  (func $steal (param $stdio i32)
    (call $open (i32.const 16) (i32.const 100))
    (drop (call $fd_renumber (local.get $stdio) (i32.load (i32.const 100))))
    (drop (call $fd_close (i32.load (i32.const 100))))
    (call $open (i32.const 32) (i32.const 104)))

  (func (export "steal_stdout") (result i32)
    (call $steal (i32.const 1))
    (i32.const 42))

  (func (export "sleep_forever") (result i32)
    (i32.store8 (i32.const 8) (i32.const 0))   ;; subscription type: clock
    (i32.store (i32.const 16) (i32.const 1))   ;; clock id: monotonic
    (i64.store (i32.const 24) (i64.const -1))  ;; timeout: 2^64 - 1 ns
    (i32.store16 (i32.const 40) (i32.const 0)) ;; flags: relative
    (call $poll (i32.const 0) (i32.const 1000) (i32.const 1) (i32.const 2000))))

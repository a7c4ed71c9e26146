;; The module of bench/bench_wasm.c, run by tether's instances and by
;; wasm2c's own runtime alike: a no-op, the traps, a runaway recursion.
(module
  (memory (export "memory") 1)
  (func (export "nop") (result i32) (i32.const 7))
  (func (export "oob") (result i32) (i32.load (i32.const 70000)))
  (func (export "div0") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "unreach") (unreachable))
  (func $runaway (export "runaway") (call $runaway)))

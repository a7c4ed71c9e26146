;; The guest of tests/wasm/test_instance.c: one export per thing a guest
;; can do to its host (trap every way, call back, yield, run forever).
(module
  (import "env" "callback" (func $callback (param i32) (result i32)))
  (import "env" "yield" (func $yield (param i32) (result i32)))
  (import "env" "terminate" (func $terminate (param i32)))
  (import "env" "nested_trap" (func $nested_trap))
  (import "env" "blocking" (func $blocking))

  (type $i_i (func (param i32) (result i32)))
  (type $v_v (func))

  (memory (export "memory") 1 4)
  (data (i32.const 0) "tether")
  (global $counter (export "counter") (mut i32) (i32.const 1))

  (table 4 funcref)
  (elem (i32.const 0) $double $nop)

  (func $nop (export "nop"))
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))

  ;; Memory and globals, to see what a reset restores.
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))

  ;; Traps, each the real thing.
  (func (export "oob_load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "oob_store") (param i32) (i32.store offset=8 (local.get 0) (i32.const 1)))
  (func (export "oob_fill") (memory.fill (i32.const 65000) (i32.const 7) (i32.const 1000)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "unreachable") (unreachable))
  (func $runaway (export "runaway") (param i32) (result i32)
    (i32.add (call $runaway (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "call_indirect") (param i32 i32) (result i32)
    (call_indirect (type $i_i) (local.get 1) (local.get 0)))
  (func (export "table_get") (param i32) (result i32)
    (drop (table.get 0 (local.get 0))) (i32.const 0))
  (func (export "forever") (loop $l (br $l)))

  ;; Host functions: a callback into the guest, a yield, a termination, a
  ;; host function under which a nested guest call traps.
  (func (export "via_host") (param i32) (result i32)
    (i32.add (call $callback (local.get 0)) (i32.const 1000)))
  (func (export "via_yield") (param i32) (result i32)
    (i32.add (call $yield (local.get 0)) (i32.const 1)))
  (func (export "via_terminate") (call $terminate (i32.const 9)))
  (func (export "via_nested_trap") (call $nested_trap))
  ;; An interrupt while a host function runs waits for it, then lands.
  (func (export "via_blocking") (call $blocking) (loop $l (br $l)))
)

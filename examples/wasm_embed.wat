;; The guest of examples/wasm_embed.c.
(module
  ;; The host squares x by calling back into this module's square.
  (import "host" "square_via_guest" (func $square_via_guest (param i32) (result i32)))
  ;; The host answers later: the instance is suspended meanwhile.
  (import "host" "fetch" (func $fetch (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))

  (func $square (export "square") (param i32) (result i32)
    (i32.mul (local.get 0) (local.get 0)))
  (func (export "sum_of_squares") (param i32 i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (call $square_via_guest (local.get 0)) (call $square_via_guest (local.get 1))))
  (func (export "fetch_and_add") (param i32) (result i32)
    (i32.add (call $fetch (local.get 0)) (i32.const 1000)))
  (func (export "calls") (result i32) (global.get $calls))

  ;; Ways to die.
  (func (export "out_of_bounds") (result i32) (i32.load (i32.const 0x10000)))
  (func (export "divide") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))
  (func (export "unreachable") (unreachable))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (local.get 0)) (i32.const 1)))
  (func (export "spin") (loop $forever (br $forever))))

;; A module importing what tether-wasm does not provide.
(module
  (import "env" "foo" (func (param i32)))
  (func (export "f")))

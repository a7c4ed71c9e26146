;; --max-memory against the module's own memory: 4 pages to start with.
(module
  (memory 4)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))

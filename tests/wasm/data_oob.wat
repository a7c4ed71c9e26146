;; Instantiation fails: a data segment runs past the end of memory.
(module
  (memory 1)
  (data (i32.const 65530) "0123456789"))

;; Instantiation fails: the start function traps.
(module
  (memory 1)
  (func $start (unreachable))
  (start $start))

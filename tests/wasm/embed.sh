#!/bin/sh
# examples/wasm_embed runs to the end and reports each step as it went:
# a callback through the host, a yielded call finished later, each trap,
# and a reset instance as new.
set -u
out=$("${top_builddir:-.}"/examples/wasm_embed) || { echo "FAIL: wasm_embed exited $?"; exit 1; }
fail=0
expect() {
    if printf '%s\n' "$out" | grep -q -- "$1"; then
        echo "ok: $1"
    else
        echo "FAIL: no line matching: $1"
        fail=1
    fi
}
expect '^sum_of_squares  *-> 25$'
expect '^fetch_and_add  *-> yielded, the guest asks for key 7$'
expect '^resumed with 42  *-> 1042$'
expect '^out_of_bounds  *-> trap: out of bounds memory access$'
expect '^divide  *-> trap: integer divide by zero$'
expect '^unreachable  *-> trap: unreachable$'
expect '^recurse  *-> trap: call stack exhausted$'
expect '^spin  *-> trap: interrupt: time limit exceeded$'
expect '^calls  *-> 1$'
expect '^calls  *-> 0$'
expect '^sum_of_squares  *-> 169$'
expect '^the host survived them all$'
[ "$fail" = 0 ] || { printf '%s\n' "$out"; exit 1; }

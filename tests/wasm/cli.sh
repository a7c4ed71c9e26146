#!/bin/sh
# tether-wasm's command line, as a user or a spec-test runner sees it:
# exact values in and out, every trap's message and exit code 2, usage
# and load errors with a message and exit code 1, time and memory
# limits, compiled modules, and the compile cache.
set -u
tw=${top_builddir:-.}/tools/tether-wasm/tether-wasm
src=${top_srcdir:-.}/tests/wasm
wat2wasm=${WAT2WASM:-wat2wasm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
WASM_SPEC_CACHE_DIR=$work/cache
export WASM_SPEC_CACHE_DIR
fails=0

for m in cli imports_foo cli_limits wasi_hostile; do
    "$wat2wasm" "$src/$m.wat" -o "$work/$m.wasm" || { echo "FAIL: wat2wasm $m"; exit 1; }
done
cli=$work/cli.wasm

# t EXIT 'STDOUT' ARG...: runs tether-wasm ARG..., checks exit code and stdout.
t() {
    want_code=$1 want_out=$2
    shift 2
    out=$("$tw" "$@" 2>"$work/err")
    code=$?
    if [ "$code" = "$want_code" ] && [ "$out" = "$want_out" ]; then
        echo "ok   $*"
    else
        echo "FAIL $*"
        echo "     exit $code, want $want_code"
        echo "$out" | sed 's/^/     stdout: /'
        echo "$want_out" | sed 's/^/     want:   /'
        sed 's/^/     stderr: /' "$work/err"
        fails=$((fails + 1))
    fi
}

# e 'MESSAGE' ARG...: a usage or load error: exit 1, MESSAGE on stderr.
e() {
    want=$1
    shift
    "$tw" "$@" >"$work/out" 2>"$work/err"
    code=$?
    if [ "$code" = 1 ] && grep -qF -- "$want" "$work/err"; then
        echo "ok   $* -> $(head -n1 "$work/err")"
    else
        echo "FAIL $*"
        echo "     exit $code, want 1 and stderr with: $want"
        sed 's/^/     stderr: /' "$work/err"
        fails=$((fails + 1))
    fi
}

echo "--- values"
t 0 'i32:5' run "$cli" --invoke id_i32 i32:5
t 0 'i32:-1' run "$cli" --invoke id_i32 i32:4294967295
t 0 'i32:-2147483648' run "$cli" --invoke id_i32 i32:0x80000000
t 0 'i64:-1' run "$cli" --invoke id_i64 i64:-1
t 0 'i64:9223372036854775807' run "$cli" --invoke id_i64 i64:0x7fffffffffffffff
# decimal with a leading zero is still decimal, never octal
t 0 'i32:10' run "$cli" --invoke id_i32 i32:010
t 0 'i32:9' run "$cli" --invoke id_i32 i32:09
t 0 'i64:777' run "$cli" --invoke id_i64 i64:0777
t 0 'i32:-8' run "$cli" --invoke id_i32 i32:-08
t 0 'f32:1.5' run "$cli" --invoke id_f32 f32:1.5
t 0 'f32:0.1' run "$cli" --invoke id_f32 f32:0.1
t 0 'f32:3.4028235e+38' run "$cli" --invoke id_f32 f32:0x1.fffffep127
t 0 'f32:1e-45' run "$cli" --invoke id_f32 f32:1e-45
t 0 'f32:-0' run "$cli" --invoke id_f32 f32:-0
t 0 'f32:-inf' run "$cli" --invoke id_f32 f32:-inf
t 0 'f32:nan' run "$cli" --invoke id_f32 f32:nan
t 0 'f32:-nan' run "$cli" --invoke id_f32 f32:-nan
t 0 'f32:nan:0x1' run "$cli" --invoke id_f32 f32:nan:0x1
t 0 'f64:0.25' run "$cli" --invoke id_f64 f64:0.25
t 0 'f64:0.1' run "$cli" --invoke id_f64 f64:0.1
t 0 'f64:0.30000000000000004' run "$cli" --invoke id_f64 f64:0x1.3333333333334p-2
t 0 'f64:5e-324' run "$cli" --invoke id_f64 f64:4.9406564584124654e-324
t 0 'f64:inf' run "$cli" --invoke id_f64 f64:inf
t 0 'f64:-nan:0x4000000000001' run "$cli" --invoke id_f64 f64:-nan:0x4000000000001
t 0 'f64:-0' run "$cli" --invoke id_f64 f64:-0
t 0 "$(printf 'f64:2.5\nf32:-1\ni64:7\ni32:3')" run "$cli" --invoke multi i32:3 i64:7 f32:-1 f64:2.5
t 0 '' run "$cli" --invoke none
t 0 'i32:666' run "$cli" --invoke global

echo "--- host functions"
t 0 "$(printf 'i32:7\ni32:7 f32:0.5\nf64:-0 f64:inf')" run "$cli" --invoke print i32:7
t 2 'trap: abort' run "$cli" --invoke abort
grep -qF 'env.abort(i32:1, i32:2, i32:3, i32:4)' "$work/err" || {
    echo "FAIL env.abort's arguments on stderr"; fails=$((fails + 1)); }

echo "--- traps"
t 2 'trap: out of bounds memory access' run "$cli" --invoke oob i32:65533
t 2 'trap: out of bounds memory access' run "$cli" --invoke oob i32:-1
t 2 'trap: out of bounds table access' run "$cli" --invoke table_oob
t 2 'trap: integer divide by zero' run "$cli" --invoke div_s i32:1 i32:0
t 2 'trap: integer overflow' run "$cli" --invoke div_s i32:-2147483648 i32:-1
t 2 'trap: invalid conversion to integer' run "$cli" --invoke trunc f64:nan
t 2 'trap: integer overflow' run "$cli" --invoke trunc f64:-1
t 2 'trap: unreachable' run "$cli" --invoke unreachable
t 2 'trap: call stack exhausted' run "$cli" --invoke runaway
t 2 'trap: call stack exhausted' run --stack-size 64K "$cli" --invoke runaway
t 0 'i32:42' run "$cli" --invoke indirect i32:0
t 2 'trap: indirect call type mismatch' run "$cli" --invoke indirect i32:1
t 2 'trap: uninitialized element' run "$cli" --invoke indirect i32:2
t 2 'trap: undefined element' run "$cli" --invoke indirect i32:3
t 2 'trap: interrupt: time limit exceeded' run --timeout 100 "$cli" --invoke forever
t 0 'i32:1' run "$cli" --invoke grow i32:1
t 0 'i32:-1' run "$cli" --invoke grow i32:2
t 0 'i32:4' run --max-memory 5 "$work/cli_limits.wasm" --invoke grow i32:1
t 0 'i32:-1' run --max-memory 4 "$work/cli_limits.wasm" --invoke grow i32:1
t 2 'trap: memory size exceeds the limit' run --max-memory 2 "$work/cli_limits.wasm" --invoke grow i32:0

echo "--- a hostile module's WASI calls"
hostile=$work/wasi_hostile.wasm
mkdir -p "$work/d"
t 0 'i32:42' run --dir "$work/d::d" "$hostile" --invoke steal_stdout
[ ! -s "$work/d/b.txt" ] || {
    echo "FAIL the result went into the guest's file, not the command's stdout"
    fails=$((fails + 1))
}
start=$(date +%s)
t 2 'trap: interrupt: time limit exceeded' run --timeout 1000 "$hostile" --invoke sleep_forever
[ $(($(date +%s) - start)) -ge 1 ] || {
    echo "FAIL a poll of 2^64 - 1 ns returned before the time limit"
    fails=$((fails + 1))
}

echo "--- usage and load errors"
e 'usage: tether-wasm run'
e 'unknown command' frobnicate
e 'no MODULE given' run
e 'unknown option --frob' run --frob "$cli"
e '--timeout takes a number' run --timeout soon "$cli" --invoke none
e '--max-memory takes 1 to 65535 pages' run --max-memory 70000 "$cli" --invoke none
e '--stack-size must be 16384 to 1073741824 bytes' run --stack-size 100 "$cli" --invoke none
e '--invoke needs a value' run "$cli" --invoke
e "has no function export called 'nosuch'" run "$cli" --invoke nosuch
e "'id_i32' takes 1 argument (i32), not 0" run "$cli" --invoke id_i32
e "'id_i32' takes 1 argument (i32), not 2" run "$cli" --invoke id_i32 i32:1 i32:2
e "argument 1: 'i64:5' is not of type i32" run "$cli" --invoke id_i32 i64:5
e "argument 1: 'i32:4294967296' is not a valid i32 value" run "$cli" --invoke id_i32 i32:4294967296
e "argument 1: 'i32:five' is not a valid i32 value" run "$cli" --invoke id_i32 i32:five
e "argument 1: 'i32:0x0x5' is not a valid i32 value" run "$cli" --invoke id_i32 i32:0x0x5
e "argument 1: 'i32:0x' is not a valid i32 value" run "$cli" --invoke id_i32 i32:0x
e "argument 1: 'f32:1.5x' is not a valid f32 value" run "$cli" --invoke id_f32 f32:1.5x
e "argument 1: 'f32:nan:0x800000' is not a valid f32 value" run "$cli" --invoke id_f32 f32:nan:0x800000
e "types tether-wasm cannot pass" run "$cli" --invoke refs
e 'cannot read' run "$work/missing.wasm" --invoke f
printf 'hello' >"$work/text.wasm"
e 'not a WebAssembly binary' run "$work/text.wasm" --invoke f
printf '\000asm\001\000\000\000\001\377' >"$work/broken.wasm"
e 'wasm2c failed' run "$work/broken.wasm" --invoke f
e 'function import env.foo (i -> ) is not provided by the host' \
    run "$work/imports_foo.wasm" --invoke f
e 'has no _start function' run "$cli"

echo "--- compiled modules and the cache"
ls "$work/cache"/*.so >"$work/cached" 2>/dev/null
n=$(wc -l <"$work/cached")
[ "$n" -ge 1 ] || { echo "FAIL nothing in the cache"; fails=$((fails + 1)); }
before=$(ls -i "$work/cache"/*.so)
t 0 'i32:1' run "$cli" --invoke id_i32 i32:1
[ "$(ls -i "$work/cache"/*.so)" = "$before" ] || {
    echo "FAIL a cached module was compiled again"; fails=$((fails + 1)); }
ls -A "$work/cache" | grep -v '\.so$' && {
    echo "FAIL scratch files left in the cache"; fails=$((fails + 1)); }
t 0 'i32:2' run --cache-dir "$work/other" "$cli" --invoke id_i32 i32:2
[ "$(ls "$work/other"/*.so | wc -l)" = 1 ] || {
    echo "FAIL --cache-dir not used"; fails=$((fails + 1)); }
t 0 '' compile "$cli" -o "$work/cli.so"
t 0 'i32:-7' run "$work/cli.so" --invoke id_i32 i32:-7
t 2 'trap: integer divide by zero' run "$work/cli.so" --invoke div_s i32:1 i32:0
t 0 '' translate "$cli" -o "$work/cli_c.c"
grep -q 'Z_cli_tether_module' "$work/cli_c.h" || {
    echo "FAIL translate's header lacks the module"; fails=$((fails + 1)); }
grep -q 'tether_wasm_trap(TW_TRAP_' "$work/cli_c.c" || {
    echo "FAIL translate did not replace the trap macros"; fails=$((fails + 1)); }
# Two translated modules importing the same names link into one program.
t 0 '' translate "$cli" -o "$work/one.c" --name one
t 0 '' translate "$cli" -o "$work/two.c" --name two
printf '#include "one.h"\n#include "two.h"\nint main(void) { return Z_one_tether_module.nimports != Z_two_tether_module.nimports; }\n' >"$work/both.c"
if ${CC:-cc} -I"${top_srcdir:-.}/include" -I"$work" -c "$work/both.c" -o "$work/both.o" &&
   ${CC:-cc} -I"${top_srcdir:-.}/include" -c "$work/one.c" -o "$work/one.o" &&
   ${CC:-cc} -I"${top_srcdir:-.}/include" -c "$work/two.c" -o "$work/two.o" &&
   ${CC:-cc} -r -nostdlib "$work/both.o" "$work/one.o" "$work/two.o" -o "$work/all.o"; then
    echo "ok   two translated modules with the same imports link together"
else
    echo "FAIL two translated modules do not link together"; fails=$((fails + 1))
fi
e 'compile needs MODULE.wasm and -o OUT' compile "$cli"
e "cannot write $work/nowhere/x.c.log" translate "$cli" -o "$work/nowhere/x.c"
TETHER_WASM2C=$work/no-wasm2c e "cannot run $work/no-wasm2c" translate "$cli" -o "$work/x.c"
"$tw" --help | grep -q 'wasi_snapshot_preview1' || { echo "FAIL --help"; fails=$((fails + 1)); }
"$tw" --version | grep -q '^tether-wasm ' || { echo "FAIL --version"; fails=$((fails + 1)); }

if [ "$fails" -ne 0 ]; then
    echo "$fails failed"
    exit 1
fi
echo "PASS"

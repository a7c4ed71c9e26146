#!/bin/sh
# gdb sees fibers (tools/gdb/tether-gdb.py): `info fibers` lists each fiber
# of tests/gdb_fibers_target in its state, `fiber bt` shows the frames of
# a suspended, a faulted and a terminated one, `fiber fault` the record;
# the same in the live process, and in a core file of it (gcore; and one
# the kernel wrote, where core files land in the current directory).
set -u
# LeakSanitizer cannot work under ptrace: the programs gdb runs skip the
# leak check at their exit (make check runs them without gdb too).
case ${SANITIZE_FLAGS:-} in
*address*) ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; export ASAN_OPTIONS ;;
esac
bin=${top_builddir:-.}/tests/gdb_fibers_target
script=${top_srcdir:-.}/tools/gdb/tether-gdb.py
GDB=${GDB:-$(command -v gdb)}
if [ -z "$GDB" ] || [ ! -x "$GDB" ]; then
    echo "SKIP: gdb is not installed"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
gdb_run() {
    "$GDB" -nx -batch -ex 'set debuginfod enabled off' -ex 'set pagination off' \
        -ex 'handle SIGSEGV nostop noprint pass' -ex 'handle SIGURG nostop noprint pass' \
        -ex "source $script" "$@" 2>&1
}
expect() {
    if printf '%s\n' "$out" | grep -qE -- "$2"; then
        echo "ok ($1): $2"
    else
        echo "FAIL ($1): no line matching: $2"
        fail=1
    fi
}
# In order: the fiber's own frames, innermost first, down to its bottom.
# (With link-time optimisation gdb may print tether__x as tether.x.)
expect_frames() {
    got=$(printf '%s\n' "$out" | sed -n "/^== $2\$/,/^==/p" | grep -E '^#' |
        sed -E 's/^#[0-9]+ +0x[0-9a-f]+ in ([^ ]+).*/\1/; s/^tether\./tether__/' |
        tr '\n' ' ' | sed 's/ $//')
    # Under a sanitizer every switch out is the slow one (fiber_switch.c),
    # whose frames stay above the guest's: the rest must be as expected.
    if [ -n "${SANITIZE_FLAGS:-}" ]; then
        slow=$(printf '%s\n' "$got" | sed -E 's/^((tether__switch_out_slow|tether__yield_slow|tether_yield) )+//')
        [ "$slow" = "$got" ] || echo "note: fiber bt $2 begins with the slow switch's frames"
        got=$slow
    fi
    if [ "$got" = "$3" ]; then
        echo "ok ($1): fiber bt $2: $got"
    else
        echo "FAIL ($1): fiber bt $2: expected '$3', got '$got'"
        fail=1
    fi
}
check() {
    what=$1
    expect "$what" '^1 +0x[0-9a-f]+ +idle +ready +noop +-$'
    expect "$what" '^2 +0x[0-9a-f]+ +worker +yielded +yielder +yield_deep at .*gdb_fibers_target\.c'
    expect "$what" '^3 +0x[0-9a-f]+ +crasher +faulted +faulter +fault_here at .*gdb_fibers_target\.c'
    expect "$what" '^4 +0x[0-9a-f]+ +quitter +terminated +terminator +terminate_here at .*gdb_fibers_target\.c'
    expect "$what" '^5 +0x[0-9a-f]+ +busy +running +spinner +running on LWP [0-9]+$'
    expect_frames "$what" yielded "yield_deep yield_deep yield_deep yielder tether__fiber_trampoline"
    expect_frames "$what" faulted "fault_here faulter tether__fiber_trampoline"
    expect_frames "$what" terminated "tether_terminate terminate_here terminator tether__fiber_trampoline"
    expect "$what" '^segmentation fault: SIGSEGV \(SEGV_MAPERR\) at address 0x0$'
    expect "$what" '^fiber 1 is ready: it has no frames$'
}
# The commands, in a gdb script: list, then each fiber's frames.
cat > "$tmp/show" <<'GDB'
info fibers
echo == yielded\n
fiber bt yielded
echo == faulted\n
fiber bt faulted
echo == terminated\n
fiber bt terminated
echo ==\n
fiber fault faulted
fiber bt ready
GDB
printf 'break all_in_place\nrun\n' > "$tmp/stop"

# The live process, stopped with every fiber in place; then its gcore.
if [ -n "${SANITIZE_FLAGS:-}" ]; then
    out=$(gdb_run -x "$tmp/stop" -x "$tmp/show" -ex kill "$bin")
else
    out=$(gdb_run -x "$tmp/stop" -x "$tmp/show" -ex "gcore $tmp/gcore" -ex kill "$bin")
fi
echo "$out"
check live
if [ -z "${SANITIZE_FLAGS:-}" ] && ! [ -s "$tmp/gcore" ]; then
    echo "FAIL: gcore wrote no core file"
    fail=1
fi
# Under a sanitizer, no cores: its shadow memory makes them terabytes.
if [ -n "${SANITIZE_FLAGS:-}" ]; then
    echo "note: built with $SANITIZE_FLAGS: core files are not checked"
    exit $fail
fi
# gcore loses the megabyte around each guard marker: a second run with
# the guards in mappings of their own makes the core it reads.
rm -f "$tmp/gcore"
GUARD_MPROTECT=1 gdb_run -x "$tmp/stop" -ex "gcore $tmp/gcore" -ex kill "$bin" >/dev/null
out=$(gdb_run -x "$tmp/show" "$bin" "$tmp/gcore")
echo "$out"
check gcore

# A core the kernel writes, if it writes it here (core_pattern "core...").
case $(cat /proc/sys/kernel/core_pattern 2>/dev/null) in
core*)
    abs_bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
    (cd "$tmp" && ulimit -c unlimited && "$abs_bin" abort) >/dev/null 2>&1
    core=$(ls "$tmp"/core* 2>/dev/null | grep -v gcore | head -1)
    if [ -n "$core" ]; then
        out=$(gdb_run -x "$tmp/show" "$bin" "$core")
        echo "$out"
        check "kernel core"
    else
        echo "note: the kernel wrote no core file here (ulimit?): not checked"
    fi
    ;;
*)
    echo "note: core_pattern sends core files elsewhere: the kernel's core is not checked"
    ;;
esac
exit $fail

#!/bin/sh
# With a breakpoint inside a guest, gdb's `bt` must show the guest frames,
# then the host frame that called tether_fiber_resume (which tail-calls
# the switch, so it may or may not be shown itself), down to main.
set -u
# LeakSanitizer cannot work under ptrace: the programs gdb runs skip the
# leak check at their exit (make check runs them without gdb too).
case ${SANITIZE_FLAGS:-} in
*address*) ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; export ASAN_OPTIONS ;;
esac
bin=${top_builddir:-.}/tests/gdb_target
GDB=${GDB:-$(command -v gdb)}
if [ -z "$GDB" ] || [ ! -x "$GDB" ]; then
    echo "SKIP: gdb is not installed"
    exit 77
fi
out=$("$GDB" -nx -batch \
    -ex 'set debuginfod enabled off' \
    -ex 'break guest_leaf' -ex run -ex bt -ex continue "$bin" 2>&1)
echo "$out"
fail=0
# Frame lines in order: the guest, the fiber's bottom frame (gdb prints a
# frame marked as a signal frame as "<signal handler called>"), the host.
# The guest's entry function is called by the bottom frame itself.
frames=$(echo "$out" | grep -E '^#[0-9]+ ' | sed -E 's/^#[0-9]+ +(0x[0-9a-f]+ in )?//; s/^<signal handler called>/BOTTOM/; s/ .*//')
expect="guest_leaf guest_middle guest_entry BOTTOM run_guest main"
got=$(echo "$frames" | grep -E "^($(echo "$expect" | tr ' ' '|'))$" | tr '\n' ' ' | sed 's/ $//')
if [ "$got" != "$expect" ]; then
    echo "FAIL: expected frames in order: $expect"
    echo "      got: $got"
    fail=1
fi
if echo "$out" | grep -qE 'corrupt stack|Backtrace stopped'; then
    echo "FAIL: gdb stopped the backtrace early"
    fail=1
fi
if ! echo "$out" | grep -q 'exited normally'; then
    echo "FAIL: the program did not finish normally after the breakpoint"
    fail=1
fi
exit $fail

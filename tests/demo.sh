#!/bin/sh
# The demos run to the end (exit 0) and report each dying guest, or each
# failing plugin call, as it died: the right end state, fault kind,
# signal and faulting function.
set -u
b=${top_builddir:-.}
out=$("$b"/examples/host_demo) || { echo "FAIL: host_demo exited $?"; exit 1; }
fail=0
expect() {
    if printf '%s\n' "$out" | grep -q -- "$1"; then
        echo "ok: $1"
    else
        echo "FAIL: no line matching: $1"
        fail=1
    fi
}
# Under ASan a guest's overflow may come in one of the runtime's functions
# that instrumented code calls (its fake stack, with
# detect_stack_use_after_return, where the frame's pushes land first):
# the report names that one, in ASan's library, instead of the guest's.
asan_or() {
    case ${SANITIZE_FLAGS:-} in
    *address*) echo "\\($1\\|[^ ]* (.*libasan\\)" ;;
    *) echo "$1" ;;
    esac
}
expect '^round 6: fiber 3 returned 15$'
expect '^null dereference  *FAULTED  *segmentation fault: SIGSEGV (SEGV_MAPERR) at address (nil)$'
expect '^  #0  0x[0-9a-f]* null_deref+'
expect '^stack overflow  *FAULTED  *stack overflow: SIGSEGV'
expect "^  #0  0x[0-9a-f]* $(asan_or 'recurse+')"
expect '^divide by zero  *FAULTED  *arithmetic exception: SIGFPE (FPE_INTDIV)'
expect '^illegal instruction  *FAULTED  *illegal instruction: SIGILL (ILL_ILLOPN)'
expect '^host terminates  *TERMINATED quota exceeded$'
expect '^runaway loop  *TERMINATED deadline exceeded$'
expect '^the host survived them all$'

# The C++ demo: every dead guest's mutex, file and memory come back.
out=$("$b"/examples/raii_demo) || { echo "FAIL: raii_demo exited $?"; fail=1; }
for g in 'null dereference' 'divide by zero' 'stack overflow' 'terminated by host' \
         'runaway, deadline' 'uncaught exception' 'killed while yielded'; do
    expect "^$g .*mutex released, files open 0, bytes held 0: all released\$"
done
expect '^every resource of every dead guest was released$'

# The plugin host: each buggy plugin function fails its call, both ways,
# with its report, and the good ones keep working.
out=$("$b"/examples/plugin_host) || { echo "FAIL: plugin_host exited $?"; fail=1; }
# dig's overflow too (its fake stack, its thread lookup, its TLS interceptor).
dig=$(asan_or 'dig+')
for how in stack fiber; do
    expect "^$how  *plugin_null_deref  *failed: segmentation fault: SIGSEGV (SEGV_MAPERR) at address (nil); #0 .* plugin_null_deref+"
    expect "^$how  *plugin_overflow  *failed: stack overflow: SIGSEGV .* $dig"
    expect "^$how  *plugin_divide  *failed: arithmetic exception: SIGFPE (FPE_INTDIV) .* plugin_divide+"
    expect "^$how  *plugin_read_stale  *failed: segmentation fault: SIGSEGV (SEGV_ACCERR) .* plugin_read_stale+"
    expect "^$how  *plugin_sum  *returned 5050$"
done
expect '^served 6 calls, 8 failed, and the host is still here$'
exit $fail

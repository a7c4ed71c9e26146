#!/bin/sh
# make check-valgrind runs each test program through this script (the
# harness's LOG_COMPILER): under valgrind's memcheck, where any error
# and any definite leak fails it. A program valgrind cannot run is
# skipped (status 77), with the reason.
set -u
prog=$1
skip() {
    echo "SKIP under valgrind: $*"
    exit 77
}
case $prog in
*/test_fault | */test_chain | */test_hostile | */test_kill | */test_call | */test_unwind | \
*/test_seq | */test_seq_macro | */test_seq_macro_O0 | */test_seq_macro_O3 | */test_probe)
    # Faults, kills and sequence fixups, all stopped or redirected from
    # a signal handler. valgrind emulates the delivery: its si_code and
    # si_addr for SIGILL and SIGFPE are not the kernel's, the handler's
    # changes to the saved signal mask and floating-point control are
    # not applied, a SIGFPE fixup is not resumed, and after a fiber's
    # stop memcheck takes registers restored from the rewritten context
    # as uninitialised. The soaks run past the harness's time there too.
    skip "faults, kills and fixups from signal handlers: valgrind's emulated signal delivery differs (si_code, si_addr, the context's signal mask and FP control)" ;;
*/static_constructor)
    # memcheck replaces malloc through a preloaded library: a fully
    # static program keeps its own, whose workings it then reports.
    skip "a fully static program: memcheck cannot replace its malloc" ;;
*/wasm/test_instance | */wasm/test_rt)
    # A wasm instance reserves its memory with guard regions of several
    # gigabytes; valgrind's address space manager refuses them.
    skip "tether_wasm_pool_create cannot reserve an instance's guard regions under valgrind" ;;
esac
# Check's per-test timeouts are for native speed; valgrind is 20-50x slower.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-30}
export CK_TIMEOUT_MULTIPLIER
exec "${VALGRIND:-valgrind}" -q --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --suppressions="${top_srcdir:-.}/tests/valgrind.supp" "$@"

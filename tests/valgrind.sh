#!/bin/sh
# make check-valgrind runs each test program through this script (the
# harness's LOG_COMPILER): under valgrind's memcheck, where any error
# and any definite leak fails it. A program valgrind cannot run is
# skipped (status 77), with the reason; a test case valgrind makes
# untrue is skipped inside its program, which says why (vg_skip in
# testlib.h).
set -u
prog=$1
skip() {
    echo "SKIP under valgrind: $*"
    exit 77
}
case $prog in
*/test_seq | */test_seq_macro | */test_seq_macro_O0 | */test_seq_macro_O3 | */test_probe)
    # Sequences and probes resume the interrupted code at another pc, or
    # read through PROT_NONE and unmapped memory on purpose: under
    # valgrind a fixup is not resumed (test_seq's from_assembly dies of
    # its SIGSEGV, test_seq_macro does not finish), and memcheck reports
    # each probe's read.
    skip "sequence fixups and probes: valgrind does not resume them, memcheck reports each probe's read" ;;
*/static_constructor)
    # memcheck replaces malloc through a preloaded library: a fully
    # static program keeps its own, whose workings it then reports.
    skip "a fully static program: memcheck cannot replace its malloc" ;;
esac
# The pc valgrind gives a fault's signal context is the faulting
# instruction's only when it neither chases calls into their callers'
# translations nor defers register updates: otherwise test_call's fault
# handlers see their caller's pc for a fault in the tiny chain_load, and
# test_chain's host bug (a guest calls segv_here, host code) is taken for
# a guest's fault at a pc in the guest's code. These two programs check
# where a fault was, so they get the kernel's pc (at some cost in speed).
extra=
case $prog in
*/test_call | */test_chain)
    extra="--vex-guest-chase=no --vex-iropt-register-updates=allregs-at-mem-access" ;;
esac
# Check's per-test timeouts are for native speed; valgrind is 20-50x slower.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-30}
export CK_TIMEOUT_MULTIPLIER
exec "${VALGRIND:-valgrind}" -q --error-exitcode=99 $extra \
    --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --suppressions="${top_srcdir:-.}/tests/valgrind.supp" "$@"

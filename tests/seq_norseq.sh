#!/bin/sh
# The PREEMPT tests again with glibc's rseq registration turned off
# (GLIBC_TUNABLES=glibc.pthread.rseq=0): the query must say so, and the
# sequences must run unprotected, once. Then the INTERRUPT and FAULT
# tests, which must not depend on rseq.
set -u
prog=${top_builddir:-.}/tests/test_seq
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
GLIBC_TUNABLES=glibc.pthread.rseq=0 TETHER_TEST_EXPECT_NO_RSEQ=1 CK_RUN_CASE=rseq "$prog" || exit 1
GLIBC_TUNABLES=glibc.pthread.rseq=0 CK_RUN_CASE=tables "$prog" || exit 1

#!/bin/sh
# make check-valgrind runs each test program through this script (the
# harness's LOG_COMPILER): under valgrind's memcheck, where any error
# and any definite leak fails it. A program valgrind cannot run is
# skipped (status 77), with the reason.
set -u
prog=$1
case $(basename "$prog") in
# (none yet)
*) ;;
esac
# Check's per-test timeouts are for native speed; valgrind is 20-50x slower.
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-30}
export CK_TIMEOUT_MULTIPLIER
exec "${VALGRIND:-valgrind}" -q --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --suppressions="${top_srcdir:-.}/tests/valgrind.supp" "$@"

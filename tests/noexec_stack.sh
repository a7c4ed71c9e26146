#!/bin/sh
# The library and every test and example binary ask for a non-executable
# stack (every .S file carries .note.GNU-stack; one missing note would
# make the linker mark the whole process's stack executable).
set -u
b=${top_builddir:-.}
READELF=${READELF:-readelf}
fail=0
n=0
for f in "$b"/.libs/libtether.so "$b"/tests/test_* "$b"/tests/gdb_target "$b"/examples/*; do
    [ -f "$f" ] && [ -x "$f" ] || continue
    case $f in *.sh|*.log|*.trs|*.c|*.cpp|*.o) continue ;; esac
    "$READELF" -h "$f" >/dev/null 2>&1 || continue
    n=$((n + 1))
    line=$("$READELF" -lW "$f" | grep GNU_STACK)
    case $line in
        *RWE*) echo "FAIL: $f has an executable stack: $line"; fail=1 ;;
        *RW*) echo "ok: $f" ;;
        *) echo "FAIL: $f has no GNU_STACK header"; fail=1 ;;
    esac
done
[ "$n" -gt 0 ] || { echo "FAIL: no binaries found"; exit 1; }
exit $fail

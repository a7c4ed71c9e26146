#!/bin/sh
# examples/probe_peek reads good and bad memory and says how far each
# read got, without crashing.
set -u
out=$("${top_builddir:-.}"/examples/probe_peek) || { echo "FAIL: probe_peek exited $?"; exit 1; }
printf '%s\n' "$out"
fail=0
for line in '^a string .*: 13 of 13 bytes \[68 65 6c 6c 6f' \
            '^NULL .*: 0 of 8 bytes, then SIGSEGV at (nil)$' \
            '^across a missing page .*: 5 of 16 bytes \[ab ab ab ab ab\], then SIGSEGV at 0x' \
            '^a freed mapping .*: 0 of 16 bytes, then SIGSEGV at 0x' \
            '^still running$'; do
    printf '%s\n' "$out" | grep -q -- "$line" || { echo "FAIL: no line matching: $line"; fail=1; }
done
out=$("${top_builddir:-.}"/examples/probe_peek 8 4) || { echo "FAIL: probe_peek 8 4 exited $?"; exit 1; }
printf '%s\n' "$out" | grep -q '^address .*0x8: 0 of 4 bytes, then SIGSEGV at 0x8$' ||
    { echo "FAIL: probe_peek 8 4: $out"; fail=1; }
exit $fail

#!/bin/sh
# libtether-wasm exports exactly what include/tether/wasm.h declares with
# TETHER_API (all tether_wasm_*) and the functions of wabt's wasm-rt.h it
# implements (all wasm_rt_*, every one that header declares), nothing else.
set -u
lib=${top_builddir:-.}/.libs/libtether-wasm.so
src=${top_srcdir:-.}
NM=${NM:-nm}  # may carry flags (libtool sets "nm -B"): used unquoted
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
[ -n "${WASM_RT_H:-}" ] && [ -f "$WASM_RT_H" ] || { echo "FAIL: wasm-rt.h not found"; exit 1; }
# Global definitions only (uppercase types), as tests/exported_symbols.sh:
# a link-time optimiser may leave a local symbol in the dynamic table.
exported=$($NM -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ {print $3}' | sort -u)
ours=$(grep -v '^#' "$src/include/tether/wasm.h" | tr '\n' ' ' |
    grep -oE 'TETHER_API[^;(]*\(' | sed -E 's/\($//; s/.*[ *]//' | sort -u)
# wasm-rt.h's functions: its declarations once comments and macros are gone.
theirs=$(${CC:-cc} -E -P -x c "$WASM_RT_H" | tr '\n' ' ' |
    grep -oE 'wasm_rt_[a-z_0-9]+ *\(' | sed -E 's/ *\($//' | sort -u)
declared=$(printf '%s\n%s\n' "$ours" "$theirs" | sort -u)
echo "exported:"; echo "$exported" | sed 's/^/  /'
if [ -z "$ours" ] || [ -z "$theirs" ]; then
    echo "FAIL: no declarations found"; exit 1
fi
if [ "$exported" != "$declared" ]; then
    echo "FAIL: exports differ from the headers' declarations"
    echo "declared:"; echo "$declared" | sed 's/^/  /'
    exit 1
fi
for s in $ours; do
    case $s in tether_wasm_*) ;; *) echo "FAIL: $s lacks the tether_wasm_ prefix"; exit 1 ;; esac
done
echo "PASS: $(echo "$ours" | wc -l) tether_wasm_ and $(echo "$theirs" | wc -l) wasm_rt_ symbols"

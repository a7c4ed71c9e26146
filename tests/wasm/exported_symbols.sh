#!/bin/sh
# libtether-wasm exports exactly what include/tether/wasm.h declares with
# TETHER_API (all tether_wasm_*) and the functions of wabt's wasm-rt.h it
# implements (all wasm_rt_*, every one that header declares), nothing
# else; each carries the version node src/wasm/libtether-wasm.map gives it.
set -u
lib=${top_builddir:-.}/.libs/libtether-wasm.so
src=${top_srcdir:-.}
map=$src/src/wasm/libtether-wasm.map
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
[ -n "${WASM_RT_H:-}" ] && [ -f "$WASM_RT_H" ] || { echo "FAIL: wasm-rt.h not found"; exit 1; }
exports=$(sh "$src/tests/dynsyms.sh" "$lib") || { echo "FAIL: readelf"; exit 1; }
mapped=$(sh "$src/tests/dynsyms.sh" --map "$map") || { echo "FAIL: $map"; exit 1; }
ours=$(grep -v '^#' "$src/include/tether/wasm.h" | tr '\n' ' ' |
    grep -oE 'TETHER_API[^;(]*\(' | sed -E 's/\($//; s/.*[ *]//' | sort -u)
# wasm-rt.h's functions: its declarations once comments and macros are gone.
theirs=$(${CC:-cc} -E -P -x c "$WASM_RT_H" | tr '\n' ' ' |
    grep -oE 'wasm_rt_[a-z_0-9]+ *\(' | sed -E 's/ *\($//' | sort -u)
declared=$(printf '%s\n%s\n' "$ours" "$theirs" | sort -u)
echo "exported:"; echo "$exports" | sed 's/^/  /'
if [ -z "$ours" ] || [ -z "$theirs" ]; then
    echo "FAIL: no declarations found"; exit 1
fi
fails=0
. "$src/tests/symbols_check.sh"
check_symbols src/wasm/libtether-wasm.map
for s in $ours; do
    case $s in tether_wasm_*) ;; *) echo "FAIL: $s lacks the tether_wasm_ prefix"; fails=$((fails + 1)) ;; esac
done
[ "$fails" -eq 0 ] || exit 1
echo "PASS: $(echo "$ours" | wc -l) tether_wasm_ and $(echo "$theirs" | wc -l) wasm_rt_ symbols," \
     "each with its version ($(echo "$exports" | sed -n 's/^nodes: //p'))"

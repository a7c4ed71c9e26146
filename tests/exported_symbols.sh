#!/bin/sh
# The shared library exports exactly the functions and data the public
# headers declare with TETHER_API, and nothing else (not the bounds the linker
# defines for the library's sections, __start_tether_thread_hooks and
# the like); each carries the version node src/libtether.map gives it.
set -u
lib=${top_builddir:-.}/.libs/libtether.so
src=${top_srcdir:-.}
map=$src/src/libtether.map
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
exports=$(sh "$src/tests/dynsyms.sh" "$lib") || { echo "FAIL: readelf"; exit 1; }
mapped=$(sh "$src/tests/dynsyms.sh" --map "$map") || { echo "FAIL: $map"; exit 1; }
exported=$(echo "$exports" | grep -v '^nodes:' | cut -d' ' -f1)
# include/tether/wasm.h is libtether-wasm's (tests/wasm/exported_symbols.sh).
# Functions (TETHER_API ... name(...)) and data (TETHER_API extern ... name;).
headers=$(cat "$src"/include/tether.h $(ls "$src"/include/tether/*.h | grep -v '/wasm\.h$') |
    grep -v '^#' | tr '\n' ' ')
declared=$( { echo "$headers" | grep -oE 'TETHER_API[^;(]*\(' | sed -E 's/\($//; s/.*[ *]//'
              echo "$headers" | grep -oE 'TETHER_API extern [^;(]*;' | sed -E 's/;$//; s/.*[ *]//'
            } | sort -u)
echo "exported:"; echo "$exports" | sed 's/^/  /'
if [ -z "$declared" ]; then echo "FAIL: no TETHER_API declarations found"; exit 1; fi
fails=0
. "$src/tests/symbols_check.sh"
check_symbols src/libtether.map
for s in $exported; do
    case $s in tether_*) ;; *) echo "FAIL: $s lacks the tether_ prefix"; fails=$((fails + 1)) ;; esac
done
[ "$fails" -eq 0 ] || exit 1
echo "PASS: $(echo "$exported" | wc -l) symbols, all declared, each with its version ($(echo "$exports" | sed -n 's/^nodes: //p'))"

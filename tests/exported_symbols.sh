#!/bin/sh
# The shared library exports exactly the functions and data the public
# headers declare with TETHER_API, and nothing else.
set -u
lib=${top_builddir:-.}/.libs/libtether.so
src=${top_srcdir:-.}
NM=${NM:-nm}  # may carry flags (libtool sets "nm -B"): used unquoted
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
# Global definitions only (uppercase types): a link-time optimiser may
# leave a local symbol in the dynamic table.
exported=$($NM -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ {print $3}' | sort -u)
# include/tether/wasm.h is libtether-wasm's (tests/wasm/exported_symbols.sh).
# Functions (TETHER_API ... name(...)) and data (TETHER_API extern ... name;).
headers=$(cat "$src"/include/tether.h $(ls "$src"/include/tether/*.h | grep -v '/wasm\.h$') |
    grep -v '^#' | tr '\n' ' ')
declared=$( { echo "$headers" | grep -oE 'TETHER_API[^;(]*\(' | sed -E 's/\($//; s/.*[ *]//'
              echo "$headers" | grep -oE 'TETHER_API extern [^;(]*;' | sed -E 's/;$//; s/.*[ *]//'
            } | sort -u)
echo "exported:"; echo "$exported" | sed 's/^/  /'
if [ -z "$declared" ]; then echo "FAIL: no TETHER_API declarations found"; exit 1; fi
if [ "$exported" != "$declared" ]; then
    echo "FAIL: exports differ from the headers' declarations"
    echo "declared:"; echo "$declared" | sed 's/^/  /'
    exit 1
fi
for s in $exported; do
    case $s in tether_*) ;; *) echo "FAIL: $s lacks the tether_ prefix"; exit 1 ;; esac
done
echo "PASS: $(echo "$exported" | wc -l) symbols, all declared"

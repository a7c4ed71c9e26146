#!/bin/sh
# Every function a public header declares with TETHER_API has a manual
# page: its name in some page's NAME section (so `man NAME` finds it,
# through the link make install makes) and its prototype in that page's
# SYNOPSIS. And the pages name no function the headers do not declare,
# and refer (.Xr) only to tether pages that exist.
set -u
src=${top_srcdir:-.}
pages=$(ls "$src"/man/*.3 2>/dev/null)
[ -n "$pages" ] || { echo "FAIL: no pages in $src/man"; exit 1; }
declared=$(cat "$src"/include/tether.h "$src"/include/tether/*.h | grep -v '^#' |
    tr '\n' ' ' | grep -oE 'TETHER_API[^;(]*\(' | sed -E 's/\($//; s/.*[ *]//' | sort -u)
[ -n "$declared" ] || { echo "FAIL: no TETHER_API declarations found"; exit 1; }
fails=0
for f in $declared; do
    # The page whose NAME section names f, and f's prototype in its SYNOPSIS.
    page=$(for p in $pages; do
        sed -n '/^\.Sh NAME/,/^\.Sh /p' "$p" | grep -qE "^\.Nm $f( |$)" && echo "$p"
    done | head -n 1)
    if [ -z "$page" ]; then
        echo "FAIL: $f is in no page's NAME section (man/*.3)"
        fails=$((fails + 1))
    elif ! sed -n '/^\.Sh SYNOPSIS/,/^\.Sh /p' "$page" | grep -qE "^\.F[no] $f( |$)"; then
        echo "FAIL: $f is named by $(basename "$page") but not in its SYNOPSIS"
        fails=$((fails + 1))
    fi
done
# Names in NAME sections that are neither a page nor a declared function.
for p in $pages; do
    base=$(basename "$p" .3)
    for n in $(sed -n '/^\.Sh NAME/,/^\.Sh /s/^\.Nm \([A-Za-z_0-9]*\).*/\1/p' "$p"); do
        [ "$n" = "$base" ] && continue
        echo "$declared" | grep -qx "$n" ||
            { echo "FAIL: $base.3 names $n, which no header declares"; fails=$((fails + 1)); }
    done
    for x in $(sed -n 's/^\.Xr \(tether[a-z_]*\) 3.*/\1/p' "$p"); do
        [ -f "$src/man/$x.3" ] ||
            { echo "FAIL: $base.3 refers to $x(3), which is no page"; fails=$((fails + 1)); }
    done
done
[ "$fails" -eq 0 ] || exit 1
echo "PASS: $(echo "$declared" | wc -l) functions, each named and in a SYNOPSIS," \
     "in $(echo "$pages" | wc -l) pages"

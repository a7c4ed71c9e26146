#!/bin/sh
# The manual pages are valid mdoc: mandoc -T lint finds no warning nor
# error in them (style remarks are not failures), or, without mandoc,
# groff's mdoc checks print nothing. Skipped (77) when neither is
# installed. Each page's .Dt names its file.
set -u
src=${top_srcdir:-.}
pages=$(ls "$src"/man/*.3 2>/dev/null)
[ -n "$pages" ] || { echo "FAIL: no pages in $src/man"; exit 1; }
if command -v mandoc >/dev/null 2>&1; then
    tool=mandoc
elif command -v groff >/dev/null 2>&1; then
    tool=groff
else
    echo "SKIP: neither mandoc nor groff is installed"
    exit 77
fi
fails=0
for p in $pages; do
    base=$(basename "$p" .3)
    if [ $tool = mandoc ]; then
        out=$(mandoc -T lint -W warning "$p" 2>&1)
    else
        out=$(groff -mdoc -ww -z "$p" 2>&1)
    fi
    if [ -n "$out" ]; then
        echo "FAIL: $tool on $base.3:"; echo "$out" | sed 's/^/  /'
        fails=$((fails + 1))
    fi
    dt=$(sed -n 's/^\.Dt \([^ ]*\) 3$/\1/p' "$p")
    if [ "$dt" != "$(echo "$base" | tr a-z A-Z)" ]; then
        echo "FAIL: $base.3 has .Dt '$dt'"; fails=$((fails + 1))
    fi
done
[ "$fails" -eq 0 ] || exit 1
echo "PASS: $(echo "$pages" | wc -l) pages, checked with $tool"

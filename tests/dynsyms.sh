#!/bin/sh
# Usage: dynsyms.sh LIB.so
#        dynsyms.sh --map VERSION-SCRIPT
# Prints what a shared library exports, or what a linker version script
# says it should, in one form, one symbol a line, sorted:
#   NAME NODE    NAME with NODE as its default version (NAME@@NODE)
#   NAME @NODE   NAME with NODE, not as its default (NAME@NODE)
#   NAME -       NAME with no version at all
# then a line "nodes: ..." with the version nodes defined. The two are
# equal when the library exports exactly the script's names, each with
# its node. From a library: readelf's dynamic symbol table (defined
# global, weak and unique symbols), without the entries that only name
# its own version nodes. From a script (as src/*.map are written: C
# comments on lines of their own, one name a line): the names listed
# under each node's "global:".
# Used by tests/exported_symbols.sh and tests/wasm/exported_symbols.sh.
set -eu
READELF=${READELF:-readelf}
if [ "$1" = --map ]; then
    table=$(sed '/\/\*/,/\*\//d' "$2" | awk '
        /^[A-Za-z_][A-Za-z0-9_.]*[ \t]*\{/ { node = $1; g = 0; print "node", node; next }
        /global:/ { g = 1; next }
        /local:/ || /^\}/ { g = 0; next }
        g && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*;/ { gsub(/[ \t;]/, ""); print $0, node }')
    echo "$table" | grep -v '^node ' | sort -u
    echo "nodes:" $(echo "$table" | sed -n 's/^node //p' | sort -u)
    exit 0
fi
lib=$1
nodes=$($READELF -V -W "$lib" | awk '
    /^Version definition section/ { d = 1; next }
    /^Version (needs|symbols) section/ { d = 0 }
    d && /Name:/ && !/Flags: BASE/ { print $NF }' | sort -u)
$READELF --dyn-syms -W "$lib" | awk -v nodes="$(echo $nodes)" '
    BEGIN { n = split(nodes, a, " "); for (i = 1; i <= n; i++) node[a[i]] = 1 }
    $1 ~ /^[0-9]+:$/ && $7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK" || $5 == "UNIQUE") {
        name = $8; ver = "-"
        if ((i = index(name, "@@")) > 0) { ver = substr(name, i + 2); name = substr(name, 1, i - 1) }
        else if ((i = index(name, "@")) > 0) { ver = substr(name, i); name = substr(name, 1, i - 1) }
        if ($7 == "ABS" && (name in node)) next
        print name, ver
    }' | sort -u
echo "nodes:" $nodes

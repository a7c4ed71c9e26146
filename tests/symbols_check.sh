# Sourced by tests/exported_symbols.sh and tests/wasm/exported_symbols.sh:
# compares what a library exports with what its headers declare and what
# its linker version script lists. Before calling check_symbols MAP, set
#   exports   dynsyms.sh's listing of the library (name node, and nodes:)
#   mapped    dynsyms.sh --map's listing of the version script MAP
#   declared  the names the headers declare, sorted, one a line
# It prints a FAIL line per difference and adds their number to $fails.
check_symbols() {
    map=$1
    exported=$(echo "$exports" | grep -v '^nodes:' | cut -d' ' -f1)
    listed=$(echo "$mapped" | grep -v '^nodes:' | cut -d' ' -f1)
    for s in $(echo "$declared" | grep -vxF "$listed"); do
        echo "FAIL: $s is declared but not listed in $map" \
             "(add it to the node of the coming release)"
        fails=$((fails + 1))
    done
    for s in $(echo "$listed" | grep -vxF "$declared"); do
        echo "FAIL: $map lists $s, which no header declares"
        fails=$((fails + 1))
    done
    if [ "$exported" != "$declared" ]; then
        echo "FAIL: exports differ from the headers' declarations"
        echo "declared:"; echo "$declared" | sed 's/^/  /'
        fails=$((fails + 1))
    fi
    if [ "$exports" != "$mapped" ]; then
        echo "FAIL: exports or their versions differ from $map:"
        t=$(mktemp) && printf '%s\n' "$mapped" > "$t" &&
            printf '%s\n' "$exports" | diff "$t" - | sed 's/^/  /'
        rm -f "$t"
        fails=$((fails + 1))
    fi
}

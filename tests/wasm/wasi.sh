#!/bin/sh
# WASI programs: tests/wasm/wasi_probe.c, an ordinary C program, built
# for wasm32-wasi with clang and wasi-libc now, run by tether-wasm: its
# output, arguments, environment, stdin, exit codes, clocks, files in a
# mapped directory, every way out of that directory refused, traps.
set -u
if [ "${WASI_CC_OK:-yes}" != yes ]; then
    echo "SKIP: clang cannot build wasm32-wasi programs here; tools/quickstart"
    echo "      installs what it needs (clang lld wasi-libc libclang-rt-dev-wasm32)"
    exit 77
fi
tw=${top_builddir:-.}/tools/tether-wasm/tether-wasm
src=${top_srcdir:-.}/tests/wasm
clang=${CLANG:-clang}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
WASM_SPEC_CACHE_DIR=$work/cache
export WASM_SPEC_CACHE_DIR
fails=0

"$clang" --target=wasm32-wasi --sysroot="${WASI_SYSROOT:-/usr}" -O2 \
    "$src/wasi_probe.c" -o "$work/probe.wasm" || { echo "FAIL: clang"; exit 1; }
probe=$work/probe.wasm

# t EXIT 'STDOUT' [STDERR-SUBSTRING] -- ARG...
t() {
    want_code=$1 want_out=$2 want_err=$3
    shift 4
    out=$("$tw" "$@" 2>"$work/err" </dev/null)
    code=$?
    if [ "$code" = "$want_code" ] && [ "$out" = "$want_out" ] &&
       { [ -z "$want_err" ] || grep -qF -- "$want_err" "$work/err"; }; then
        echo "ok   $*"
    else
        echo "FAIL $*"
        echo "     exit $code, want $want_code"
        echo "$out" | sed 's/^/     stdout: /'
        echo "$want_out" | sed 's/^/     want:   /'
        sed 's/^/     stderr: /' "$work/err"
        [ -z "$want_err" ] || echo "     want on stderr: $want_err"
        fails=$((fails + 1))
    fi
}
lines() { printf '%s\n' "$@"; }

echo "--- a program's life"
t 0 'hello from wasm32-wasi' '' -- run "$probe"
t 0 "$(lines 'argc=4' 'argv[1]=args' 'argv[2]=a' 'argv[3]=b c')" '' -- run "$probe" args a 'b c'
t 0 "$(lines 'argc=3' 'argv[1]=args' 'argv[2]=--dir')" '' -- run "$probe" -- args --dir
t 7 '' '' -- run "$probe" exit 7
t 3 'before exit' '' -- run "$probe" exit-call 3
t 0 "$(lines 'GREETING=hi there' 'HOME=(unset)')" '' -- run --env 'GREETING=hi there' "$probe" env
out=$(echo 'shout this' | "$tw" run "$probe" upper 2>"$work/err")
if [ "$out" = 'SHOUT THIS' ] && grep -q 'to stderr' "$work/err"; then
    echo "ok   stdin to stdout, stderr"
else
    echo "FAIL stdin: '$out'"; fails=$((fails + 1))
fi
t 0 "$(lines 'monotonic ok' 'realtime after 2020: yes' 'random: ok' 'slept')" '' -- run "$probe" clocks

echo "--- traps end the program, exit 2, message on stderr"
t 2 '' 'trap: out of bounds memory access' -- run "$probe" oob
t 2 '' 'trap: call stack exhausted' -- run "$probe" recurse
t 2 '' 'trap: unreachable' -- run "$probe" abort
t 2 '' 'trap: interrupt: time limit exceeded' -- run --timeout 200 "$probe" spin
t 2 '' 'trap: interrupt: time limit exceeded' -- run --timeout 200 "$probe" sleep
t 64 '' 'unknown command nope' -- run "$probe" nope

echo "--- files under a mapped directory, and nothing else"
mkdir -p "$work/fs/data/sub"
echo 'the input' >"$work/fs/data/input.txt"
echo 'TOP SECRET' >"$work/fs/secret.txt"
ln -s ../secret.txt "$work/fs/data/link"
t 0 "$(lines 'open /data/input.txt: the input' 'size 10, regular 1' \
    'open /data/made/out.txt: written by the guest' 'entry renamed.txt' '1 entries')" '' \
    -- run --dir "$work/fs/data::/data" "$probe" files /data
[ ! -e "$work/fs/data/made" ] || { echo "FAIL the guest's directory is left"; fails=$((fails + 1)); }
t 0 "$(lines 'open /data/../secret.txt: refused (Capabilities insufficient)' \
    'open /data/sub/../../secret.txt: refused (Capabilities insufficient)' \
    'open /data/link: refused (Capabilities insufficient)' \
    'open /etc/passwd: refused (Capabilities insufficient)' \
    'mkdir ../outside: refused (Capabilities insufficient)')" '' \
    -- run --dir "$work/fs/data::/data" "$probe" escape /data
[ ! -e "$work/fs/outside" ] && [ ! -e "$work/outside" ] ||
    { echo "FAIL something was made outside"; fails=$((fails + 1)); }
t 0 "open $work/fs/data/input.txt: refused (Capabilities insufficient)" '' \
    -- run "$probe" cat "$work/fs/data/input.txt"
t 1 '' "--dir $work/nowhere: No such file or directory" -- run --dir "$work/nowhere" "$probe"
t 1 '' "write HOST or HOST::GUEST" -- run --dir "::/x" "$probe"

if [ "$fails" -ne 0 ]; then
    echo "$fails failed"
    exit 1
fi
echo "PASS"

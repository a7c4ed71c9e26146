#!/bin/sh
# Runs bench_wasm (tether's instances) and bench_wasm_w2c (wasm2c's own
# runtime) one after the other and prints each figure side by side, with
# the ratio and the goal of issue 11. Figures vary from day to day on a
# virtual machine: only ratios measured in one run mean anything.
set -eu
dir=${1:-$(dirname "$0")}  # where the programs are
tw=${2:-tether-wasm}
ours=$("$dir/bench_wasm")
theirs=$("$dir/bench_wasm_w2c")
get() { echo "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
row() { # label, our key, their key, goal (a ratio, or - for none)
    o=$(get "$ours" "$2"); t=$(get "$theirs" "$3")
    awk -v l="$1" -v o="$o" -v t="$t" -v g="$4" 'BEGIN {
        r = o / t;
        verdict = g == "-" ? "" : (r <= g + 0 ? "met" : "NOT met");
        printf "%-46s %10.3f us %10.3f us %8.3f   %-7s %s\n", l, o / 1000, t / 1000, r,
               g == "-" ? "" : "<= " g, verdict }'
}
printf '%-46s %13s %13s %8s   %s\n' "wasm instances vs wasm2c's runtime" "tether" "wasm2c" "ratio" "goal"
row "trap-protected call of a no-op export" guarded_call guarded_call 0.0667
row "unprotected direct call (for scale)" direct_call direct_call -
row "instantiate + call + release (pool) vs inst+free" instantiate_call_free instantiate_free 0.3333
row "instantiate + call + release vs inst+call+free" instantiate_call_free instantiate_call_free -
row "trap: out of bounds memory access" trap_oob trap_oob 1.1
row "trap: integer divide by zero" trap_div0 trap_div0 0.5
row "trap: unreachable" trap_unreachable trap_unreachable 0.5
row "trap: call stack exhausted (512 KiB stack)" trap_exhaustion trap_exhaustion 0.1
row "trap: call stack exhausted (8 MiB, wasm2c's)" trap_exhaustion_8m trap_exhaustion -

# What the core costs in the same run: most of the gaps above are its.
rt=$(get "$ours" core_round_trip); call=$(get "$ours" guarded_call)
fault=$(get "$ours" core_fault); record=$(get "$ours" core_fault_record)
oob=$(get "$ours" trap_oob); small=$(get "$ours" trap_exhaustion_64k)
awk -v rt="$rt" -v call="$call" -v fault="$fault" -v record="$record" -v oob="$oob" \
    -v small="$small" 'BEGIN {
    printf "tether core, same run: resume + yield %.1f ns (the call adds %.1f ns);", rt, call - rt
    printf " a fault to FAULTED and a reset %.2f us, %.2f us with the fault record", fault / 1000, record / 1000
    printf " (its backtrace is walked when first read; the trap adds %.2f us to that);", (oob - record) / 1000
    printf " a stack overflow on a 64 KiB stack %.1f us (fixed cost of the overflow fault)\n", small / 1000 }'

# The compute-heavy program: wasm32-wasi through tether-wasm vs native.
if [ -x "$dir/wasi_compress_native" ] && [ -f "$dir/wasi_compress.so" ]; then
    ms() { "$@" | sed -n 's/.*: \([0-9.]*\) ms$/\1/p'; }
    # Interleaved, best of 5 each: the machine's noise hits both alike.
    w=1e9 n=1e9
    for i in 1 2 3 4 5; do
        w=$(printf '%s\n%s\n' "$w" "$(ms "$tw" run "$dir/wasi_compress.so")" | sort -g | head -n1)
        n=$(printf '%s\n%s\n' "$n" "$(ms "$dir/wasi_compress_native")" | sort -g | head -n1)
    done
    awk -v w="$w" -v n="$n" 'BEGIN {
        r = w / n
        printf "%-46s %10.1f ms %10.1f ms %8.3f   %-7s %s\n",
               "LZ77 compress+decompress 8 MiB, wasm vs gcc", w, n, r, "<= 1.5",
               r <= 1.5 ? "met" : "NOT met" }'
    echo "(that row: tether-wasm running bench/wasi_compress.c built for wasm32-wasi with"
    echo " clang -O2, against the same file built natively with gcc -O2)"
fi

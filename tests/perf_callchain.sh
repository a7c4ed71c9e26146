#!/bin/sh
# perf's call chains cross from a fiber into the host that resumed it.
# With frame pointers (perf record -g, --call-graph fp) every sample in
# the guest goes on through the fiber's bottom frame to the host's
# frames, down to main. With --call-graph dwarf perf unwinds a copy of
# the sampled stack only: it reaches the host function that called
# tether_fiber_resume (its return address and registers are in the
# record at the fiber's stack top, inside the copy when the guest's
# frames are few) and stops there, as the README says. Skipped, with
# the reason, where perf is missing or may not sample here.
set -u
bin=${top_builddir:-.}/tests/perf_target
PERF=${PERF:-$(command -v perf)}
if [ -z "$PERF" ]; then
    echo "SKIP: perf is not installed (Debian: linux-perf)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One chain per sample, innermost first, as "sym sym sym ...".
chains() {
    "$PERF" script -i "$1" -F ip,sym 2>/dev/null |
        awk 'BEGIN { RS = "" } { s = ""; for (i = 2; i <= NF; i += 2) s = s " " $i; print s }'
}
if ! "$PERF" record -q -e cpu-clock -F 1000 --call-graph fp -o "$tmp/fp.data" \
        "$bin" 0.3 >"$tmp/out" 2>&1; then
    echo "SKIP: perf cannot sample here:"
    sed 's/^/  /' "$tmp/out"
    exit 77
fi
fail=0
chains "$tmp/fp.data" | grep ' perf_guest_spin ' >"$tmp/fp" || true
n=$(wc -l <"$tmp/fp")
if [ "$n" -lt 20 ]; then
    echo "SKIP: perf took $n samples in the guest (too few to judge)"
    exit 77
fi
# guest frames, then whatever of tether's bottom frames, then the host
crossed=$(grep -cE ' perf_guest_spin perf_guest( [^ ]+)* perf_host_resumes main' "$tmp/fp")
echo "frame pointers: $crossed of $n samples in the guest reach main through the host"
sed -n '1p' "$tmp/fp" | sed 's/^/  e.g./'
# every sample, allowing a few taken where the chain is being built
if [ $((crossed * 10)) -lt $((n * 9)) ]; then
    echo "FAIL: fewer than 90% of the guest's samples cross into the host"
    fail=1
fi
if "$PERF" record -q -e cpu-clock -F 1000 --call-graph dwarf -o "$tmp/dw.data" \
        "$bin" 0.3 >"$tmp/out" 2>&1; then
    chains "$tmp/dw.data" | grep ' perf_guest_spin ' >"$tmp/dw" || true
    n=$(wc -l <"$tmp/dw")
    # The frame past the bottom one is the host's resumer: the caller of
    # tether_fiber_resume, or where builds without the fast switch (the
    # sanitizers') switch in, tether's own resume.
    reached=$(grep -cE ' perf_guest_spin perf_guest( [^ ]+)* tether__fiber_trampoline (perf_host_resumes|tether[._][^ ]*)' "$tmp/dw")
    echo "dwarf: $reached of $n samples in the guest reach the resuming host function"
    sed -n '1p' "$tmp/dw" | sed 's/^/  e.g./'
    if [ "$n" -ge 20 ] && [ $((reached * 10)) -lt $((n * 9)) ]; then
        echo "FAIL: with --call-graph dwarf the guest's samples stop before the host"
        fail=1
    fi
else
    echo "note: perf record --call-graph dwarf failed here; not checked"
fi
[ "$fail" -eq 0 ] && echo PASS
exit "$fail"

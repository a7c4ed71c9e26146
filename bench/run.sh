#!/bin/sh
# Runs every benchmark program several times, in turn, and prints the
# comparison table: `make bench` calls it from the build directory.
#
# Absolute figures on a shared virtual machine drift from minute to
# minute; ratios measured close together do not drift as much. So every
# program sets tether beside its alternative in one process where it
# can, takes several samples of each, interleaved, and this script runs
# the programs in turn, round after round, rotating their order. The
# table gives the minimum and the median of all samples of each figure.
#
# Environment (make sets the first ones from configure):
#   BENCH_DIR          where the programs are and the results go (bench)
#   BENCH_SRCDIR       the source bench/ directory (report.awk, plot.gp)
#   HAVE_BOOST_CONTEXT, HAVE_PCL   yes or no
#   GNUPLOT, STRACE    paths, or empty when configure did not find them
#   BENCH_RUNS         rounds of the quick programs (5)
#   BENCH_ALIVE_RUNS   rounds of the million-fiber programs (3)
#   BENCH_ALIVE_COUNT  fibers alive at once in those (1000000)
#   BENCH_SAMPLES      samples per figure per process (5)
#   BENCH_SCALE        loop lengths, in percent (100): quick trials
set -eu

dir=${BENCH_DIR:-bench}
src=${BENCH_SRCDIR:-$(dirname "$0")}
runs=${BENCH_RUNS:-5}
alive_runs=${BENCH_ALIVE_RUNS:-3}
alive_count=${BENCH_ALIVE_COUNT:-1000000}
have_boost=${HAVE_BOOST_CONTEXT:-no}
have_pcl=${HAVE_PCL:-no}
gnuplot=${GNUPLOT:-}
strace=${STRACE:-}

samples=$dir/samples.txt  # round key value, one line per sample
notes=$dir/notes.txt      # what the programs and this script noted
errors=$dir/stderr.txt
: >"$samples"
: >"$notes"
: >"$errors"

note() { echo "$*" >>"$notes"; }

# run ROUND PROGRAM ARGS...: its samples to $samples, its notes to $notes.
# Exit status 3 is a limit of the machine (noted, the figure is missing);
# anything else non-zero is a failure of the benchmark, and stops it.
run() {
    r=$1
    shift
    set +e
    out=$("$dir/$@" 2>>"$errors")
    st=$?
    set -e
    printf '%s\n' "$out" | grep '^#' | sed 's/^# *//' >>"$notes" || :
    printf '%s\n' "$out" | grep -v '^#' | grep . | sed "s/^/$r /" >>"$samples" || :
    if [ "$st" -ne 0 ] && [ "$st" -ne 3 ]; then
        echo "bench: $* failed (exit $st):" >&2
        cat "$errors" >&2
        exit 1
    fi
}

# --------------------------------------------------------------- machine
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
cores=$(nproc)
kernel=$(uname -sr)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
cc_version=$(${CC:-cc} --version 2>/dev/null | head -n1)
{
    echo "machine: $cpu, $cores cores, $kernel"
    echo "date:    $when"
    echo "cc:      $cc_version"
    # other work on the machine moves absolute figures: say how much there was
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min averages) at the start"
} >"$dir/machine.txt"
cat "$dir/machine.txt"

[ "$have_boost" = yes ] || note "Boost.Context: not found by configure (libboost-context-dev): its comparisons are left out"
[ "$have_pcl" = yes ] || note "pcl: not found by configure (libpcl1-dev): its comparison is left out"

# Guard pages made with mprotect take a mapping each; MADV_GUARD_INSTALL
# (Linux 6.13+) none. bench/alive notes how many mappings it used.
maps=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)
if [ "$maps" -gt 0 ] && [ "$alive_count" -gt "$maps" ]; then
    note "vm.max_map_count is $maps: where guards take a mapping each (mprotect: kernels before 6.13, or TETHER_GUARD=mprotect), $alive_count fibers cannot be alive at once; raise it (sysctl vm.max_map_count) for such a kernel"
fi

# ---------------------------------------------------------- quick rounds
quick="switch_c switch_cxx lifecycle fault floor_fault unwind other"
nquick=$(echo $quick | wc -w)
r=1
while [ "$r" -le "$runs" ]; do
    echo "round $r of $runs: $quick" >&2
    # rotate the order by one program a round
    i=0
    for p in $quick $quick; do
        i=$((i + 1))
        [ "$i" -gt $(( (r - 1) % nquick )) ] || continue
        [ "$i" -le $(( (r - 1) % nquick + nquick )) ] || continue
        run "$r" "$p"
    done
    r=$((r + 1))
done

# ------------------------------------------------ a million fibers alive
r=1
while [ "$r" -le "$alive_runs" ]; do
    echo "round $r of $alive_runs: $alive_count fibers alive (16 KiB and default stacks), and their floors" >&2
    if [ $((r % 2)) -eq 1 ]; then
        run "$r" alive 16k 16384 "$alive_count"
        run "$r" alive_floor 16k 16384 "$alive_count"
        run "$r" alive default 0 "$alive_count"
        run "$r" alive_floor default 0 "$alive_count"
    else
        run "$r" alive_floor default 0 "$alive_count"
        run "$r" alive default 0 "$alive_count"
        run "$r" alive_floor 16k 16384 "$alive_count"
        run "$r" alive 16k 16384 "$alive_count"
    fi
    r=$((r + 1))
done

# ------------------------------------------------- system calls, counted
# strace shows every system call; the program brackets its loops with
# marker calls (a write to fd -1), and the calls between are counted.
if [ -n "$strace" ] && [ -x "$strace" ]; then
    trace=$dir/syscalls.trace
    if "$strace" -f -qq -o "$trace" "$dir/syscalls" >"$dir/syscalls.out" 2>>"$errors"; then
        grep '^#' "$dir/syscalls.out" | sed 's/^# *//' >>"$notes" || :
        for phase in switch lifecycle; do
            n=$(awk -v p="$phase" '
                index($0, "tether-bench: begin " p "\"") { on = 1; next }
                index($0, "tether-bench: end " p "\"") { on = 0; next }
                on && !/resumed>/ && !/^[0-9]+ +(---|\+\+\+)/ { n++; print > "/dev/stderr" }
                END { print n + 0 }' "$trace" 2>"$dir/syscalls.found")
            echo "1 syscalls_$phase $n" >>"$samples"
            # name the first few, so that the note says what to look for
            head -n 3 "$dir/syscalls.found" | sed "s/^/system call in the $phase loop: /" >>"$notes"
        done
        rm -f "$dir/syscalls.found" "$dir/syscalls.out"
    else
        note "strace could not trace the program (ptrace not permitted?): system calls not counted"
    fi
else
    note "strace: not found by configure: system calls not counted"
fi

# ----------------------------------------------------------------- table
awk -v have_boost="$have_boost" -v have_pcl="$have_pcl" -v alive_count="$alive_count" \
    -v plotdata="$dir/plot.dat" -v markdown="$dir/results.md" \
    -f "$src/report.awk" "$samples" >"$dir/table.txt"

{
    cat "$dir/machine.txt"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "runs:    $runs rounds of every program, ${BENCH_SAMPLES:-5} samples of each figure a round; $alive_runs rounds of $alive_count fibers alive"
    echo
    cat "$dir/table.txt"
    echo
    echo "notes:"
    sort -u "$notes" | sed 's/^/  /'
} >"$dir/results.txt"
echo
cat "$dir/table.txt"
echo
echo "notes:"
sort -u "$notes" | sed 's/^/  /'

# ------------------------------------------------------------------ plot
if [ -n "$gnuplot" ] && [ -x "$gnuplot" ]; then
    "$gnuplot" -e "datafile='$dir/plot.dat'; output='$dir/results.svg'; subtitle='$cpu, $cores cores, $kernel, $when'" \
        "$src/plot.gp"
    echo "plot: $dir/results.svg"
else
    echo "plot: gnuplot was not found by configure (gnuplot-nox): no plot"
fi
echo "table: $dir/results.txt"

#!/bin/sh
# make check-tsan asks this first: can a ThreadSanitizer program run
# here? TSan needs its fixed shadow layout, which the kernel's mmap
# randomisation can break on Linux 6.x with many random bits
# (vm.mmap_rnd_bits above 28): "FATAL: ThreadSanitizer: unexpected memory
# mapping". Prints the command to run the tests with: nothing, or
# setarch -R (randomisation off for them); fails if neither works.
# Usage: tsan_runs.sh CC
set -u
cc=${1:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <pthread.h>\nstatic void *run(void *a) { return a; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); return pthread_join(t, 0); }\n' \
    > "$tmp/t.c"
$cc -fsanitize=thread -o "$tmp/t" "$tmp/t.c" >/dev/null 2>&1 ||
    { echo "tsan_runs.sh: $cc cannot build a -fsanitize=thread program" >&2; exit 1; }
if (ulimit -c 0; "$tmp/t") >"$tmp/out" 2>&1; then
    exit 0
fi
if (ulimit -c 0; setarch "$(uname -m)" -R "$tmp/t") >/dev/null 2>&1; then
    echo "tsan_runs.sh: $(head -n 1 "$tmp/out"); running the tests with setarch -R" >&2
    echo "setarch $(uname -m) -R"
    exit 0
fi
echo "tsan_runs.sh: a ThreadSanitizer program does not run here:" >&2
cat "$tmp/out" >&2
exit 1

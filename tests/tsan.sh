#!/bin/sh
# In an --enable-tsan build, make check runs every test through this
# script (LOG_COMPILER). The tests ThreadSanitizer cannot run are skipped
# (status 77) with the reason; the others run as they are.
set -u
t=$1
skip() {
    echo "SKIP under ThreadSanitizer: $*"
    exit 77
}
case $t in
*/test_kill | */test_call | */test_seq | */seq_norseq.sh | */demo.sh | */wasm/test_instance)
    # Kill switches and deadlines stop a running fiber from a SIGURG
    # handler by rewriting its context. TSan defers an asynchronous
    # signal to the thread's next intercepted call and then runs the
    # handler with a copy of the context: a guest that spins is never
    # stopped, and a rewritten copy changes nothing.
    skip "kills and deadlines (asynchronous SIGURG) cannot stop a fiber: TSan delays the handler and gives it a copy of the context" ;;
*/test_hostile | */test_unwind)
    # Guests that call pthread_exit on a fiber: TSan's pthread_exit
    # interceptor CHECK-fails off the thread's own context
    # (tsan_interceptors_posix.cpp:1085, "CHECK failed"); and, as above,
    # the deadline and kill tests these programs also hold.
    skip "pthread_exit on a fiber CHECK-fails in TSan's pthread_exit interceptor; kills and deadlines as in test_kill" ;;
*/test_fault | */test_stack | */test_chain | */test_probe | */test_backtrace | */gdb_fibers.sh)
    # Faults stop a fiber from its SIGSEGV handler; TSan then reports
    # "signal-unsafe call inside of a signal" for the host's calls
    # (malloc in the unwind and the backtrace), runs into faults of its
    # own in the runtime ("ThreadSanitizer: nested bug in the same
    # thread") with faults inside other signal handlers and probes in
    # them, and a data race on the signal clients' table that only the
    # kernel's sigaction orders. Left as they are: not tether's races.
    skip "fault stops from SIGSEGV handlers: TSan reports signal-unsafe calls and faults in its own runtime afterwards" ;;
*/wasm/cli.sh | */wasm/embed.sh | */wasm/wasi.sh)
    # wasm instances trap by faults on their fibers and are stopped by
    # deadlines: both of the above. These hang under TSan.
    skip "wasm instances trap by faults and stop by deadlines on fibers (as test_fault and test_kill); they hang under TSan" ;;
*/perf_callchain.sh)
    # Most samples land in TSan's runtime (__tsan_read8 and the like,
    # called at every access), and the frame-pointer chains of the rest
    # end at tether_fiber_resume: what perf shows of a TSan build says
    # nothing of tether's frames.
    skip "perf's call chains in a TSan build end in TSan's runtime and its frames" ;;
esac
exec "$@"

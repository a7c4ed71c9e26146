/*
 * PREEMPT sequences: Linux restartable sequences, through the rseq area
 * glibc (2.35+) registers for every thread. tether adds no code on
 * their path: the kernel reads the descriptor a sequence arms (the
 * macros in tether/seq.h) and moves the pc itself. What is here is the
 * question whether the calling thread is protected at all.
 */
#include <stddef.h>
#include <stdint.h>

#include <tether/seq.h>

#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#define HAVE_GLIBC_RSEQ 1
#endif
#endif

#ifdef HAVE_GLIBC_RSEQ
_Static_assert(RSEQ_SIG == TETHER__SEQ_RSEQ_SIG, "the signature the macros lay down");
_Static_assert(offsetof(struct rseq, rseq_cs) == TETHER__SEQ_RSEQ_CS_OFFSET,
               "where the macros store the descriptor");

/* The thread pointer: the x86_64 TCB's first word points at itself. */
static inline char *thread_pointer(void)
{
    char *tp;
    __asm__("movq %%fs:0, %0" : "=r"(tp));
    return tp;
}
#endif

int tether_seq_rseq_available(void)
{
#ifdef HAVE_GLIBC_RSEQ
    /*
     * glibc sets __rseq_size to 0 when it registers no area (disabled,
     * or the kernel refused the main thread's); a thread whose own
     * registration failed has a negative cpu_id
     * (RSEQ_CPU_ID_REGISTRATION_FAILED). Async-signal-safe: two loads.
     */
    const struct rseq *rs;

    if (__rseq_size == 0)
        return 0;
    rs = (const struct rseq *)(thread_pointer() + __rseq_offset);
    return (int32_t)rs->cpu_id >= 0;
#else
    return 0;
#endif
}

/*
 * Telling AddressSanitizer, ThreadSanitizer and valgrind about stack
 * switches. Compiled in by ./configure --enable-asan (TETHER_ASAN) and
 * --enable-tsan (TETHER_TSAN); valgrind's stack registration whenever
 * valgrind's headers are present (its client requests cost a few
 * instructions outside valgrind, and run only at create and destroy).
 * Otherwise every function here is empty.
 *
 * A switch is announced before it happens (start) and confirmed on the
 * other side (finish), as the sanitizers' fiber interfaces want:
 *
 *   host:  tether__san_to_fiber(f)          [switch in]   fiber: tether__san_in_fiber(f)
 *   fiber: tether__san_to_host(f, final)    [switch out]  host:  tether__san_in_host(f)
 *
 * With either sanitizer the fast paths are off (fiber_switch.c): they
 * have no code on the far side of their switch to confirm it.
 */
#ifndef TETHER_SANITIZE_H
#define TETHER_SANITIZE_H

/*
 * configure's results (TETHER_ASAN, TETHER_TSAN,
 * HAVE_VALGRIND_VALGRIND_H) are in config.h, which no other source file
 * includes: without it every switch below compiled to nothing.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdint.h>

#if defined(TETHER_ASAN) || defined(TETHER_TSAN)
#define TETHER_SANITIZE 1
#else
#define TETHER_SANITIZE 0
#endif

#ifdef TETHER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef TETHER_TSAN
#include <sanitizer/tsan_interface.h>
/* What TSan's instrumentation calls at a function's entry (libtsan exports it). */
void __tsan_func_entry(void *call_pc);
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif
#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#endif

/* What a fiber keeps for them (a member of struct tether_fiber). */
struct tether_san {
    void *fiber_fake, *host_fake;   /* ASan's fake stacks, saved across switches */
    const void *host_bottom;        /* the stack the fiber was entered from */
    size_t host_size;
    void *tsan_fiber, *tsan_host;   /* TSan's fiber contexts */
    unsigned valgrind_id;           /* valgrind's id of the fiber's stack */
};

#ifdef TETHER_ASAN
/*
 * ASan allows one announced switch at a time per thread, and a signal
 * handler may stop a fiber (tether__san_stop) between the announcement
 * and its confirmation: the switch this thread has announced and not
 * confirmed yet, and how far it got (fiber.c defines them).
 */
enum {
    TETHER_SAN_OUT_ANNOUNCED, /* leaving a fiber: ASan not told yet */
    TETHER_SAN_OUT_STARTED,   /* leaving a fiber: ASan told */
    TETHER_SAN_IN_STARTED,    /* entering a fiber: ASan told */
};
extern __thread struct tether_san *volatile tether__san_pending
    __attribute__((tls_model("initial-exec")));
extern __thread volatile int tether__san_pending_how
    __attribute__((tls_model("initial-exec")));

static inline void tether__san_announce(struct tether_san *s, int how)
{
    tether__san_pending_how = how;
    tether__san_pending = s;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void tether__san_started(int how)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tether__san_pending_how = how;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void tether__san_confirmed(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tether__san_pending = NULL;
}

/* A fake stack saved while its thread was creating it is none. */
static inline void *tether__san_fake(void *fake)
{
    return (uintptr_t)fake > 1 ? fake : NULL;
}
#endif

/*
 * At create: the fiber's stack is [lo, hi), in a slot [slot_lo, slot_hi)
 * with its guard below and the host record above. valgrind is given the
 * whole slot: a switch to or from a stack pointer it does not place in a
 * known stack, within --max-stackframe of the last one, it takes for a
 * frame pushed or popped, and marks the memory in between (a host's
 * record, which a stop's switch then reads, as uninitialised). A stop
 * after an overflow switches from a stack pointer in the guard, and the
 * record is above the usable stack.
 */
static inline void tether__san_create(struct tether_san *s, void *lo, void *hi,
                                      void *slot_lo, void *slot_hi)
{
    (void)s;
    (void)lo;
    (void)hi;
    (void)slot_lo;
    (void)slot_hi;
#ifdef TETHER_TSAN
    s->tsan_fiber = __tsan_create_fiber(0);
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    s->valgrind_id = VALGRIND_STACK_REGISTER(slot_lo, slot_hi);
#endif
}

/* Before the fiber is freed. */
static inline void tether__san_destroy(struct tether_san *s)
{
    (void)s;
#ifdef TETHER_TSAN
    __tsan_destroy_fiber(s->tsan_fiber);
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
}

/* The host is about to switch into the fiber, whose stack is [lo, hi). */
static inline void tether__san_to_fiber(struct tether_san *s, void *lo, void *hi)
{
    (void)s;
    (void)lo;
    (void)hi;
#ifdef TETHER_ASAN
    tether__san_announce(s, TETHER_SAN_IN_STARTED); /* the host does not stop mid-way */
    __sanitizer_start_switch_fiber(&s->host_fake, lo, (size_t)((char *)hi - (char *)lo));
#endif
#ifdef TETHER_TSAN
    s->tsan_host = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(s->tsan_fiber, 0);
#endif
}

/* On the fiber, just arrived. */
static inline void tether__san_in_fiber(struct tether_san *s)
{
    (void)s;
#ifdef TETHER_ASAN
    __sanitizer_finish_switch_fiber(s->fiber_fake, &s->host_bottom, &s->host_size);
    tether__san_confirmed();
#endif
}

/*
 * The fiber is about to switch to its host. final: it has no frames left
 * (it returned, or its unwind is over), so its fake stack goes. A fiber
 * that stops with frames (a yield, a kill, a fault) keeps it: the
 * locals of those frames may live there, and an unwind runs their
 * cleanups later.
 */
static inline void tether__san_to_host(struct tether_san *s, int final)
{
    (void)s;
    (void)final;
#ifdef TETHER_ASAN
    tether__san_announce(s, TETHER_SAN_OUT_ANNOUNCED);
    __sanitizer_start_switch_fiber(final ? NULL : &s->fiber_fake, s->host_bottom, s->host_size);
    tether__san_started(TETHER_SAN_OUT_STARTED);
#endif
#ifdef TETHER_TSAN
    __tsan_switch_to_fiber(s->tsan_host, 0);
#endif
}

/*
 * On the host, back from the fiber: first thing in tether__resume_finish,
 * which runs before the host's switch in returns and may start another
 * switch (TETHER_FIBER_UNWIND_ON_EXIT).
 */
static inline void tether__san_in_host(struct tether_san *s)
{
    (void)s;
#ifdef TETHER_ASAN
    __sanitizer_finish_switch_fiber(s->host_fake, NULL, NULL);
    tether__san_confirmed();
#endif
#ifdef TETHER_TSAN
    /*
     * After a signal stop TSan still has the fiber as current (see
     * tether__san_stop), and has seen this function's entry on the
     * fiber's shadow call stack: its exit comes on the host's, which is
     * given the entry to match.
     */
    if (__tsan_get_current_fiber() != s->tsan_host) {
        __tsan_switch_to_fiber(s->tsan_host, 0);
        __tsan_func_entry(__builtin_return_address(0));
    }
#endif
}

/*
 * Is a switch announced and not confirmed yet on this thread? A kill
 * waits until it is (kill.c), as it waits for the switch code itself.
 */
static inline int tether__san_switching(void)
{
#ifdef TETHER_ASAN
    return tether__san_pending != NULL;
#else
    return 0;
#endif
}

/*
 * A signal handler stops the running fiber (fiber_signal.c): it switches
 * to its host when the handler returns. The fiber keeps its fake stack
 * for the unwind. Kills wait for a switch to be confirmed; a fault may
 * still come between the announcement of a switch and its confirmation:
 * the fiber's own switch out (it goes on), the fiber's arrival, or, on
 * the fiber, the arrival back from a fiber it hosts; the last two are
 * confirmed first. Async-signal-safe (ASan's switch calls are, with a
 * fake stack kept, not destroyed).
 */
static inline void tether__san_stop(struct tether_san *s)
{
    (void)s;
#ifdef TETHER_ASAN
    struct tether_san *p = tether__san_pending;
    int how = tether__san_pending_how;

    if (p == s && how == TETHER_SAN_OUT_STARTED)
        return;
    if (p == s && how == TETHER_SAN_IN_STARTED)
        tether__san_in_fiber(s);
    else if (p && p != s)
        tether__san_in_host(p);
    tether__san_to_host(s, 0); /* (an OUT_ANNOUNCED one did not get to ASan: an overflow) */
    s->fiber_fake = tether__san_fake(s->fiber_fake);
#endif
    /*
     * TSan: nothing here. It counts signal handlers per fiber context;
     * a switch inside the handler would make the host's count go
     * negative on the way out. The host switches when it lands
     * (tether__san_in_host).
     */
}

/*
 * The host writes a frame into a stopped fiber's stack, below where the
 * fiber's stack pointer last was (the unwind's register block): memory
 * that memcheck made inaccessible when the fiber's frames there returned.
 * It is the fiber's stack again, not yet written.
 */
static inline void tether__san_stack_reused(void *lo, size_t size)
{
    (void)lo;
    (void)size;
#ifdef HAVE_VALGRIND_MEMCHECK_H
    VALGRIND_MAKE_MEM_UNDEFINED(lo, size);
#endif
}

/*
 * A forced unwind that is not tether's (pthread_exit) leaves the fiber
 * on its way into the host's frames (unwind.c): a switch out, made while
 * the unwinder still runs on the fiber's stack. The fiber's fake stack
 * is kept, not destroyed under the unwinder's feet; tether__san_drop
 * frees it with the fiber.
 */
static inline void tether__san_left_by_unwind(struct tether_san *s)
{
    tether__san_to_host(s, 0);
    tether__san_in_host(s);
#ifdef TETHER_ASAN
    s->fiber_fake = tether__san_fake(s->fiber_fake);
#endif
}

/*
 * The fiber is about to be unwound from where it stopped: a forced
 * unwind abandons frames without their epilogues, which clear the
 * poison of their redzones; C++'s throw tells ASan so (its interceptor),
 * a forced unwind does not. Cleanups that ran in the abandoned frames'
 * space would otherwise be reported.
 */
static inline void tether__san_no_return(void)
{
#ifdef TETHER_ASAN
    __asan_handle_no_return();
#endif
}

/*
 * The fiber's frames are gone without running again (a reset that
 * discards them, a free after an unwind that could not finish): the fake
 * stack they kept goes too. ASan destroys a fake stack only when a
 * switch leaves it for good, so this makes it the thread's for a moment,
 * on the caller's own stack, and leaves it. Called by a host.
 */
static inline void tether__san_drop(struct tether_san *s)
{
    (void)s;
#ifdef TETHER_ASAN
    void *mine;
    const void *bottom;
    size_t size;

    if (!tether__san_fake(s->fiber_fake)) {
        s->fiber_fake = NULL;
        return;
    }
    __sanitizer_start_switch_fiber(&mine, NULL, 0);
    __sanitizer_finish_switch_fiber(s->fiber_fake, &bottom, &size);
    __sanitizer_start_switch_fiber(NULL, bottom, size);
    __sanitizer_finish_switch_fiber(mine, NULL, NULL);
    s->fiber_fake = NULL;
#endif
}

#endif

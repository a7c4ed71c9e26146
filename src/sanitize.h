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
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

/* What a fiber keeps for them (a member of struct tether_fiber). */
struct tether_san {
    void *fiber_fake, *host_fake;   /* ASan's fake stacks, saved across switches */
    const void *host_bottom;        /* the stack the fiber was entered from */
    size_t host_size;
    void *tsan_fiber, *tsan_host;   /* TSan's fiber contexts */
    unsigned valgrind_id;           /* valgrind's id of the fiber's stack */
};

/* At create: the fiber's stack is [lo, hi). */
static inline void tether__san_create(struct tether_san *s, void *lo, void *hi)
{
    (void)s;
    (void)lo;
    (void)hi;
#ifdef TETHER_TSAN
    s->tsan_fiber = __tsan_create_fiber(0);
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    s->valgrind_id = VALGRIND_STACK_REGISTER(lo, hi);
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
#endif
}

/*
 * The fiber is about to switch to its host. final: it will not run these
 * frames again (it ended, or a signal handler stops it), so its fake
 * stack goes.
 */
static inline void tether__san_to_host(struct tether_san *s, int final)
{
    (void)s;
    (void)final;
#ifdef TETHER_ASAN
    __sanitizer_start_switch_fiber(final ? NULL : &s->fiber_fake, s->host_bottom, s->host_size);
#endif
#ifdef TETHER_TSAN
    __tsan_switch_to_fiber(s->tsan_host, 0);
#endif
}

/* On the host, back from the fiber. */
static inline void tether__san_in_host(struct tether_san *s)
{
    (void)s;
#ifdef TETHER_ASAN
    __sanitizer_finish_switch_fiber(s->host_fake, NULL, NULL);
#endif
}

#endif

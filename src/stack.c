/*
 * Stack memory: reservations to carve slots from, and guard regions.
 *
 * Slots come from large anonymous reservations (MAP_NORESERVE: a page
 * costs nothing until it is touched), so a million stacks are a few
 * hundred mappings, not a million. Each slot's guard is installed once,
 * when the slot is first used, and stays while the slot waits in a
 * pool: with MADV_GUARD_INSTALL where the kernel has it (markers in the
 * page tables: no extra mapping), with mprotect(PROT_NONE) otherwise (a
 * mapping of its own per guard: Linux's default vm.max_map_count allows
 * about 32,000 of them). The method is probed on the first guard.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stack.h"
#include <tether/fiber.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

/* 0: not probed yet; else TETHER_GUARD_MADVISE or _MPROTECT (stack.h). */
_Atomic int tether__guard_method;

size_t tether__page_size(void)
{
    static _Atomic size_t cached;
    size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
    if (p == 0) {
        long v = sysconf(_SC_PAGESIZE);
        p = v > 0 ? (size_t)v : 4096;
        atomic_store_explicit(&cached, p, memory_order_relaxed);
    }
    return p;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) & ~(to - 1);
}

int tether__stack_geometry(size_t *size, size_t *guard)
{
    size_t s = *size ? *size : TETHER_STACK_SIZE_DEFAULT;
    size_t g = *guard ? *guard : TETHER_GUARD_SIZE_DEFAULT;

    if (s < TETHER_STACK_SIZE_MIN || s > TETHER_STACK_SIZE_MAX)
        return -ERANGE;
    if (g < TETHER_GUARD_SIZE_MIN || g > TETHER_GUARD_SIZE_MAX)
        return -ERANGE;
    *size = round_up(s, tether__page_size());
    *guard = round_up(g, tether__page_size());
    return 0;
}

int tether__stack_guard_method_first(void)
{
    const char *e = getenv("TETHER_GUARD");

    if (e && strcmp(e, "mprotect") == 0) {
        atomic_store_explicit(&tether__guard_method, TETHER_GUARD_MPROTECT, memory_order_relaxed);
        return TETHER_GUARD_MPROTECT;
    }
    return TETHER_GUARD_MADVISE; /* tried first */
}

char *tether__stack_reserve(size_t slot_size, size_t count)
{
    size_t len = slot_size * count;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    /* A stack wants its own few pages, never a 2 MiB page per touch. */
    madvise(p, len, MADV_NOHUGEPAGE);
    return p;
}

/*
 * The first MADV_GUARD_INSTALL decides, for the whole process, whether
 * the kernel has guard markers; racing first attempts reach the same
 * answer, so a plain store is enough.
 */
int tether__stack_guard_install(struct tether_stack *s)
{
    if (s->guard_kind == TETHER_GUARD_MADVISE) {
        if (madvise(s->base, s->guard_size, MADV_GUARD_INSTALL) == 0) {
            atomic_store_explicit(&tether__guard_method, TETHER_GUARD_MADVISE, memory_order_relaxed);
            return 0;
        }
        if (errno != EINVAL)
            return -ENOMEM;
        /* This kernel has no guard markers: mprotect from now on. */
        atomic_store_explicit(&tether__guard_method, TETHER_GUARD_MPROTECT, memory_order_relaxed);
        s->guard_kind = TETHER_GUARD_MPROTECT;
    }
    return mprotect(s->base, s->guard_size, PROT_NONE) == 0 ? 0 : -ENOMEM;
}

/*
 * All but the guard's lowest page: if the unwind runs out of the room it
 * is given, it faults in that page, inside the guard region, where the
 * fault handler knows it for the fiber's overflow.
 */
int tether__stack_guard_open(struct tether_stack *s)
{
    size_t page = tether__page_size();
    char *from = s->base + page;
    size_t len = s->guard_size - page;

    if (len == 0)
        return -ENOMEM; /* a one-page guard has nothing to give */
    if (s->guard_kind == TETHER_GUARD_MADVISE ? madvise(from, len, MADV_GUARD_REMOVE) != 0
                                              : mprotect(from, len, PROT_READ | PROT_WRITE) != 0)
        return -ENOMEM;
    s->guard_open = 1;
    return 0;
}

uintptr_t tether__stack_guard_open_lo(const struct tether_stack *s)
{
    return (uintptr_t)s->base + tether__page_size();
}

int tether__stack_guard_close(struct tether_stack *s)
{
    /* The pages the unwind touched are given back before the guard returns. */
    madvise(s->base, s->guard_size, MADV_DONTNEED);
    if (s->guard_kind == TETHER_GUARD_MADVISE ? madvise(s->base, s->guard_size, MADV_GUARD_INSTALL) != 0
                                              : mprotect(s->base, s->guard_size, PROT_NONE) != 0)
        return -ENOMEM;
    s->guard_open = 0;
    return 0;
}

void tether__stack_clean(struct tether_stack *s)
{
    char *lo = tether__stack_lo(s);
    madvise(lo, (size_t)(tether__stack_top(s) - lo), MADV_DONTNEED);
}

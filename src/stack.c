/*
 * Stack allocation: one anonymous mapping per stack, the guard region at
 * its low end. Guards are installed with MADV_GUARD_INSTALL where the
 * kernel has it (no extra VMA, so no vm.max_map_count ceiling) and with
 * mprotect(PROT_NONE) otherwise. Support is probed on first use.
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

/* 0: not probed yet; else TETHER_GUARD_MADVISE or _MPROTECT. */
static _Atomic int guard_method;

static size_t page_size(void)
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
    *size = round_up(s, page_size());
    *guard = round_up(g, page_size());
    return 0;
}

static int method_from_env(void)
{
    const char *e = getenv("TETHER_GUARD");
    if (e && strcmp(e, "mprotect") == 0)
        return TETHER_GUARD_MPROTECT;
    return 0;
}

/*
 * Installs the guard on a fresh mapping. The first attempt decides, for
 * the whole process, whether MADV_GUARD_INSTALL works (or the environment
 * rules it out); racing first attempts reach the same answer, so a plain
 * store is enough.
 */
static int install_guard(struct tether_stack *s, int force_mprotect)
{
    int m = atomic_load_explicit(&guard_method, memory_order_relaxed);

    if (m == 0) {
        m = method_from_env();
        if (m != 0)
            atomic_store_explicit(&guard_method, m, memory_order_relaxed);
    }
    if (!force_mprotect && m != TETHER_GUARD_MPROTECT) {
        if (madvise(s->base, s->guard_size, MADV_GUARD_INSTALL) == 0) {
            atomic_store_explicit(&guard_method, TETHER_GUARD_MADVISE,
                                  memory_order_relaxed);
            s->guard_kind = TETHER_GUARD_MADVISE;
            return 0;
        }
        if (errno == EINVAL) /* this kernel has no guard markers */
            atomic_store_explicit(&guard_method, TETHER_GUARD_MPROTECT,
                                  memory_order_relaxed);
    }
    if (mprotect(s->base, s->guard_size, PROT_NONE) != 0)
        return -ENOMEM;
    s->guard_kind = TETHER_GUARD_MPROTECT;
    return 0;
}

int tether__stack_alloc(struct tether_stack *s, size_t size, size_t guard,
                        int force_mprotect)
{
    size_t len = size + guard;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

    if (p == MAP_FAILED)
        return -ENOMEM;
    s->base = p;
    s->map_size = len;
    s->guard_size = guard;
    if (install_guard(s, force_mprotect) != 0) {
        munmap(p, len);
        return -ENOMEM;
    }
    return 0;
}

void tether__stack_free(struct tether_stack *s)
{
    /* munmap drops the guard markers and any mprotect'd split alike. */
    munmap(s->base, s->map_size);
    s->base = NULL;
}

/*
 * All but the guard's lowest page: if the unwind runs out of the room it
 * is given, it faults in that page, inside the guard region, where the
 * fault handler knows it for the fiber's overflow.
 */
int tether__stack_guard_open(struct tether_stack *s)
{
    size_t page = page_size();
    char *from = s->base + page;
    size_t len = s->guard_size - page;

    if (len == 0)
        return -ENOMEM; /* a one-page guard has nothing to give */
    if (s->guard_kind == TETHER_GUARD_MADVISE)
        return madvise(from, len, MADV_GUARD_REMOVE) == 0 ? 0 : -ENOMEM;
    return mprotect(from, len, PROT_READ | PROT_WRITE) == 0 ? 0 : -ENOMEM;
}

uintptr_t tether__stack_guard_open_lo(const struct tether_stack *s)
{
    return (uintptr_t)s->base + page_size();
}

int tether__stack_guard_close(struct tether_stack *s)
{
    /* The pages the unwind touched are given back before the guard returns. */
    madvise(s->base, s->guard_size, MADV_DONTNEED);
    if (s->guard_kind == TETHER_GUARD_MADVISE)
        return madvise(s->base, s->guard_size, MADV_GUARD_INSTALL) == 0 ? 0 : -ENOMEM;
    return mprotect(s->base, s->guard_size, PROT_NONE) == 0 ? 0 : -ENOMEM;
}

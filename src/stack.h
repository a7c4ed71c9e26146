/*
 * Fiber stacks: slots carved from large reservations (stack.c), kept in
 * pools per geometry and per thread (stack_pool.c).
 *
 * A slot, from low to high addresses:
 *
 *   base            the guard region (guard_size bytes, never mapped)
 *   lo = base+guard the stack, `size` bytes, page-rounded
 *   hi = lo+size    one page of tether's own: the fiber object at its top,
 *                   the host record below it; the fiber's first frames
 *                   start below the record, in this page
 *   top = hi+page   the end of the slot
 */
#ifndef TETHER_STACK_H
#define TETHER_STACK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum tether_guard_kind {
    TETHER_GUARD_MADVISE = 1,  /* MADV_GUARD_INSTALL markers: no extra mapping */
    TETHER_GUARD_MPROTECT = 2, /* a PROT_NONE mapping of its own */
};

struct tether_stack_class;

struct tether_stack {
    char *base;       /* the slot's start: its guard region */
    size_t guard_size;
    size_t size;      /* the usable stack */
    int guard_kind;
    int guard_open;   /* an unwind opened the guard (tether__stack_guard_open) */
    struct tether_stack_class *cls; /* the pool it goes back to */
};

/*
 * In a build with AddressSanitizer: a stack slot is reused without being
 * unmapped, so the poison the last life's frames left in ASan's shadow
 * (their redzones, a dead fiber's especially) is cleared, from the
 * stack's lowest byte up to `top`, before the next life. Nothing
 * otherwise.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
static inline void tether__stack_unpoison(const struct tether_stack *s, const void *top)
{
    char *lo = s->base + s->guard_size;
    ASAN_UNPOISON_MEMORY_REGION(lo, (size_t)((const char *)top - lo));
}
#else
static inline void tether__stack_unpoison(const struct tether_stack *s, const void *top)
{
    (void)s;
    (void)top;
}
#endif

/*
 * A reservation that slots are carved from (stack_pool.c), on a list
 * that debuggers walk to find every fiber (debug_info.c, tether/debug.h):
 * slot i starts at base + i * slot_size, for i < carved.
 */
struct tether_chunk {
    struct tether_chunk *next;
    char *base;
    size_t slot_size;
    _Atomic size_t carved;
};

extern struct tether_chunk *_Atomic tether__chunks;

/* Page-rounds and checks sizes (0 = default). Returns 0 or -ERANGE. */
int tether__stack_geometry(size_t *size, size_t *guard);

/* The page size, and the size of a slot of this geometry. */
size_t tether__page_size(void);

static inline char *tether__stack_lo(const struct tether_stack *s)
{
    return s->base + s->guard_size;
}

static inline char *tether__stack_hi(const struct tether_stack *s)
{
    return tether__stack_lo(s) + s->size;
}

/* The end of the slot: tether's page is [hi, top). */
static inline char *tether__stack_top(const struct tether_stack *s)
{
    return tether__stack_hi(s) + tether__page_size();
}

/* ---- stack.c: reservations and guards ---------------------------------- */

/* 0 until the first guard is installed; then TETHER_GUARD_MADVISE or _MPROTECT. */
extern _Atomic int tether__guard_method;

/* The method before any guard decided it: TETHER_GUARD environment variable, or madvise. */
int tether__stack_guard_method_first(void);

/*
 * The guard method for a new slot: TETHER_GUARD_MADVISE or _MPROTECT.
 * Inline: every creation asks.
 */
static inline int tether__stack_guard_method(int force_mprotect)
{
    int m = atomic_load_explicit(&tether__guard_method, memory_order_relaxed);

    if (force_mprotect)
        return TETHER_GUARD_MPROTECT;
    return m ? m : tether__stack_guard_method_first();
}

/*
 * Reserves room for `count` slots of slot_size bytes (MAP_NORESERVE:
 * untouched pages cost nothing). Returns the reservation or NULL.
 */
char *tether__stack_reserve(size_t slot_size, size_t count);

/* Installs a slot's guard, once, when the slot is first used. 0 or -ENOMEM. */
int tether__stack_guard_install(struct tether_stack *s);

/*
 * Opens the guard region for use as stack (an unwind after an overflow
 * needs the room) and closes it again, emptied. Return 0 or -ENOMEM.
 */
int tether__stack_guard_open(struct tether_stack *s);
int tether__stack_guard_close(struct tether_stack *s);

/* The lowest usable address while the guard is open (its lowest page stays closed). */
uintptr_t tether__stack_guard_open_lo(const struct tether_stack *s);

/* Gives a slot's pages back to the kernel (they read as zeros again). */
void tether__stack_clean(struct tether_stack *s);

/* ---- stack_pool.c: where free slots wait ------------------------------- */

/*
 * A slot of this geometry (as asked: 0 for a default; checked here):
 * from the calling thread's cache, else the process-wide pool, else
 * carved from a reservation. Its pages hold whatever its last fiber
 * left. Returns 0, -ERANGE (tether__stack_geometry) or -ENOMEM.
 */
int tether__stack_get(struct tether_stack *s, size_t size, size_t guard,
                      int force_mprotect);

/* Gives a slot back to the calling thread's cache (no system call). */
void tether__stack_put(struct tether_stack *s);

#endif

/* Fiber stacks: an mmap'd region with a guard region at its low end. */
#ifndef TETHER_STACK_H
#define TETHER_STACK_H

#include <stddef.h>
#include <stdint.h>

enum tether_guard_kind {
    TETHER_GUARD_MADVISE = 1,  /* MADV_GUARD_INSTALL markers, one mapping */
    TETHER_GUARD_MPROTECT = 2, /* a PROT_NONE mapping of its own */
};

struct tether_stack {
    char *base;       /* start of the mapping: the guard region */
    size_t map_size;  /* guard + usable */
    size_t guard_size;
    int guard_kind;   /* enum tether_guard_kind */
};

/* Page-rounds and checks sizes (0 = default). Returns 0 or -ERANGE. */
int tether__stack_geometry(size_t *size, size_t *guard);

/* Maps a stack of geometry already checked. Returns 0 or -ENOMEM. */
int tether__stack_alloc(struct tether_stack *s, size_t size, size_t guard,
                        int force_mprotect);
void tether__stack_free(struct tether_stack *s);

/*
 * Opens the guard region for use as stack (an unwind after an overflow
 * needs the room) and closes it again, emptied. Return 0 or -ENOMEM.
 */
int tether__stack_guard_open(struct tether_stack *s);
int tether__stack_guard_close(struct tether_stack *s);

/* The lowest usable address while the guard is open (its lowest page stays closed). */
uintptr_t tether__stack_guard_open_lo(const struct tether_stack *s);

/*
 * The same through the pool (stack_pool.c): get reuses a free stack of
 * the same geometry if there is one, put empties a stack and keeps it
 * for the next fiber (or frees it when the pool is full).
 */
int tether__stack_get(struct tether_stack *s, size_t size, size_t guard,
                      int force_mprotect);
void tether__stack_put(struct tether_stack *s);

static inline char *tether__stack_lo(const struct tether_stack *s)
{
    return s->base + s->guard_size;
}

static inline char *tether__stack_hi(const struct tether_stack *s)
{
    return s->base + s->map_size;
}

#endif

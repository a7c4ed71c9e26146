/*
 * What a host asks about a fiber for people and for sizing: its name,
 * its state's name, how much of its stack it has used.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "fiber_impl.h"
#include "stack.h"

/* Has any fiber been given a name? Until one is, fault reports do not look. */
_Atomic int tether__fibers_named;

void tether__fiber_name_set(tether_fiber *f, const char *name)
{
    size_t n = name ? strnlen(name, TETHER_FIBER_NAME_MAX + 1) : 0;

    if (n > TETHER_FIBER_NAME_MAX) {
        /* Cut before the character the limit splits: back over its continuation bytes. */
        n = TETHER_FIBER_NAME_MAX;
        while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
            n--;
    }
    if (n > 0 && !atomic_load_explicit(&tether__fibers_named, memory_order_relaxed))
        atomic_store_explicit(&tether__fibers_named, 1, memory_order_relaxed);
    memcpy(f->name, name ? name : "", n);
    f->name[n] = '\0';
}

const char *tether_fiber_name(const tether_fiber *f)
{
    return f ? f->name : NULL;
}

int tether_fiber_set_name(tether_fiber *f, const char *name)
{
    if (!f)
        return -EINVAL;
    tether__fiber_name_set(f, name);
    return 0;
}

const char *tether_state_name(int state)
{
    switch (state) {
    case TETHER_READY: return "ready";
    case TETHER_RUNNING: return "running";
    case TETHER_YIELDED: return "yielded";
    case TETHER_RETURNED: return "returned";
    case TETHER_FAULTED: return "faulted";
    case TETHER_TERMINATED: return "terminated";
    default: return "unknown state";
    }
}

/*
 * From the bottom of the stack up, the first page the kernel has memory
 * for; the used part runs from there to the top (f->record, below which
 * the fiber's first frame starts).
 */
int tether_fiber_stack_used(const tether_fiber *f, size_t *bytes)
{
    size_t page = tether__page_size();
    unsigned char vec[512]; /* pages per mincore call */
    char *p, *hi;

    if (!f || !bytes)
        return -EINVAL;
    p = tether__stack_lo(&f->stack);
    hi = tether__stack_hi(&f->stack);
    while (p < hi) {
        size_t n = (size_t)(hi - p) / page;

        if (n > sizeof vec)
            n = sizeof vec;
        if (mincore(p, n * page, vec) != 0)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (vec[i] & 1) {
                *bytes = (size_t)((char *)f->record - (p + i * page));
                return 0;
            }
        p += n * page;
    }
    /* Nothing below the fiber object's page: what of the stack lies in that page. */
    *bytes = (size_t)((char *)f->record - hi);
    return 0;
}

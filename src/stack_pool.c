/*
 * A small cache of free stacks, so that a fiber's stack outlives it: the
 * next fiber of the same geometry takes it instead of paying for mmap,
 * the guard, and munmap (tens of microseconds, most of a fiber's cost).
 *
 * A stack going back to the pool is emptied first (MADV_DONTNEED): its
 * pages are released and read as zeros again, so no data passes from one
 * fiber to the next and the pool holds no resident memory. Its guard
 * stays in place.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "stack.h"

#define POOL_MAX 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tether_stack pool[POOL_MAX];
static int npool;

int tether__stack_get(struct tether_stack *s, size_t size, size_t guard,
                      int force_mprotect)
{
    int found = 0;

    pthread_mutex_lock(&lock);
    for (int i = npool - 1; i >= 0; i--) {
        struct tether_stack *p = &pool[i];
        if (p->map_size == size + guard && p->guard_size == guard &&
            (!force_mprotect || p->guard_kind == TETHER_GUARD_MPROTECT)) {
            *s = *p;
            pool[i] = pool[--npool];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return found ? 0 : tether__stack_alloc(s, size, guard, force_mprotect);
}

void tether__stack_put(struct tether_stack *s)
{
    char *lo = tether__stack_lo(s);
    int kept = 0;

    if (madvise(lo, (size_t)(tether__stack_hi(s) - lo), MADV_DONTNEED) == 0) {
        pthread_mutex_lock(&lock);
        if (npool < POOL_MAX) {
            pool[npool++] = *s;
            kept = 1;
        }
        pthread_mutex_unlock(&lock);
    }
    if (!kept)
        tether__stack_free(s);
    s->base = NULL;
}

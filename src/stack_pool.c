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
#include <string.h>
#include <sys/mman.h>

#include "stack.h"
#include "thread.h"

#define POOL_MAX 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tether_stack pool[POOL_MAX];
static int npool;

int tether__stack_get(struct tether_stack *s, size_t size, size_t guard,
                      int force_mprotect)
{
    int found = 0;

    pthread_mutex_lock(&lock);
    for (int i = npool - 1; i >= 0; i--) { /* the newest first */
        struct tether_stack *p = &pool[i];
        if (p->map_size == size + guard && p->guard_size == guard &&
            (!force_mprotect || p->guard_kind == TETHER_GUARD_MPROTECT)) {
            *s = *p;
            memmove(p, p + 1, (size_t)(npool - 1 - i) * sizeof *p);
            npool--;
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return found ? 0 : tether__stack_alloc(s, size, guard, force_mprotect);
}

/*
 * A full pool gives up its oldest stack for the new one, so that it
 * follows the sizes the program uses now.
 */
void tether__stack_put(struct tether_stack *s)
{
    char *lo = tether__stack_lo(s);
    struct tether_stack victim = *s;

    if (madvise(lo, (size_t)(tether__stack_hi(s) - lo), MADV_DONTNEED) == 0) {
        pthread_mutex_lock(&lock);
        if (npool < POOL_MAX) {
            pool[npool++] = *s;
            victim.base = NULL;
        } else {
            victim = pool[0];
            memmove(&pool[0], &pool[1], (POOL_MAX - 1) * sizeof pool[0]);
            pool[POOL_MAX - 1] = *s;
        }
        pthread_mutex_unlock(&lock);
    }
    if (victim.base)
        tether__stack_free(&victim);
    s->base = NULL;
}

/* In a fork child, the lock as new: another thread may have held it. */
static void child(struct tether_thread *t)
{
    (void)t;
    pthread_mutex_init(&lock, NULL);
}

static const struct tether_thread_hooks hooks = {NULL, NULL, child};

__attribute__((constructor)) static void register_hooks(void)
{
    tether__thread_hooks(&hooks);
}

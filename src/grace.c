/* Grace periods (grace.h): the writer's half. */
#include <sched.h>

#include "grace.h"

void tether__grace_wait(struct tether_grace *g)
{
    unsigned long p = atomic_fetch_add(&g->phase, 1);

    /* New readers count in the other phase; those of this one drain. */
    while (atomic_load(&g->readers[p & 1]) != 0)
        sched_yield();
}

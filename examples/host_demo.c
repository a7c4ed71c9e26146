/*
 * A first host: spawns several fibers, interleaves them with yields and
 * prints what each one returned.
 */
#include <stdint.h>
#include <stdio.h>
#include <tether.h>

/* Counts from 1 to its limit, yielding each number; returns the sum. */
static void *counter(void *arg, void *in)
{
    uintptr_t limit = (uintptr_t)arg, sum = 0;
    (void)in;
    for (uintptr_t i = 1; i <= limit; i++) {
        sum += i;
        tether_yield((void *)i, NULL);
    }
    return (void *)sum;
}

int main(void)
{
    enum { N = 4 };
    tether_fiber *f[N];
    int live = N, err;

    for (int i = 0; i < N; i++) {
        if ((err = tether_fiber_create(&f[i], counter, (void *)(uintptr_t)(i + 2), NULL)) < 0) {
            fprintf(stderr, "create: %s\n", tether_strerror(err));
            return 1;
        }
    }
    /* Round robin until every fiber has returned. */
    for (int round = 1; live > 0; round++) {
        for (int i = 0; i < N; i++) {
            void *v;
            if (tether_fiber_state(f[i]) == TETHER_RETURNED)
                continue;
            int st = tether_fiber_resume(f[i], NULL, &v);
            if (st == TETHER_YIELDED) {
                printf("round %d: fiber %d yielded %lu\n", round, i, (unsigned long)(uintptr_t)v);
            } else if (st == TETHER_RETURNED) {
                printf("round %d: fiber %d returned %lu\n", round, i, (unsigned long)(uintptr_t)v);
                live--;
            } else {
                fprintf(stderr, "fiber %d: %s\n", i, tether_strerror(st));
                return 1;
            }
        }
    }
    for (int i = 0; i < N; i++)
        tether_fiber_destroy(f[i]);
    return 0;
}

/*
 * A deliberately buggy plugin for examples/plugin_host.c: some of its
 * functions work, the others fault in the ways plugins do.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Works: the length of a string the host passes. */
void *plugin_length(void *arg)
{
    return (void *)(uintptr_t)strlen(arg);
}

/* Works: sums 1..n. */
void *plugin_sum(void *arg)
{
    uintptr_t n = (uintptr_t)arg, s = 0;
    for (uintptr_t i = 1; i <= n; i++)
        s += i;
    return (void *)s;
}

/* Dereferences NULL. */
void *plugin_null_deref(void *arg)
{
    int *volatile p = arg; /* the host passes NULL */
    return (void *)(intptr_t)*p;
}

/* Recurses until its stack runs out. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion" /* on purpose */
__attribute__((noinline)) static uintptr_t dig(uintptr_t n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    return dig(n + 1) + (uintptr_t)frame[0];
}
#pragma GCC diagnostic pop

void *plugin_overflow(void *arg)
{
    return (void *)dig((uintptr_t)arg);
}

/* Divides by the number the host passes (zero). */
void *plugin_divide(void *arg)
{
    volatile int d = (int)(intptr_t)arg;
    return (void *)(intptr_t)(100 / d);
}

/* Reads through a pointer the host passed in and has since freed (unmapped). */
void *plugin_read_stale(void *arg)
{
    const volatile char *p = arg;
    return (void *)(intptr_t)p[0];
}

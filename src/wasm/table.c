/*
 * Tables: wasm-rt.h's allocate, grow and free for funcref and externref
 * tables. Their elements live on the heap; on a fiber, each function
 * runs inside a host-call bracket, so that an interrupt neither stops a
 * guest holding malloc's lock nor loses a table's new elements (it takes
 * effect when the bracket closes, after the table is consistent).
 */
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

/* Resizes *data to n elements of `size` bytes; 0 or -1. */
static int resize(void **data, uint32_t n, size_t size)
{
    void *p;

    if (n == 0) {
        free(*data);
        *data = NULL;
        return 0;
    }
    if (!(p = realloc(*data, (size_t)n * size)))
        return -1;
    *data = p;
    return 0;
}

/*
 * The body of each function: allocate (old = 0, n = size), grow, free
 * (n = 0). Elements from old to n are set to *init (a value of `size`
 * bytes), or zeroed if init is NULL. Returns 0 or -1.
 */
static int change(void **data, uint32_t *cur, uint32_t n, size_t size,
                  const void *init)
{
    uint32_t old = *cur;
    int err;

    tether_host_enter(); /* -EPERM off a fiber: nothing to bracket */
    if ((err = resize(data, n, size)) == 0) {
        for (uint32_t i = old; i < n; i++) {
            if (init)
                memcpy((char *)*data + (size_t)i * size, init, size);
            else
                memset((char *)*data + (size_t)i * size, 0, size);
        }
        *cur = n;
    }
    tether_host_leave(); /* a pending interrupt takes effect here */
    return err;
}

/* Is growing from size by delta within max? */
static int may_grow(uint32_t size, uint32_t delta, uint32_t max)
{
    return (uint64_t)size + delta <= max;
}

TW_RT_API void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *t,
                                              uint32_t n, uint32_t max)
{
    t->data = NULL;
    t->size = 0;
    t->max_size = max;
    if (change((void **)&t->data, &t->size, n, sizeof *t->data, NULL) != 0)
        tw__trap_raise(TETHER_WASM_TRAP_MEMORY_LIMIT);
}

TW_RT_API void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *t,
                                                uint32_t n, uint32_t max)
{
    t->data = NULL;
    t->size = 0;
    t->max_size = max;
    if (change((void **)&t->data, &t->size, n, sizeof *t->data, NULL) != 0)
        tw__trap_raise(TETHER_WASM_TRAP_MEMORY_LIMIT);
}

TW_RT_API void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *t)
{
    change((void **)&t->data, &t->size, 0, sizeof *t->data, NULL);
}

TW_RT_API void wasm_rt_free_externref_table(wasm_rt_externref_table_t *t)
{
    change((void **)&t->data, &t->size, 0, sizeof *t->data, NULL);
}

/* table.grow for either kind: the old size, or UINT32_MAX if it cannot. */
static uint32_t grow(void **data, uint32_t *size, uint32_t max_size, uint32_t delta,
                     size_t elem, const void *init)
{
    uint32_t old = *size;

    if (!may_grow(old, delta, max_size))
        return UINT32_MAX;
    if (delta && change(data, size, old + delta, elem, init) != 0)
        return UINT32_MAX;
    return old;
}

TW_RT_API uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *t,
                                              uint32_t delta,
                                              wasm_rt_funcref_t init)
{
    return grow((void **)&t->data, &t->size, t->max_size, delta, sizeof *t->data, &init);
}

TW_RT_API uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *t,
                                                uint32_t delta,
                                                wasm_rt_externref_t init)
{
    return grow((void **)&t->data, &t->size, t->max_size, delta, sizeof *t->data, &init);
}

/*
 * Linear memories: wasm-rt.h's allocate, grow and free.
 *
 * Every memory sits at the bottom of its own TETHER_WASM_SLOT_RESERVATION
 * bytes of PROT_NONE address space: wasm2c indexes memory with a 32-bit
 * address plus a 32-bit offset, so whatever generated code touches lies
 * inside the reservation, and whatever it touches beyond the memory's
 * size faults. A memory that an instance creates while it is being
 * instantiated takes its slot's reservation; any other (a host's, a
 * module's second) gets a reservation of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasm_impl.h"

#define RESERVATION ((size_t)TETHER_WASM_SLOT_RESERVATION)

/* Memories outside any pool, for tw__is_memory_addr(). */
struct lone {
    uint8_t *base;
    struct lone *next;
};

static pthread_mutex_t lone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lone *lone_list;

static int lone_add(uint8_t *base)
{
    struct lone *l = malloc(sizeof *l);

    if (!l)
        return -ENOMEM;
    l->base = base;
    pthread_mutex_lock(&lone_lock);
    l->next = lone_list;
    lone_list = l;
    pthread_mutex_unlock(&lone_lock);
    return 0;
}

static void lone_remove(uint8_t *base)
{
    struct lone **p, *l = NULL;

    pthread_mutex_lock(&lone_lock);
    for (p = &lone_list; *p; p = &(*p)->next)
        if ((*p)->base == base) {
            l = *p;
            *p = l->next;
            break;
        }
    pthread_mutex_unlock(&lone_lock);
    free(l);
}

int tw__is_memory_addr(const void *addr)
{
    const uint8_t *a = addr;
    int found = 0;

    if (tw__slot_of(addr))
        return 1;
    pthread_mutex_lock(&lone_lock);
    for (struct lone *l = lone_list; l && !found; l = l->next)
        found = a >= l->base && a < l->base + RESERVATION;
    pthread_mutex_unlock(&lone_lock);
    return found;
}

/* Makes [0, to) of a reservation accessible, where [0, from) was. */
static int resize(uint8_t *base, size_t from, size_t to)
{
    if (to > from)
        return mprotect(base + from, to - from, PROT_READ | PROT_WRITE);
    if (to < from) {
        madvise(base + to, from - to, MADV_DONTNEED);
        return mprotect(base + to, from - to, PROT_NONE);
    }
    return 0;
}

void tw__slot_memory_clean(tether_wasm_instance *I, size_t accessible)
{
    size_t keep = I->pool->keep_resident;
    size_t zero = accessible < keep ? accessible : keep;

    memset(I->mem_base, 0, zero);
    if (accessible > zero)
        madvise(I->mem_base + zero, accessible - zero, MADV_DONTNEED);
    I->mem_accessible = accessible;
    I->mem_taken = 0;
}

/* A memory cannot be had: a trap on an instance, else the end. */
static _Noreturn void no_memory(tether_wasm_instance *I, const char *why)
{
    if (I)
        tw__trap_raise(TETHER_WASM_TRAP_MEMORY_LIMIT);
    fprintf(stderr, "wasm_rt_allocate_memory: %s\n", why);
    abort();
}

/* A reservation of its own for a memory outside a slot, or NULL. */
static uint8_t *reserve_alone(size_t bytes)
{
    uint8_t *base = mmap(NULL, RESERVATION, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base, bytes, PROT_READ | PROT_WRITE) != 0 || lone_add(base) != 0) {
        munmap(base, RESERVATION);
        return NULL;
    }
    return base;
}

/*
 * The whole function is a host call (tether_host_enter): an interrupt
 * must not stop it inside malloc, nor between an mprotect and the
 * bookkeeping that remembers it.
 */
TW_RT_API void wasm_rt_allocate_memory(wasm_rt_memory_t *mem,
                                       uint32_t initial, uint32_t max)
{
    tether_wasm_instance *I = tw__current();
    uint32_t limit = I ? I->pool->max_pages : TW_PAGES_LIMIT;
    size_t bytes = (size_t)initial * TW_PAGE;
    uint8_t *base = NULL;

    if (max > limit)
        max = limit;
    if (initial > max)
        no_memory(I, "initial size above the limit");
    tether_host_enter();
    if (I && I->instantiating && !I->mem_taken) {
        if (resize(I->mem_base, I->mem_accessible, bytes) == 0) {
            I->mem_accessible = bytes;
            I->mem_taken = 1;
            base = I->mem_base;
        }
    } else {
        base = reserve_alone(bytes);
    }
    if (base) {
        mem->data = base;
        mem->pages = initial;
        mem->max_pages = max;
        mem->size = (uint32_t)bytes;
        if (I && !I->memory)
            I->memory = mem;
    }
    tether_host_leave();
    if (!base)
        no_memory(I, "cannot reserve 8 GiB of address space");
}

TW_RT_API uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta)
{
    uint32_t old = mem->pages;
    uint64_t pages = (uint64_t)old + delta;
    int err;

    if (pages > mem->max_pages)
        return UINT32_MAX;
    if (delta == 0)
        return old;
    /*
     * Bracketed: an interrupt between the mprotect and the new size would
     * leave pages accessible that the size (and the slot's clean-up)
     * does not cover.
     */
    tether_host_enter();
    err = mprotect(mem->data + (size_t)old * TW_PAGE, (size_t)delta * TW_PAGE,
                   PROT_READ | PROT_WRITE);
    if (err == 0) {
        mem->pages = (uint32_t)pages;
        mem->size = (uint32_t)(pages * TW_PAGE);
    }
    tether_host_leave();
    return err == 0 ? old : UINT32_MAX;
}

TW_RT_API void wasm_rt_free_memory(wasm_rt_memory_t *mem)
{
    tether_wasm_instance *I;

    if (!mem->data)
        return;
    if ((I = tw__slot_of(mem->data)) != NULL) {
        tw__slot_memory_clean(I, mem->size);
    } else {
        lone_remove(mem->data);
        munmap(mem->data, RESERVATION);
    }
    memset(mem, 0, sizeof *mem);
}

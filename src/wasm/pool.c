/*
 * Pools: one reservation of address space cut into slots, each the home
 * of one instance at a time (its memory, its fiber, its state), kept
 * warm between instances. The registry of pools answers "which slot owns
 * this address?" for freed memories and classified faults.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasm_impl.h"

#define RESERVATION ((size_t)TETHER_WASM_SLOT_RESERVATION)

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static tether_wasm_pool *registry;

tether_wasm_instance *tw__slot_of(const void *addr)
{
    const uint8_t *a = addr;
    tether_wasm_instance *I = NULL;

    pthread_mutex_lock(&registry_lock);
    for (tether_wasm_pool *p = registry; p; p = p->next)
        if (a >= p->base && a < p->base + p->reserved) {
            I = &p->slots[(size_t)(a - p->base) / RESERVATION];
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    return I;
}

/* Is ptr one of the slots of a live pool? */
static int is_slot(const void *ptr)
{
    const char *c = ptr;
    int found = 0;

    pthread_mutex_lock(&registry_lock);
    for (tether_wasm_pool *p = registry; p && !found; p = p->next) {
        const char *lo = (const char *)p->slots;
        found = c >= lo && c < lo + p->nslots * sizeof *p->slots &&
                (size_t)(c - lo) % sizeof *p->slots == 0;
    }
    pthread_mutex_unlock(&registry_lock);
    return found;
}

tether_wasm_instance *tw__current(void)
{
    tether_fiber *f = tether_current();
    tether_wasm_instance *I;

    if (!f || !(I = tether_fiber_user_data(f)))
        return NULL;
    /* Another library's fiber may keep anything in its user data. */
    return is_slot(I) && I->fiber == f ? I : NULL;
}

tether_wasm_instance *tether_wasm_current(void)
{
    return tw__current();
}

static int options(tether_wasm_pool *p, const tether_wasm_pool_opts *o)
{
    static const tether_wasm_pool_opts defaults;

    if (!o)
        o = &defaults;
    for (size_t i = 0; i < sizeof o->reserved / sizeof o->reserved[0]; i++)
        if (o->reserved[i])
            return -EINVAL; /* an option of a later release */
    p->nslots = o->slots ? o->slots : TETHER_WASM_SLOTS_DEFAULT;
    p->stack_size = o->stack_size ? o->stack_size : TETHER_WASM_STACK_SIZE_DEFAULT;
    p->max_pages = o->max_memory_pages ? o->max_memory_pages : TW_PAGES_LIMIT;
    p->keep_resident = o->keep_resident ? o->keep_resident
                                        : TETHER_WASM_KEEP_RESIDENT_DEFAULT;
    if (p->nslots > TETHER_WASM_SLOTS_MAX || p->max_pages > TETHER_WASM_PAGES_MAX ||
        p->stack_size < TETHER_STACK_SIZE_MIN || p->stack_size > TETHER_STACK_SIZE_MAX)
        return -ERANGE;
    if (p->max_pages > TW_PAGES_LIMIT)
        p->max_pages = TW_PAGES_LIMIT;
    return 0;
}

int tether_wasm_pool_create(tether_wasm_pool **out, const tether_wasm_pool_opts *opts)
{
    tether_wasm_pool *p;
    int err;

    if (!out)
        return -EINVAL;
    if (!(p = calloc(1, sizeof *p)))
        return -ENOMEM;
    if ((err = options(p, opts)) != 0) {
        free(p);
        return err;
    }
    p->reserved = p->nslots * RESERVATION;
    p->slots = calloc(p->nslots, sizeof *p->slots);
    p->base = mmap(NULL, p->reserved, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!p->slots || p->base == MAP_FAILED) {
        if (p->base != MAP_FAILED)
            munmap(p->base, p->reserved);
        free(p->slots);
        free(p);
        return -ENOMEM;
    }
    for (unsigned i = p->nslots; i-- > 0;) {
        tether_wasm_instance *I = &p->slots[i];
        I->pool = p;
        I->mem_base = p->base + i * RESERVATION;
        I->next_free = p->free;
        p->free = I;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_lock(&registry_lock);
    p->next = registry;
    registry = p;
    pthread_mutex_unlock(&registry_lock);
    *out = p;
    return 0;
}

int tether_wasm_pool_destroy(tether_wasm_pool *p)
{
    tether_wasm_pool **pp;

    if (!p)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    if (p->alive) {
        pthread_mutex_unlock(&p->lock);
        return -EBUSY;
    }
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_lock(&registry_lock);
    for (pp = &registry; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    for (unsigned i = 0; i < p->nslots; i++) {
        tether_wasm_instance *I = &p->slots[i];
        if (I->fiber)
            tether_fiber_destroy(I->fiber);
        tether_kill_switch_free(I->kill);
        free(I->mi);
        free(I->bind);
        free(I->exc_data);
        free(I->vals);
    }
    munmap(p->base, p->reserved);
    pthread_mutex_destroy(&p->lock);
    free(p->slots);
    free(p);
    return 0;
}

/* A free slot, with its fiber, or NULL and an error. */
tether_wasm_instance *tw__slot_take(tether_wasm_pool *p, int *err)
{
    tether_wasm_instance *I;

    pthread_mutex_lock(&p->lock);
    if ((I = p->free) != NULL) {
        p->free = I->next_free;
        p->alive++;
    }
    pthread_mutex_unlock(&p->lock);
    if (!I) {
        *err = -EAGAIN;
        return NULL;
    }
    if (!I->fiber) {
        tether_fiber_opts fo = {.stack_size = p->stack_size};
        if ((*err = tether_fiber_create(&I->fiber, tw__loop, I, &fo)) != 0 ||
            (*err = tether_kill_switch_create(I->fiber, &I->kill)) != 0) {
            if (I->fiber)
                tether_fiber_destroy(I->fiber);
            I->fiber = NULL;
            tw__slot_put(I);
            return NULL;
        }
        tether_fiber_set_user_data(I->fiber, I);
    }
    return I;
}

void tw__slot_put(tether_wasm_instance *I)
{
    tether_wasm_pool *p = I->pool;

    I->status = TW_FREE;
    pthread_mutex_lock(&p->lock);
    I->next_free = p->free;
    p->free = I;
    p->alive--;
    pthread_mutex_unlock(&p->lock);
}

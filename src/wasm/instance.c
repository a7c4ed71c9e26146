/*
 * Instances: made in a pool slot, reset to their initial state, given
 * back. Instantiation (wasm2c's instantiate function: memories, tables,
 * globals, data and element segments, the start function) runs on the
 * instance's fiber like any call, so it can trap without harm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

static void instantiate_entry(void *mi, void *arg)
{
    tether_wasm_instance *I = arg;
    I->module->instantiate(mi, I);
}

/* The memory tether_wasm_memory() gives: see its comment in wasm.h. */
static void pick_memory(tether_wasm_instance *I)
{
    const tether_wasm_module *m = I->module;
    const tether_wasm_export *first = NULL;

    for (size_t i = 0; i < m->nexports; i++) {
        const tether_wasm_export *e = &m->exports[i];
        if (e->kind != TETHER_WASM_EXTERN_MEMORY || !e->get)
            continue;
        if (!first || strcmp(e->name, "memory") == 0)
            first = e;
    }
    if (first) {
        I->memory = first->get(I->mi);
        return;
    }
    if (I->memory)
        return; /* the first it allocated */
    for (size_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == TETHER_WASM_EXTERN_MEMORY && I->bind &&
            I->bind[i]) {
            I->memory = I->bind[i]->ptr;
            return;
        }
}

/* How an instantiation that ran (or was resumed) ended. */
static int instantiated(tether_wasm_instance *I, int st)
{
    if (st == TETHER_WASM_YIELDED)
        return st; /* a host function in the start function yielded */
    I->instantiating = NULL;
    if (st != TETHER_WASM_OK) {
        I->status = TW_FAILED;
        return st;
    }
    pick_memory(I);
    return TETHER_WASM_OK;
}

static int instantiate(tether_wasm_instance *I)
{
    memset(I->mi, 0, I->module->instance_size);
    I->memory = NULL;
    I->host_depth = 0;
    I->yielded = NULL;
    I->invoke_results = NULL;
    I->unwind_target = NULL;
    I->exc_tag = I->exc_size = 0;
    I->status = TW_IDLE;
    I->instantiating = instantiated;
    return instantiated(I, tw__run(I, instantiate_entry, I));
}

int tether_wasm_instance_create(tether_wasm_instance **out, tether_wasm_pool *pool,
                                const tether_wasm_module *m,
                                const tether_wasm_instance_opts *opts)
{
    tether_wasm_instance *I;
    int err;

    if (!out || !pool || !m || m->abi != TETHER_WASM_MODULE_ABI ||
        !m->instantiate || !m->free || (m->nexports && !m->exports) ||
        (m->nimports && !m->imports))
        return -EINVAL;
    if (opts)
        for (size_t i = 0; i < sizeof opts->reserved / sizeof opts->reserved[0]; i++)
            if (opts->reserved[i])
                return -EINVAL; /* an option of a later release */
    if ((err = tw__module_ready(m)) != 0)
        return err;
    if (!(I = tw__slot_take(pool, &err)))
        return err;
    if ((err = tw__bind(I, m, opts)) != 0)
        goto fail;
    if (I->mi_size < m->instance_size) {
        void *mi = realloc(I->mi, m->instance_size);
        if (!mi) {
            err = -ENOMEM;
            goto fail;
        }
        I->mi = mi;
        I->mi_size = m->instance_size;
    }
    I->module = m;
    I->user_data = opts ? opts->user_data : NULL;
    I->timeout_ns = opts ? opts->timeout_ns : 0;
    *out = I;
    return instantiate(I);
fail:
    tw__slot_put(I);
    return err;
}

/* Abandons what the fiber holds: a yielded call, a pending interrupt. */
static int settle_fiber(tether_wasm_instance *I)
{
    if (tether_fiber_state(I->fiber) == TETHER_RUNNING)
        return tether_current() == I->fiber ? -EDEADLK : -EBUSY;
    if (I->status == TW_YIELDED || I->kill_fired)
        return tw__rearm(I);
    return 0;
}

int tether_wasm_instance_reset(tether_wasm_instance *I)
{
    int err;

    if (!I || I->status == TW_FREE)
        return -EINVAL;
    if ((err = settle_fiber(I)) != 0)
        return err;
    I->module->free(I->mi);
    return instantiate(I);
}

int tether_wasm_instance_release(tether_wasm_instance *I)
{
    int err;

    if (!I || I->status == TW_FREE)
        return -EINVAL;
    if ((err = settle_fiber(I)) != 0)
        return err;
    I->module->free(I->mi);
    I->module = NULL;
    I->user_data = NULL;
    tw__slot_put(I);
    return 0;
}

void *tether_wasm_module_instance(const tether_wasm_instance *I)
{
    return I ? I->mi : NULL;
}

void *tether_wasm_user_data(const tether_wasm_instance *I)
{
    return I ? I->user_data : NULL;
}

int tether_wasm_memory(const tether_wasm_instance *I, uint8_t **base, uint64_t *size)
{
    if (!I || !I->memory)
        return -ENOENT;
    if (base)
        *base = I->memory->data;
    if (size)
        *size = I->memory->size;
    return 0;
}

void *tether_wasm_memory_at(const tether_wasm_instance *I, uint64_t addr, uint64_t len)
{
    if (!I || !I->memory || addr > I->memory->size || len > I->memory->size - addr)
        return NULL;
    return I->memory->data + addr;
}

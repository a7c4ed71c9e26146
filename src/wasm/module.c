/*
 * Modules: wasm2c's per-process initialisation, run once per module;
 * export lookup; loading a module that `tether-wasm compile` built.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static const tether_wasm_module **ready;
static size_t nready, cap;
static const tether_wasm_module *_Atomic last_ready;

int tw__module_ready(const tether_wasm_module *m)
{
    int err = 0;
    size_t i;

    if (atomic_load_explicit(&last_ready, memory_order_acquire) == m)
        return 0;
    pthread_mutex_lock(&ready_lock);
    for (i = 0; i < nready && ready[i] != m; i++)
        ;
    if (i == nready) {
        if (nready == cap) {
            size_t n = cap ? 2 * cap : 16;
            const tether_wasm_module **r = realloc(ready, n * sizeof *r);
            if (!r) {
                err = -ENOMEM;
                goto out;
            }
            ready = r;
            cap = n;
        }
        wasm_rt_init();
        if (m->init_module)
            m->init_module();
        ready[nready++] = m;
    }
    atomic_store_explicit(&last_ready, m, memory_order_release);
out:
    pthread_mutex_unlock(&ready_lock);
    return err;
}

const tether_wasm_export *tether_wasm_module_export(const tether_wasm_module *m,
                                                   const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->nexports; i++)
        if (strcmp(m->exports[i].name, name) == 0)
            return &m->exports[i];
    return NULL;
}

int tether_wasm_module_load(const tether_wasm_module **out, const char *path,
                            char *err, size_t errlen)
{
    const tether_wasm_module *const *info;
    void *h;

    if (!out || !path) {
        if (errlen)
            snprintf(err, errlen, "no module given");
        return -EINVAL;
    }
    if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        if (errlen)
            snprintf(err, errlen, "%s", dlerror());
        return -ENOENT;
    }
    info = dlsym(h, "tether_wasm_module_info");
    if (!info || !*info) {
        if (errlen)
            snprintf(err, errlen, "%s: not a tether-wasm module", path);
        dlclose(h);
        return -ENOEXEC;
    }
    if ((*info)->abi != TETHER_WASM_MODULE_ABI) {
        if (errlen)
            snprintf(err, errlen, "%s: built for module ABI %u, not %u", path,
                     (*info)->abi, TETHER_WASM_MODULE_ABI);
        dlclose(h);
        return -EPROTO;
    }
    *out = *info; /* the object stays loaded: instances may outlive us */
    return 0;
}

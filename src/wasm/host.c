/*
 * Host imports: a module's imports matched to what the host provides,
 * and the calls that translated import stubs make through them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

static const char *kind_name(int kind)
{
    switch (kind) {
    case TETHER_WASM_EXTERN_FUNC: return "function";
    case TETHER_WASM_EXTERN_TABLE: return "table";
    case TETHER_WASM_EXTERN_MEMORY: return "memory";
    case TETHER_WASM_EXTERN_GLOBAL: return "global";
    default: return "import";
    }
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Does h serve import i? 0, or why not. */
static const char *mismatch(const tether_wasm_import *i,
                            const tether_wasm_host_import *h)
{
    if (h->kind != i->kind)
        return "is not the same kind";
    switch (i->kind) {
    case TETHER_WASM_EXTERN_FUNC:
        if (!h->fn)
            return "has no function";
        if (!same(h->params, i->params) || !same(h->results, i->results))
            return "has another type";
        return NULL;
    case TETHER_WASM_EXTERN_GLOBAL:
        if (!same(h->results, i->results))
            return "has another type";
        /* fall through */
    default:
        return h->ptr ? NULL : "has no storage";
    }
}

/*
 * What the host provides for import i: the first entry of that module
 * and name that matches it, else the first of that module and name (to
 * say why it does not match), else NULL. A host may offer one name with
 * several types.
 */
static const tether_wasm_host_import *find(const tether_wasm_import *i,
                                           const tether_wasm_host_import *hs,
                                           size_t n)
{
    const tether_wasm_host_import *named = NULL;

    for (size_t k = 0; k < n; k++)
        if (same(hs[k].module, i->module) && same(hs[k].name, i->name)) {
            if (!mismatch(i, &hs[k]))
                return &hs[k];
            if (!named)
                named = &hs[k];
        }
    return named;
}

/* Binds every import of m, or reports the first that cannot be. */
static int link(const tether_wasm_module *m, const tether_wasm_host_import *hs,
                size_t n, const tether_wasm_host_import **bind, char *err,
                size_t errlen)
{
    for (size_t k = 0; k < m->nimports; k++) {
        const tether_wasm_import *i = &m->imports[k];
        const tether_wasm_host_import *h = find(i, hs, n);
        const char *why = h ? mismatch(i, h) : "is not provided by the host";

        if (why) {
            if (errlen)
                snprintf(err, errlen, "%s import %s.%s (%s -> %s) %s",
                         kind_name(i->kind), i->module, i->name,
                         i->params ? i->params : "", i->results ? i->results : "",
                         why);
            return -ENOENT;
        }
        if (bind)
            bind[k] = h;
    }
    return 0;
}

int tether_wasm_link_check(const tether_wasm_module *m,
                           const tether_wasm_host_import *imports, size_t nimports,
                           char *err, size_t errlen)
{
    if (!m || (nimports && !imports))
        return -EINVAL;
    return link(m, imports, nimports, NULL, err, errlen);
}

int tw__bind(tether_wasm_instance *I, const tether_wasm_module *m,
             const tether_wasm_instance_opts *o)
{
    const tether_wasm_host_import *hs = o ? o->imports : NULL;
    size_t n = o ? o->nimports : 0;
    int err;

    if (n && !hs)
        return -EINVAL;
    if (I->bind_module == m && I->bind_from == hs && I->bind_count == n)
        return 0; /* the slot's last instance had the same */
    I->bind_module = NULL;
    if (m->nimports > I->bind_cap) {
        const tether_wasm_host_import **b = realloc(I->bind, m->nimports * sizeof *b);
        if (!b)
            return -ENOMEM;
        I->bind = b;
        I->bind_cap = m->nimports;
    }
    if ((err = link(m, hs, n, I->bind, NULL, 0)) != 0)
        return err;
    I->bind_module = m;
    I->bind_from = hs;
    I->bind_count = n;
    return 0;
}

void tether_wasm_host_call(void *host, size_t index, tether_wasm_val *vals)
{
    tether_wasm_instance *I = host;
    const tether_wasm_host_import *h = I->bind[index];

    tether_host_enter();
    I->host_depth++;
    h->fn(I, h->data, vals);
    I->host_depth--;
    tether_host_leave();
}

void *tether_wasm_host_extern(void *host, size_t index)
{
    tether_wasm_instance *I = host;
    return I->bind[index]->ptr;
}

/*
 * The rest of wasm-rt.h (wabt 1.0.32) on tether instances: the runtime's
 * state, traps, function types, and the exception-handling support that
 * wasm2c's --enable-exceptions output calls. Memories are in memory.c,
 * tables in table.c.
 *
 * A trap is not a longjmp here: it ends the instance's call through
 * tether_terminate() (trap.c), and the host's tether_wasm_call() reports
 * it. Exceptions are wasm's own control flow inside one call, so they
 * do use wasm-rt.h's jmp_buf targets, kept per instance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

static _Atomic int initialized;

TW_RT_API void wasm_rt_init(void)
{
    atomic_store(&initialized, 1);
}

TW_RT_API bool wasm_rt_is_initialized(void)
{
    return atomic_load(&initialized);
}

/* Pools and their instances own everything; there is nothing to free. */
TW_RT_API void wasm_rt_free(void)
{
    atomic_store(&initialized, 0);
}

static int kind_of(wasm_rt_trap_t code)
{
    switch (code) {
    case WASM_RT_TRAP_OOB: return TETHER_WASM_TRAP_OOB;
    case WASM_RT_TRAP_INT_OVERFLOW: return TETHER_WASM_TRAP_INT_OVERFLOW;
    case WASM_RT_TRAP_DIV_BY_ZERO: return TETHER_WASM_TRAP_DIV_BY_ZERO;
    case WASM_RT_TRAP_INVALID_CONVERSION: return TETHER_WASM_TRAP_INVALID_CONVERSION;
    case WASM_RT_TRAP_UNREACHABLE: return TETHER_WASM_TRAP_UNREACHABLE;
    case WASM_RT_TRAP_CALL_INDIRECT: return TETHER_WASM_TRAP_CALL_INDIRECT;
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return TETHER_WASM_TRAP_UNCAUGHT_EXCEPTION;
    case WASM_RT_TRAP_EXHAUSTION: return TETHER_WASM_TRAP_EXHAUSTION;
    default: return TETHER_WASM_TRAP_NONE;
    }
}

TW_RT_API void wasm_rt_trap(wasm_rt_trap_t code)
{
    tether_wasm_trap(kind_of(code));
}

TW_RT_API const char *wasm_rt_strerror(wasm_rt_trap_t code)
{
    return code == WASM_RT_TRAP_NONE ? "no error" : tether_wasm_trap_message(kind_of(code));
}

/*
 * Function types: the same signature always gets the same number, from
 * 1 up (0 is the null funcref's type).
 */
struct sig {
    uint32_t params, results;
    wasm_rt_type_t *types;
};

static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sig *sigs;
static uint32_t nsigs, sigs_cap;

static uint32_t find_or_add(uint32_t params, uint32_t results, wasm_rt_type_t *t)
{
    uint32_t n = params + results, i;

    for (i = 0; i < nsigs; i++)
        if (sigs[i].params == params && sigs[i].results == results &&
            memcmp(sigs[i].types, t, n * sizeof *t) == 0) {
            free(t);
            return i + 1;
        }
    if (nsigs == sigs_cap) {
        uint32_t cap = sigs_cap ? 2 * sigs_cap : 32;
        struct sig *s = realloc(sigs, cap * sizeof *s);
        if (!s)
            abort(); /* wasm-rt.h gives no way to fail */
        sigs = s;
        sigs_cap = cap;
    }
    sigs[nsigs] = (struct sig){params, results, t};
    return ++nsigs;
}

TW_RT_API uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
    uint32_t n = params + results, id;
    wasm_rt_type_t *t = malloc((n ? n : 1) * sizeof *t);
    va_list ap;

    if (!t)
        abort();
    va_start(ap, results);
    for (uint32_t i = 0; i < n; i++)
        t[i] = (wasm_rt_type_t)va_arg(ap, int);
    va_end(ap);
    pthread_mutex_lock(&types_lock);
    id = find_or_add(params, results, t);
    pthread_mutex_unlock(&types_lock);
    return id;
}

/* ------------------------------------------------------- exceptions */

static _Atomic uint32_t next_tag;

TW_RT_API uint32_t wasm_rt_register_tag(uint32_t size)
{
    (void)size;
    return atomic_fetch_add(&next_tag, 1);
}

/* Off an instance (wasm2c code run by hand): per thread. */
static __thread struct {
    uint32_t tag, size, cap;
    void *data;
    WASM_RT_UNWIND_TARGET *target;
} lone;

TW_RT_API void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values)
{
    tether_wasm_instance *I = tw__current();
    uint32_t *cap = I ? &I->exc_cap : &lone.cap;
    void **data = I ? &I->exc_data : &lone.data;

    if (size > *cap) {
        void *d;
        tether_host_enter();
        d = realloc(*data, size);
        if (d) {
            *data = d;
            *cap = size;
        }
        tether_host_leave();
        if (!d)
            tw__trap_raise(TETHER_WASM_TRAP_MEMORY_LIMIT);
    }
    if (size)
        memcpy(*data, values, size);
    if (I) {
        I->exc_tag = tag;
        I->exc_size = size;
    } else {
        lone.tag = tag;
        lone.size = size;
    }
}

TW_RT_API WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void)
{
    tether_wasm_instance *I = tw__current();
    return I ? I->unwind_target : lone.target;
}

TW_RT_API void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target)
{
    tether_wasm_instance *I = tw__current();

    if (I)
        I->unwind_target = target;
    else
        lone.target = target;
}

TW_RT_API void wasm_rt_throw(void)
{
    WASM_RT_UNWIND_TARGET *target = wasm_rt_get_unwind_target();

    if (!target)
        tether_wasm_trap(TETHER_WASM_TRAP_UNCAUGHT_EXCEPTION);
    /* wasm_rt_try() is sigsetjmp(target, 1): the same jmp_buf type here. */
    siglongjmp(*target, 1);
}

TW_RT_API uint32_t wasm_rt_exception_tag(void)
{
    tether_wasm_instance *I = tw__current();
    return I ? I->exc_tag : lone.tag;
}

TW_RT_API uint32_t wasm_rt_exception_size(void)
{
    tether_wasm_instance *I = tw__current();
    return I ? I->exc_size : lone.size;
}

TW_RT_API void *wasm_rt_exception(void)
{
    tether_wasm_instance *I = tw__current();
    return I ? I->exc_data : lone.data;
}

/*
 * Instances from the host's side: calls, every kind of trap done for
 * real by a real module (tests/wasm/guest.wat), and what is true after
 * each (the host runs on, the instance can be called again, a reset
 * brings back its initial state); host functions that call back into
 * the guest, yield and terminate; time limits and interrupts; pools;
 * and thousands of instance lifetimes without a leak.
 *
 * Built with -fexceptions: the host functions' cleanups must run when a
 * trap ends the call they are part of.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <tether/wasm.h>

#include "../testlib.h"
#include "data_oob.h"
#include "guest.h"
#include "start_trap.h"

/* ------------------------------------------------------ host functions */

static int cleanups; /* host functions' cleanups that ran */

static void count_cleanup(int *armed)
{
    if (*armed)
        cleanups++;
}

static uint32_t invoke1(tether_wasm_instance *inst, const char *name, int n, ...);

/* callback(n): via_host(n - 1) for n > 0: guest -> host -> guest -> ... */
static void h_callback(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    (void)data;
    v[0].i32 = v[0].i32 ? invoke1(inst, "via_host", 1, v[0].i32 - 1) : 0;
}

/* yield(x): hands x to the host, returns what the host resumes it with. */
static void h_yield(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    int armed __attribute__((cleanup(count_cleanup))) = 1;
    void *in = NULL;

    (void)inst;
    (void)data;
    ck_assert_int_eq(tether_wasm_yield((void *)(uintptr_t)v[0].i32, &in), 0);
    v[0].i32 = (uint32_t)(uintptr_t)in;
    armed = 0;
}

static void h_terminate(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    (void)inst;
    (void)data;
    tether_wasm_terminate((void *)(uintptr_t)v[0].i32);
}

/* A guest call that traps (1 / 0) under this host function. */
static void h_nested_trap(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    int armed __attribute__((cleanup(count_cleanup))) = 1;

    (void)data;
    (void)v;
    invoke1(inst, "div", 2, 1, 0);
    armed = 0; /* never reached */
}

/*
 * blocking(): tells the test it runs, waits until the test has fired an
 * interrupt at the instance, then finishes its work. The interrupt must
 * not cut it short: it lands after, in the guest's endless loop.
 */
static _Atomic int in_host, fired, host_done;

static void h_blocking(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    (void)inst;
    (void)data;
    (void)v;
    atomic_store(&in_host, 1);
    while (!atomic_load(&fired))
        ;
    atomic_store(&host_done, 1);
}

static const tether_wasm_host_import host[] = {
    {"env", "callback", TETHER_WASM_EXTERN_FUNC, "i", "i", h_callback, NULL, NULL},
    {"env", "yield", TETHER_WASM_EXTERN_FUNC, "i", "i", h_yield, NULL, NULL},
    {"env", "terminate", TETHER_WASM_EXTERN_FUNC, "i", "", h_terminate, NULL, NULL},
    {"env", "nested_trap", TETHER_WASM_EXTERN_FUNC, "", "", h_nested_trap, NULL, NULL},
    {"env", "blocking", TETHER_WASM_EXTERN_FUNC, "", "", h_blocking, NULL, NULL},
};

static const tether_wasm_instance_opts with_host = {.imports = host, .nimports = 5};

/* ------------------------------------------------------------ helpers */

static tether_wasm_pool *pool;

static void setup(void)
{
    tether_wasm_pool_opts o = {.slots = 4, .max_memory_pages = 3};
    ck_assert_int_eq(tether_wasm_pool_create(&pool, &o), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(tether_wasm_pool_destroy(pool), 0);
}

static tether_wasm_instance *make(void)
{
    tether_wasm_instance *inst = NULL;
    ck_assert_int_eq(tether_wasm_instance_create(&inst, pool, &Z_guest_tether_module,
                                                 &with_host), TETHER_WASM_OK);
    return inst;
}

/* Calls an export of i32 arguments; returns what tether_wasm_invoke did. */
static int vinvoke(tether_wasm_instance *inst, const char *name, uint32_t *result,
                   int n, va_list ap)
{
    const tether_wasm_export *e = tether_wasm_module_export(&Z_guest_tether_module, name);
    tether_wasm_val args[4] = {{0}}, res[1] = {{0}};
    int st;

    ck_assert_ptr_nonnull(e);
    for (int i = 0; i < n; i++)
        args[i].i32 = va_arg(ap, uint32_t);
    st = tether_wasm_invoke(inst, name, args, (size_t)n, res, strlen(e->results));
    if (result)
        *result = res[0].i32;
    return st;
}

static int invoke_st(tether_wasm_instance *inst, const char *name, int n, ...)
{
    va_list ap;
    int st;

    va_start(ap, n);
    st = vinvoke(inst, name, NULL, n, ap);
    va_end(ap);
    return st;
}

static uint32_t invoke1(tether_wasm_instance *inst, const char *name, int n, ...)
{
    uint32_t r = 0;
    va_list ap;
    int st;

    va_start(ap, n);
    st = vinvoke(inst, name, &r, n, ap);
    va_end(ap);
    ck_assert_msg(st == TETHER_WASM_OK, "%s: %d (%s)", name, st,
                  tether_wasm_trap_info(inst)->message);
    return r;
}

/* A call that must trap with `kind`; the instance must work afterwards. */
static void expect_trap(tether_wasm_instance *inst, int kind, const char *message,
                        int st)
{
    const tether_wasm_trap_record *t = tether_wasm_trap_info(inst);

    ck_assert_int_eq(st, TETHER_WASM_TRAP);
    ck_assert_int_eq(t->kind, kind);
    ck_assert_str_eq(t->message, message);
    ck_assert_str_eq(tether_wasm_trap_message(kind), message);
    ck_assert_ptr_null(tether_current()); /* back on the host's own stack */
    ck_assert_int_eq(invoke1(inst, "add", 2, 40, 2), 42);
    ck_assert_int_eq(tether_wasm_trap_info(inst)->kind, TETHER_WASM_TRAP_NONE);
}

/* ------------------------------------------------------------- calls */

START_TEST(test_call_and_release)
{
    tether_wasm_instance *inst = make();
    uint8_t *base;
    uint64_t size;

    ck_assert_int_eq(invoke1(inst, "add", 2, 2, 3), 5);
    ck_assert_int_eq(invoke1(inst, "load8", 1, 0), 't'); /* the data segment */
    ck_assert_int_eq(tether_wasm_memory(inst, &base, &size), 0);
    ck_assert_uint_eq(size, 65536);
    ck_assert_mem_eq(base, "tether", 6);
    ck_assert_ptr_eq(tether_wasm_memory_at(inst, 65530, 6), base + 65530);
    ck_assert_ptr_null(tether_wasm_memory_at(inst, 65531, 6));
    ck_assert_ptr_null(tether_wasm_memory_at(inst, UINT64_MAX, 2));
    ck_assert_ptr_nonnull(tether_wasm_module_instance(inst));
    ck_assert_int_eq(tether_wasm_instance_release(inst), 0);
}
END_TEST

static void direct_add(void *mi, void *arg)
{
    uint32_t *x = arg;
    x[2] = Z_guestZ_add(mi, x[0], x[1]);
}

START_TEST(test_call_direct)
{
    tether_wasm_instance *inst = make();
    uint32_t x[3] = {20, 22, 0};

    ck_assert_int_eq(tether_wasm_call(inst, direct_add, x), TETHER_WASM_OK);
    ck_assert_uint_eq(x[2], 42);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_bad_calls)
{
    tether_wasm_instance *inst = make();
    tether_wasm_val a[2] = {{0}}, r[1];

    ck_assert_int_eq(tether_wasm_invoke(inst, "nosuch", NULL, 0, NULL, 0), -ENOENT);
    ck_assert_int_eq(tether_wasm_invoke(inst, "memory", NULL, 0, NULL, 0), -ENOENT);
    ck_assert_int_eq(tether_wasm_invoke(inst, "add", a, 1, r, 1), -EINVAL);
    ck_assert_int_eq(tether_wasm_invoke(inst, "add", a, 2, r, 0), -EINVAL);
    ck_assert_int_eq(tether_wasm_call(NULL, direct_add, NULL), -EINVAL);
    ck_assert_int_eq(tether_wasm_call(inst, NULL, NULL), -EINVAL);
    ck_assert_int_eq(tether_wasm_resume(inst, NULL), -ESRCH);
    ck_assert_int_eq(tether_wasm_yield(NULL, NULL), -EPERM);
    ck_assert_int_eq(tether_wasm_terminate(NULL), -EPERM);
    ck_assert_ptr_null(tether_wasm_current());
    ck_assert_str_eq(tether_wasm_strerror(-EAGAIN), "every slot of the pool is in use");
    ck_assert_str_eq(tether_wasm_strerror(TETHER_WASM_TRAP), "the call trapped");
    ck_assert_str_eq(tether_wasm_strerror(-12345), "unknown tether code");
    tether_wasm_instance_release(inst);
    ck_assert_int_eq(tether_wasm_instance_release(inst), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------- traps */

START_TEST(test_trap_oob_memory)
{
    tether_wasm_instance *inst = make();

    expect_trap(inst, TETHER_WASM_TRAP_OOB_MEMORY, "out of bounds memory access",
                invoke_st(inst, "oob_load", 1, 65534));
    /* The far end of the 8 GiB reservation: 4 GiB address + 4 GiB offset. */
    expect_trap(inst, TETHER_WASM_TRAP_OOB_MEMORY, "out of bounds memory access",
                invoke_st(inst, "oob_load", 1, 0xfffffffcu));
    expect_trap(inst, TETHER_WASM_TRAP_OOB_MEMORY, "out of bounds memory access",
                invoke_st(inst, "oob_store", 1, 65530));
    expect_trap(inst, TETHER_WASM_TRAP_OOB_MEMORY, "out of bounds memory access",
                invoke_st(inst, "oob_fill", 0));
    /* Nothing was written out of bounds, and in bounds still works. */
    ck_assert_int_eq(invoke1(inst, "load8", 1, 65535), 0);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_trap_arithmetic)
{
    tether_wasm_instance *inst = make();

    expect_trap(inst, TETHER_WASM_TRAP_DIV_BY_ZERO, "integer divide by zero",
                invoke_st(inst, "div", 2, 1, 0));
    expect_trap(inst, TETHER_WASM_TRAP_INT_OVERFLOW, "integer overflow",
                invoke_st(inst, "div", 2, 0x80000000u, 0xffffffffu));
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_trap_conversion)
{
    tether_wasm_instance *inst = make();
    tether_wasm_val a = {.f32 = NAN}, r;

    expect_trap(inst, TETHER_WASM_TRAP_INVALID_CONVERSION, "invalid conversion to integer",
                tether_wasm_invoke(inst, "trunc", &a, 1, &r, 1));
    a.f32 = 3e9f;
    expect_trap(inst, TETHER_WASM_TRAP_INT_OVERFLOW, "integer overflow",
                tether_wasm_invoke(inst, "trunc", &a, 1, &r, 1));
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_trap_unreachable)
{
    tether_wasm_instance *inst = make();

    expect_trap(inst, TETHER_WASM_TRAP_UNREACHABLE, "unreachable",
                invoke_st(inst, "unreachable", 0));
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_trap_exhaustion)
{
    tether_wasm_instance *inst = make();

    for (int i = 0; i < 3; i++) {
        int st = invoke_st(inst, "runaway", 1, 0);
        ck_assert_int_eq(tether_wasm_trap_info(inst)->has_fault, 1);
        ck_assert_int_eq(tether_wasm_trap_info(inst)->fault.kind,
                         TETHER_FAULT_STACK_OVERFLOW);
        expect_trap(inst, TETHER_WASM_TRAP_EXHAUSTION, "call stack exhausted", st);
    }
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_trap_tables)
{
    tether_wasm_instance *inst = make();

    ck_assert_int_eq(invoke1(inst, "call_indirect", 2, 0, 21), 42);
    expect_trap(inst, TETHER_WASM_TRAP_INDIRECT_CALL_TYPE, "indirect call type mismatch",
                invoke_st(inst, "call_indirect", 2, 1, 0));
    expect_trap(inst, TETHER_WASM_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element",
                invoke_st(inst, "call_indirect", 2, 2, 0));
    expect_trap(inst, TETHER_WASM_TRAP_UNDEFINED_ELEMENT, "undefined element",
                invoke_st(inst, "call_indirect", 2, 4, 0));
    expect_trap(inst, TETHER_WASM_TRAP_OOB_TABLE, "out of bounds table access",
                invoke_st(inst, "table_get", 1, 4));
    tether_wasm_instance_release(inst);
}
END_TEST

/* The fault record comes with a fault; a trap stays in its instance. */
START_TEST(test_trap_record)
{
    tether_wasm_instance *a = make(), *b = make();
    const tether_wasm_trap_record *t;

    ck_assert_int_eq(invoke_st(a, "oob_load", 1, 70000), TETHER_WASM_TRAP);
    t = tether_wasm_trap_info(a);
    ck_assert_int_eq(t->has_fault, 1);
    ck_assert_int_eq(t->fault.kind, TETHER_FAULT_SEGV);
    ck_assert_int_eq(tether_wasm_trap_info(b)->kind, TETHER_WASM_TRAP_NONE);
    ck_assert_int_eq(invoke1(b, "add", 2, 1, 1), 2);
    ck_assert_int_eq(tether_wasm_trap_info(a)->kind, TETHER_WASM_TRAP_OOB_MEMORY);
    tether_wasm_instance_release(a);
    tether_wasm_instance_release(b);
}
END_TEST

/* ------------------------------------------------------ reset, memory */

START_TEST(test_trap_keeps_state_reset_restores)
{
    tether_wasm_instance *inst = make();

    invoke1(inst, "store8", 2, 0, 'T');
    invoke1(inst, "store8", 2, 60000, 99);
    ck_assert_int_eq(invoke1(inst, "bump", 0), 2);
    ck_assert_int_eq(invoke_st(inst, "unreachable", 0), TETHER_WASM_TRAP);
    /* As in the spec, a trap leaves memory and globals as they were. */
    ck_assert_int_eq(invoke1(inst, "load8", 1, 0), 'T');
    ck_assert_int_eq(invoke1(inst, "bump", 0), 3);
    ck_assert_int_eq(invoke1(inst, "grow", 1, 1), 1);
    ck_assert_int_eq(tether_wasm_instance_reset(inst), TETHER_WASM_OK);
    ck_assert_int_eq(invoke1(inst, "load8", 1, 0), 't');
    ck_assert_int_eq(invoke1(inst, "load8", 1, 60000), 0);
    ck_assert_int_eq(invoke1(inst, "bump", 0), 2);
    ck_assert_int_eq(invoke1(inst, "size", 0), 1);
    /* The grown page is gone again: out of bounds. */
    ck_assert_int_eq(invoke_st(inst, "oob_load", 1, 70000), TETHER_WASM_TRAP);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_memory_grow_limit)
{
    tether_wasm_instance *inst = make();

    /* The module allows 4 pages, the pool 3. */
    ck_assert_int_eq(invoke1(inst, "grow", 1, 2), 1);
    ck_assert_int_eq(invoke1(inst, "size", 0), 3);
    ck_assert_int_eq(invoke1(inst, "grow", 1, 1), 0xffffffffu);
    ck_assert_int_eq(invoke1(inst, "grow", 1, 0x7fffffffu), 0xffffffffu);
    invoke1(inst, "store8", 2, 3 * 65536 - 1, 5);
    ck_assert_int_eq(invoke1(inst, "load8", 1, 3 * 65536 - 1), 5);
    ck_assert_int_eq(invoke_st(inst, "oob_load", 1, 3 * 65536 - 2), TETHER_WASM_TRAP);
    tether_wasm_instance_release(inst);
    /* The next instance in the slot starts from one zeroed page. */
    inst = make();
    ck_assert_int_eq(invoke1(inst, "size", 0), 1);
    ck_assert_int_eq(invoke_st(inst, "oob_load", 1, 65536), TETHER_WASM_TRAP);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_instantiation_traps)
{
    tether_wasm_instance *inst = NULL;

    ck_assert_int_eq(tether_wasm_instance_create(&inst, pool, &Z_start_trap_tether_module, NULL),
                     TETHER_WASM_TRAP);
    ck_assert_int_eq(tether_wasm_trap_info(inst)->kind, TETHER_WASM_TRAP_UNREACHABLE);
    ck_assert_int_eq(tether_wasm_call(inst, direct_add, NULL), -ESRCH);
    ck_assert_int_eq(tether_wasm_instance_reset(inst), TETHER_WASM_TRAP);
    ck_assert_int_eq(tether_wasm_instance_release(inst), 0);

    ck_assert_int_eq(tether_wasm_instance_create(&inst, pool, &Z_data_oob_tether_module, NULL),
                     TETHER_WASM_TRAP);
    ck_assert_str_eq(tether_wasm_trap_info(inst)->message, "out of bounds memory access");
    ck_assert_int_eq(tether_wasm_instance_release(inst), 0);
    /* The slots were given back. */
    inst = make();
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_memory_limit_at_instantiation)
{
    tether_wasm_pool_opts o = {.slots = 1, .max_memory_pages = 1};
    tether_wasm_pool *small;
    tether_wasm_instance *inst;

    /* guest's memory starts at 1 page, may grow to 4: fits, capped at 1. */
    ck_assert_int_eq(tether_wasm_pool_create(&small, &o), 0);
    ck_assert_int_eq(tether_wasm_instance_create(&inst, small, &Z_guest_tether_module,
                                                 &with_host), TETHER_WASM_OK);
    ck_assert_int_eq(invoke1(inst, "grow", 1, 1), 0xffffffffu);
    tether_wasm_instance_release(inst);
    tether_wasm_pool_destroy(small);
}
END_TEST

/* ---------------------------------------------------- host functions */

START_TEST(test_host_calls_back)
{
    tether_wasm_instance *inst = make();

    /* guest -> host -> guest -> host ... four levels down and back. */
    ck_assert_int_eq(invoke1(inst, "via_host", 1, 3), 4000);
    ck_assert_int_eq(invoke1(inst, "via_host", 1, 0), 1000);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_trap_under_host_function)
{
    tether_wasm_instance *inst = make();

    cleanups = 0;
    expect_trap(inst, TETHER_WASM_TRAP_DIV_BY_ZERO, "integer divide by zero",
                invoke_st(inst, "via_nested_trap", 0));
    ck_assert_int_eq(cleanups, 1); /* the host function's frame was unwound */
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_host_yields)
{
    tether_wasm_instance *inst = make();
    tether_wasm_val a = {.i32 = 7}, r = {.i32 = 0};

    ck_assert_int_eq(tether_wasm_invoke(inst, "via_yield", &a, 1, &r, 1),
                     TETHER_WASM_YIELDED);
    ck_assert_ptr_eq(tether_wasm_yielded(inst), (void *)7);
    ck_assert_int_eq(tether_wasm_call(inst, direct_add, NULL), -EBUSY);
    ck_assert_int_eq(r.i32, 0);
    /* The host function returns 41 to the guest, which adds 1. */
    ck_assert_int_eq(tether_wasm_resume(inst, (void *)41), TETHER_WASM_OK);
    ck_assert_int_eq(r.i32, 42);
    ck_assert_int_eq(tether_wasm_resume(inst, NULL), -ESRCH);
    ck_assert_int_eq(invoke1(inst, "add", 2, 1, 2), 3);
    tether_wasm_instance_release(inst);
}
END_TEST

/* The result of a yielded call comes from the resume's own invoke frame. */
struct yielded_add {
    uint32_t in, out;
};

static void via_yield_entry(void *mi, void *arg)
{
    struct yielded_add *y = arg;
    y->out = Z_guestZ_via_yield(mi, y->in);
}

START_TEST(test_host_yield_result)
{
    tether_wasm_instance *inst = make();
    struct yielded_add y = {5, 0};

    ck_assert_int_eq(tether_wasm_call(inst, via_yield_entry, &y), TETHER_WASM_YIELDED);
    ck_assert_ptr_eq(tether_wasm_yielded(inst), (void *)5);
    ck_assert_int_eq(tether_wasm_resume(inst, (void *)41), TETHER_WASM_OK);
    ck_assert_uint_eq(y.out, 42);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_yield_abandoned)
{
    tether_wasm_instance *inst = make();

    cleanups = 0;
    ck_assert_int_eq(invoke_st(inst, "via_yield", 1, 1), TETHER_WASM_YIELDED);
    ck_assert_int_eq(tether_wasm_instance_reset(inst), TETHER_WASM_OK);
    ck_assert_int_eq(cleanups, 1);
    ck_assert_int_eq(invoke1(inst, "add", 2, 1, 2), 3);
    ck_assert_int_eq(invoke_st(inst, "via_yield", 1, 1), TETHER_WASM_YIELDED);
    ck_assert_int_eq(tether_wasm_instance_release(inst), 0);
    ck_assert_int_eq(cleanups, 2);
}
END_TEST

START_TEST(test_host_terminates)
{
    tether_wasm_instance *inst = make();

    expect_trap(inst, TETHER_WASM_TRAP_TERMINATED, "terminated by a host function",
                invoke_st(inst, "via_terminate", 0));
    ck_assert_int_eq(invoke_st(inst, "via_terminate", 0), TETHER_WASM_TRAP);
    ck_assert_ptr_eq(tether_wasm_trap_info(inst)->details, (void *)9);
    tether_wasm_instance_release(inst);
}
END_TEST

START_TEST(test_missing_import)
{
    tether_wasm_instance *inst = NULL;
    tether_wasm_host_import partial[3];
    tether_wasm_instance_opts o = {partial, 3, NULL, 0};
    char err[256];

    memcpy(partial, host, sizeof partial);
    ck_assert_int_eq(tether_wasm_instance_create(&inst, pool, &Z_guest_tether_module, &o),
                     -ENOENT);
    ck_assert_int_eq(tether_wasm_link_check(&Z_guest_tether_module, partial, 3, err,
                                            sizeof err), -ENOENT);
    ck_assert_str_eq(err, "function import env.nested_trap ( -> ) is not provided by the host");
    partial[1].params = "j";
    ck_assert_int_eq(tether_wasm_link_check(&Z_guest_tether_module, partial, 3, err,
                                            sizeof err), -ENOENT);
    ck_assert_str_eq(err, "function import env.yield (i -> i) has another type");
    ck_assert_int_eq(tether_wasm_link_check(&Z_guest_tether_module, host, 5, err,
                                            sizeof err), 0);
}
END_TEST

/* ------------------------------------------------- deadlines, interrupts */

START_TEST(test_timeout)
{
    tether_wasm_instance *inst = make();

    ck_assert_int_eq(tether_wasm_set_timeout(inst, 20 * 1000 * 1000), 0);
    expect_trap(inst, TETHER_WASM_TRAP_TIMEOUT, "interrupt: time limit exceeded",
                invoke_st(inst, "forever", 0));
    expect_trap(inst, TETHER_WASM_TRAP_TIMEOUT, "interrupt: time limit exceeded",
                invoke_st(inst, "forever", 0));
    /* Callbacks from host functions run under the call's time limit. */
    ck_assert_int_eq(invoke1(inst, "via_host", 1, 3), 4000);
    tether_wasm_set_timeout(inst, 0);
    tether_wasm_instance_release(inst);
}
END_TEST

static void *interrupter(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    tether_wasm_interrupt(arg);
    return NULL;
}

START_TEST(test_interrupt_from_another_thread)
{
    tether_wasm_instance *inst = make();
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, interrupter, inst), 0);
    /* Whether the interrupt lands during the call or before it starts. */
    ck_assert_int_eq(invoke_st(inst, "forever", 0), TETHER_WASM_TRAP);
    pthread_join(t, NULL);
    ck_assert_int_eq(tether_wasm_trap_info(inst)->kind, TETHER_WASM_TRAP_INTERRUPT);
    ck_assert_int_eq(invoke1(inst, "add", 2, 1, 2), 3);
    /* Pending on an idle instance: its next call ends at once. */
    tether_wasm_interrupt(inst);
    ck_assert_int_eq(invoke_st(inst, "add", 2, 1, 2), TETHER_WASM_TRAP);
    ck_assert_int_eq(invoke1(inst, "add", 2, 1, 2), 3);
    /* Released with an interrupt pending: the next instance is not hit. */
    tether_wasm_interrupt(inst);
    tether_wasm_instance_release(inst);
    for (int i = 0; i < 4; i++) {
        inst = make();
        ck_assert_int_eq(invoke1(inst, "add", 2, 1, 2), 3);
        tether_wasm_instance_release(inst);
    }
}
END_TEST

static void *interrupt_when_in_host(void *arg)
{
    while (!atomic_load(&in_host))
        ;
    tether_wasm_interrupt(arg);
    atomic_store(&fired, 1);
    return NULL;
}

START_TEST(test_interrupt_waits_for_host_function)
{
    tether_wasm_instance *inst = make();
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, interrupt_when_in_host, inst), 0);
    ck_assert_int_eq(invoke_st(inst, "via_blocking", 0), TETHER_WASM_TRAP);
    pthread_join(t, NULL);
    ck_assert_int_eq(tether_wasm_trap_info(inst)->kind, TETHER_WASM_TRAP_INTERRUPT);
    ck_assert_int_eq(atomic_load(&host_done), 1);
    ck_assert_int_eq(invoke1(inst, "add", 2, 1, 2), 3);
    tether_wasm_instance_release(inst);
}
END_TEST

/* ------------------------------------------------------------- pools */

START_TEST(test_pool_limits)
{
    tether_wasm_instance *inst[5];
    tether_wasm_pool_opts bad = {.slots = TETHER_WASM_SLOTS_MAX + 1};
    tether_wasm_pool *p;

    for (int i = 0; i < 4; i++)
        inst[i] = make();
    ck_assert_int_eq(tether_wasm_instance_create(&inst[4], pool, &Z_guest_tether_module,
                                                 &with_host), -EAGAIN);
    ck_assert_int_eq(tether_wasm_pool_destroy(pool), -EBUSY);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tether_wasm_instance_release(inst[i]), 0);
    ck_assert_int_eq(tether_wasm_pool_create(&p, &bad), -ERANGE);
    bad.slots = 1;
    bad.stack_size = 100;
    ck_assert_int_eq(tether_wasm_pool_create(&p, &bad), -ERANGE);
    bad.stack_size = 0;
    bad.max_memory_pages = 65537;
    ck_assert_int_eq(tether_wasm_pool_create(&p, &bad), -ERANGE);
    ck_assert_int_eq(tether_wasm_pool_create(NULL, NULL), -EINVAL);
}
END_TEST

/* Options of a later release (a reserved field set) are refused, not ignored. */
START_TEST(test_reserved_options_refused)
{
    tether_wasm_pool_opts po = {.slots = 1};
    tether_wasm_instance_opts io = with_host;
    tether_wasm_instance *inst = NULL;
    tether_wasm_pool *p;

    po.reserved[7] = 1;
    ck_assert_int_eq(tether_wasm_pool_create(&p, &po), -EINVAL);
    io.reserved[0] = 1;
    ck_assert_int_eq(tether_wasm_instance_create(&inst, pool, &Z_guest_tether_module, &io),
                     -EINVAL);
    ck_assert_ptr_null(inst);
    /* Nothing was taken: every slot is still there. */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tether_wasm_instance_release(make()), 0);
}
END_TEST

/* One life: made, used (memory written, grown), trapped, reset, released. */
static void one_life(int i)
{
    tether_wasm_instance *inst = make();

    invoke1(inst, "store8", 2, (uint32_t)(i * 4099) % 65536, 1);
    if (i % 7 == 0)
        invoke1(inst, "grow", 1, 1);
    if (i % 5 == 0)
        ck_assert_int_eq(invoke_st(inst, "oob_load", 1, 200000), TETHER_WASM_TRAP);
    if (i % 11 == 0)
        ck_assert_int_eq(invoke_st(inst, "div", 2, 1, 0), TETHER_WASM_TRAP);
    if (i % 13 == 0)
        ck_assert_int_eq(tether_wasm_instance_reset(inst), TETHER_WASM_OK);
    ck_assert_int_eq(tether_wasm_instance_release(inst), 0);
}

START_TEST(test_ten_thousand_lives)
{
    long before;
    int fds;

    for (int i = 0; i < 200; i++) /* warm: slots, fibers, malloc arenas */
        one_life(i);
    before = resident_kib();
    fds = open_fds();
    for (int i = 0; i < 10000; i++)
        one_life(i);
    ck_assert_int_eq(open_fds(), fds);
    ck_assert_rss_growth_lt(resident_kib() - before, 1024);
}
END_TEST

/* Two threads, each with its own instances, and a yielded call finished on
 * another thread than the one that started it. */
static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        tether_wasm_instance *inst = make();
        ck_assert_int_eq(invoke1(inst, "add", 2, (uint32_t)i, 1), (uint32_t)i + 1);
        ck_assert_int_eq(invoke_st(inst, "div", 2, 1, 0), TETHER_WASM_TRAP);
        tether_wasm_instance_release(inst);
    }
    return NULL;
}

static void *resumer(void *arg)
{
    return (void *)(intptr_t)tether_wasm_resume(arg, (void *)41);
}

START_TEST(test_threads)
{
    pthread_t a, b;
    tether_wasm_instance *inst;
    struct yielded_add y = {5, 0};
    void *ret;

    ck_assert_int_eq(pthread_create(&a, NULL, worker, NULL), 0);
    ck_assert_int_eq(pthread_create(&b, NULL, worker, NULL), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);

    inst = make();
    ck_assert_int_eq(tether_wasm_call(inst, via_yield_entry, &y), TETHER_WASM_YIELDED);
    ck_assert_int_eq(pthread_create(&a, NULL, resumer, inst), 0);
    pthread_join(a, &ret);
    ck_assert_int_eq((int)(intptr_t)ret, TETHER_WASM_OK);
    ck_assert_uint_eq(y.out, 42);
    tether_wasm_instance_release(inst);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wasm instances");
    TCase *c = tcase_create("instances");

    tcase_add_checked_fixture(c, setup, teardown);
    tcase_set_timeout(c, 60);
    tcase_add_test(c, test_call_and_release);
    tcase_add_test(c, test_reserved_options_refused);
    tcase_add_test(c, test_call_direct);
    tcase_add_test(c, test_bad_calls);
    tcase_add_test(c, test_trap_oob_memory);
    tcase_add_test(c, test_trap_arithmetic);
    tcase_add_test(c, test_trap_conversion);
    tcase_add_test(c, test_trap_unreachable);
    tcase_add_test(c, test_trap_exhaustion);
    tcase_add_test(c, test_trap_tables);
    tcase_add_test(c, test_trap_record);
    tcase_add_test(c, test_trap_keeps_state_reset_restores);
    tcase_add_test(c, test_memory_grow_limit);
    tcase_add_test(c, test_instantiation_traps);
    tcase_add_test(c, test_memory_limit_at_instantiation);
    tcase_add_test(c, test_host_calls_back);
    tcase_add_test(c, test_trap_under_host_function);
    tcase_add_test(c, test_host_yields);
    tcase_add_test(c, test_host_yield_result);
    tcase_add_test(c, test_yield_abandoned);
    tcase_add_test(c, test_host_terminates);
    tcase_add_test(c, test_missing_import);
    tcase_add_test(c, test_timeout);
    tcase_add_test(c, test_interrupt_from_another_thread);
    tcase_add_test(c, test_interrupt_waits_for_host_function);
    tcase_add_test(c, test_pool_limits);
    tcase_add_test(c, test_ten_thousand_lives);
    tcase_add_test(c, test_threads);
    suite_add_tcase(s, c);
    return run_suite(s);
}

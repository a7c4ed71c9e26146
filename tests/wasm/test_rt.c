/*
 * wasm-rt.h's runtime under wasm2c's own output: a module translated by
 * plain wasm2c (tests/wasm/rt_guest.wat), described by hand, with its
 * import served by a C function named as wasm2c names it. Traps come
 * out with wasm2c's reasons (no tether-wasm translate to refine them);
 * memories and tables obey wasm-rt.h; exceptions are caught in the
 * guest, and an uncaught one traps.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <tether/wasm.h>

#include "../testlib.h"
#include "rt_guest.h"

/* The import, called directly by the generated code. */
u32 Z_envZ_twice(struct Z_env_instance_t *host, u32 x)
{
    tether_wasm_instance *inst = (tether_wasm_instance *)host;

    ck_assert_ptr_eq(tether_wasm_current(), inst);
    return 2 * x + *(u32 *)tether_wasm_user_data(inst);
}

static void instantiate(void *mi, tether_wasm_instance *inst)
{
    Z_rt_guest_instantiate(mi, (struct Z_env_instance_t *)inst);
}

static void free_instance(void *mi)
{
    Z_rt_guest_free(mi);
}

static const tether_wasm_module rt_module = {
    .abi = TETHER_WASM_MODULE_ABI,
    .name = "rt_guest",
    .instance_size = sizeof(Z_rt_guest_instance_t),
    .init_module = Z_rt_guest_init_module,
    .instantiate = instantiate,
    .free = free_instance,
};

/* One call: an export of up to two i32 arguments and an i32 result. */
struct call {
    u32 (*fn)(Z_rt_guest_instance_t *, u32, u32);
    u32 a, b, result;
};

#define FN2(name) \
    static u32 name##2(Z_rt_guest_instance_t *i, u32 a, u32 b) \
    { (void)b; return Z_rt_guestZ_##name(i, a); }
FN2(host)
FN2(oob)
FN2(grow)
FN2(table_get)
FN2(table_grow)
FN2(rec)
FN2(catch)

static u32 uncaught2(Z_rt_guest_instance_t *i, u32 a, u32 b)
{
    (void)a;
    (void)b;
    Z_rt_guestZ_uncaught(i);
    return 0;
}

static void entry(void *mi, void *arg)
{
    struct call *c = arg;
    c->result = c->fn(mi, c->a, c->b);
}

static tether_wasm_pool *pool;
static tether_wasm_instance *inst;
static u32 bias = 5;

static void setup(void)
{
    tether_wasm_instance_opts o = {.user_data = &bias};
    /*
     * The default pool reserves 64 slots of 8 GiB each, more address
     * space than valgrind hands out (-ENOMEM); two slots are enough here.
     */
    tether_wasm_pool_opts small = {.slots = 2};
    ck_assert_int_eq(tether_wasm_pool_create(&pool, test_under_valgrind() ? &small : NULL), 0);
    ck_assert_int_eq(tether_wasm_instance_create(&inst, pool, &rt_module, &o), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(tether_wasm_instance_release(inst), 0);
    ck_assert_int_eq(tether_wasm_pool_destroy(pool), 0);
}

static int call(u32 (*fn)(Z_rt_guest_instance_t *, u32, u32), u32 a, u32 b, u32 *r)
{
    struct call c = {fn, a, b, 0};
    int st = tether_wasm_call(inst, entry, &c);
    if (r)
        *r = c.result;
    return st;
}

static int trap_kind(void)
{
    return tether_wasm_trap_info(inst)->kind;
}

START_TEST(test_direct_import)
{
    u32 r;

    ck_assert_int_eq(call(host2, 20, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, 45);
}
END_TEST

START_TEST(test_traps_with_wasm2c_reasons)
{
    ck_assert_int_eq(call(oob2, 65536, 0, NULL), TETHER_WASM_TRAP);
    ck_assert_int_eq(trap_kind(), TETHER_WASM_TRAP_OOB_MEMORY); /* a fault */
    ck_assert_int_eq(call(table_get2, 9, 0, NULL), TETHER_WASM_TRAP);
    ck_assert_int_eq(trap_kind(), TETHER_WASM_TRAP_OOB); /* memory or table */
    ck_assert_int_eq(call(Z_rt_guestZ_indirect, 1, 3, NULL), TETHER_WASM_TRAP);
    ck_assert_int_eq(trap_kind(), TETHER_WASM_TRAP_CALL_INDIRECT);
    ck_assert_int_eq(call(Z_rt_guestZ_div, 1, 0, NULL), TETHER_WASM_TRAP);
    ck_assert_int_eq(trap_kind(), TETHER_WASM_TRAP_DIV_BY_ZERO);
    ck_assert_int_eq(call(rec2, 0, 0, NULL), TETHER_WASM_TRAP);
    ck_assert_int_eq(trap_kind(), TETHER_WASM_TRAP_EXHAUSTION);
    ck_assert_str_eq(wasm_rt_strerror(WASM_RT_TRAP_DIV_BY_ZERO), "integer divide by zero");
    ck_assert_str_eq(wasm_rt_strerror(WASM_RT_TRAP_EXHAUSTION), "call stack exhausted");
    ck_assert_str_eq(wasm_rt_strerror(WASM_RT_TRAP_NONE), "no error");
}
END_TEST

START_TEST(test_memory_and_table_grow)
{
    wasm_rt_memory_t *mem = Z_rt_guestZ_mem(tether_wasm_module_instance(inst));
    wasm_rt_funcref_table_t *tab = Z_rt_guestZ_tab(tether_wasm_module_instance(inst));
    u32 r;

    ck_assert_uint_eq(mem->pages, 1);
    ck_assert_uint_eq(mem->max_pages, 2);
    ck_assert_int_eq(call(grow2, 1, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, 1);
    ck_assert_uint_eq(mem->size, 2 * 65536);
    mem->data[2 * 65536 - 1] = 1; /* the host sees the new page */
    ck_assert_int_eq(call(grow2, 1, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, UINT32_MAX);
    ck_assert_int_eq(call(table_grow2, 2, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, 2);
    ck_assert_uint_eq(tab->size, 4);
    ck_assert_ptr_null(tab->data[3].func);
    ck_assert_int_eq(call(table_grow2, 1, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, UINT32_MAX);
    ck_assert_int_eq(call(Z_rt_guestZ_indirect, 0, 41, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, 42);
}
END_TEST

START_TEST(test_exceptions)
{
    u32 r;

    ck_assert_int_eq(call(catch2, 7, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, 107);
    ck_assert_int_eq(call(uncaught2, 0, 0, NULL), TETHER_WASM_TRAP);
    ck_assert_int_eq(trap_kind(), TETHER_WASM_TRAP_UNCAUGHT_EXCEPTION);
    /* After an uncaught one, exceptions are caught again. */
    ck_assert_int_eq(call(catch2, 1, 0, &r), TETHER_WASM_OK);
    ck_assert_uint_eq(r, 101);
}
END_TEST

/* wasm-rt.h used directly, off any instance. */
START_TEST(test_runtime_off_instance)
{
    wasm_rt_memory_t m;
    wasm_rt_funcref_table_t t;
    uint32_t a, b, c;

    ck_assert(wasm_rt_is_initialized());
    a = wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_F64, WASM_RT_I64);
    b = wasm_rt_register_func_type(0, 0);
    c = wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_F64, WASM_RT_I64);
    ck_assert_uint_ne(a, 0);
    ck_assert_uint_eq(a, c);
    ck_assert_uint_ne(a, b);
    wasm_rt_allocate_memory(&m, 1, 3);
    ck_assert_ptr_nonnull(m.data);
    m.data[65535] = 1;
    ck_assert_uint_eq(wasm_rt_grow_memory(&m, 2), 1);
    m.data[3 * 65536 - 1] = 1;
    ck_assert_uint_eq(wasm_rt_grow_memory(&m, 1), UINT32_MAX);
    ck_assert_uint_eq(wasm_rt_grow_memory(&m, 0), 3);
    wasm_rt_free_memory(&m);
    ck_assert_ptr_null(m.data);
    wasm_rt_allocate_funcref_table(&t, 3, 5);
    ck_assert_uint_eq(wasm_rt_grow_funcref_table(&t, 2, wasm_rt_funcref_null_value), 3);
    ck_assert_uint_eq(wasm_rt_grow_funcref_table(&t, 1, wasm_rt_funcref_null_value),
                      UINT32_MAX);
    wasm_rt_free_funcref_table(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wasm-rt.h");
    TCase *c = tcase_create("runtime");

    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, test_direct_import);
    tcase_add_test(c, test_traps_with_wasm2c_reasons);
    tcase_add_test(c, test_memory_and_table_grow);
    tcase_add_test(c, test_exceptions);
    tcase_add_test(c, test_runtime_off_instance);
    suite_add_tcase(s, c);
    return run_suite(s);
}

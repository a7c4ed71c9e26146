/*
 * The spec test suite's `spectest` module (print functions, globals
 * 666 and 666.6, a table of 10 to 20 funcrefs, a memory of 1 to 2
 * pages) and `env.abort`.
 *
 * The print functions write their arguments to stdout in tether-wasm's
 * value format, one call per line: print_i32_f32(1, 2.5) prints
 * "i32:1 f32:2.5".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasm-rt.h>

#include "host.h"
#include "value.h"

const char host_abort_tag;

static void print_vals(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    const char *types = data;
    char buf[64];

    (void)inst;
    for (size_t i = 0; types[i]; i++) {
        value_format(buf, sizeof buf, types[i], v[i]);
        printf("%s%s", i ? " " : "", buf);
    }
    putchar('\n');
}

static void env_abort(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    const char *types = data;
    char buf[64];

    (void)inst;
    fflush(stdout);
    fputs("env.abort(", stderr);
    for (size_t i = 0; types[i]; i++) {
        value_format(buf, sizeof buf, types[i], v[i]);
        fprintf(stderr, "%s%s", i ? ", " : "", buf);
    }
    fputs(")\n", stderr);
    tether_wasm_terminate((void *)&host_abort_tag);
}

static uint32_t g_i32 = 666;
static uint64_t g_i64 = 666;
static float g_f32 = 666.6f;
static double g_f64 = 666.6;
static wasm_rt_memory_t memory;
static wasm_rt_funcref_table_t table;

#define PRINT(name, types) \
    {"spectest", name, TETHER_WASM_EXTERN_FUNC, types, "", print_vals, (void *)types, NULL}
#define ABORT(types) \
    {"env", "abort", TETHER_WASM_EXTERN_FUNC, types, "", env_abort, (void *)types, NULL}
#define GLOBAL(name, type, ptr) \
    {"spectest", name, TETHER_WASM_EXTERN_GLOBAL, "", type, NULL, NULL, ptr}

static const tether_wasm_host_import fixed[] = {
    PRINT("print", ""),
    PRINT("print_i32", "i"),
    PRINT("print_i64", "j"),
    PRINT("print_f32", "f"),
    PRINT("print_f64", "d"),
    PRINT("print_i32_f32", "if"),
    PRINT("print_f64_f64", "dd"),
    GLOBAL("global_i32", "i", &g_i32),
    GLOBAL("global_i64", "j", &g_i64),
    GLOBAL("global_f32", "f", &g_f32),
    GLOBAL("global_f64", "d", &g_f64),
    {"spectest", "memory", TETHER_WASM_EXTERN_MEMORY, "", "", NULL, NULL, &memory},
    {"spectest", "table", TETHER_WASM_EXTERN_TABLE, "", "", NULL, NULL, &table},
    ABORT(""),
    ABORT("i"),
    ABORT("iiii"),
};

static int imports(const tether_wasm_module *m, const char *name)
{
    for (size_t i = 0; i < m->nimports; i++)
        if (strcmp(m->imports[i].module, "spectest") == 0 &&
            strcmp(m->imports[i].name, name) == 0)
            return 1;
    return 0;
}

int host_spectest(const tether_wasm_module *m, tether_wasm_host_import **v, size_t *n)
{
    size_t k = sizeof fixed / sizeof fixed[0];
    tether_wasm_host_import *a = realloc(*v, (*n + k) * sizeof *a);

    if (!a)
        return -1;
    memcpy(a + *n, fixed, sizeof fixed);
    *v = a;
    *n += k;
    if (imports(m, "memory") && !memory.data)
        wasm_rt_allocate_memory(&memory, 1, 2);
    if (imports(m, "table") && !table.data)
        wasm_rt_allocate_funcref_table(&table, 10, 20);
    return 0;
}

/* WASI: not yet; _start runs without it. */
#include <string.h>

#include "wasi.h"

int wasi_imports(const struct run_opts *o, tether_wasm_host_import **v, size_t *n)
{
    (void)o;
    (void)v;
    (void)n;
    return 0;
}

static void start(void *mi, void *arg)
{
    const tether_wasm_export *e = arg;
    e->call(mi, NULL);
}

int wasi_start(tether_wasm_instance *inst, const tether_wasm_module *m,
               const struct run_opts *o, wasi_report_fn report)
{
    const tether_wasm_export *e = tether_wasm_module_export(m, "_start");
    int st;

    if (!e || !e->call || *e->params || *e->results) {
        fprintf(stderr, "tether-wasm: %s has no _start function: name one with --invoke\n",
                o->module);
        return EXIT_USAGE;
    }
    st = tether_wasm_call(inst, start, (void *)e);
    if (st == TETHER_WASM_TRAP)
        return report(inst, stderr);
    return st == TETHER_WASM_OK ? 0 : EXIT_USAGE;
}

int wasi_exit_code(const void *details, int *code)
{
    (void)details;
    (void)code;
    return 0;
}

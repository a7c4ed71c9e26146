/*
 * `tether-wasm run`: a .wasm file is compiled into the cache (or found
 * there), a shared object is loaded as it is; one instance is made with
 * the host modules bound to its imports; then either --invoke calls an
 * export with typed values and prints its results, or WASI's _start
 * runs and its exit code becomes ours.
 *
 * With --invoke, results and traps go to stdout ("i32:5", "trap:
 * integer divide by zero"); errors to stderr. Without it the module owns
 * stdout, so traps go to stderr.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tether/wasm.h>

#include "compile.h"
#include "host.h"
#include "run.h"
#include "value.h"
#include "wasi.h"

static int error(const char *fmt, const char *a, const char *b)
{
    fflush(stdout);
    fputs("tether-wasm: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

/* The module's path as a loadable object: itself, or its cache entry. */
static int loadable(const struct run_opts *o, char *path)
{
    char cache[PATH_MAX], err[4096];
    uint8_t *bytes;
    size_t len;
    int r;

    if (read_file(o->module, &bytes, &len) != 0)
        return error("cannot read %s: %s", o->module, strerror(errno));
    if (len >= 4 && memcmp(bytes, "\177ELF", 4) == 0) {
        free(bytes);
        snprintf(path, PATH_MAX, "%s%s", strchr(o->module, '/') ? "" : "./", o->module);
        return 0;
    }
    if (len < 4 || memcmp(bytes, "\0asm", 4) != 0) {
        free(bytes);
        return error("%s: not a WebAssembly binary (.wasm) nor a module built by "
                     "`tether-wasm compile`%s", o->module, "");
    }
    if (o->cache_dir)
        snprintf(cache, sizeof cache, "%s", o->cache_dir);
    else if (getenv("WASM_SPEC_CACHE_DIR") && *getenv("WASM_SPEC_CACHE_DIR"))
        snprintf(cache, sizeof cache, "%s", getenv("WASM_SPEC_CACHE_DIR"));
    else
        compile_default_cache(cache, sizeof cache);
    r = compile_cached(o->module, bytes, len, cache, path, err, sizeof err);
    free(bytes);
    return r == 0 ? 0 : error("%s: %s", o->module, err);
}

/* Prints the trap; returns the exit code it means. */
static int report_trap(tether_wasm_instance *inst, FILE *to)
{
    const tether_wasm_trap_record *t = tether_wasm_trap_info(inst);
    int code;

    fflush(stdout);
    if (t->kind == TETHER_WASM_TRAP_TERMINATED && wasi_exit_code(t->details, &code))
        return code;
    if (t->kind == TETHER_WASM_TRAP_TERMINATED && t->details == &host_abort_tag)
        fprintf(to, "trap: abort\n");
    else
        fprintf(to, "trap: %s\n", t->message);
    if (t->kind == TETHER_WASM_TRAP_HOST_FAULT && t->has_fault) {
        char report[8192];
        tether_fault_format(&t->fault, report, sizeof report);
        fprintf(stderr, "%s\n", report);
    }
    fflush(to);
    return EXIT_TRAP;
}

static int invoke(tether_wasm_instance *inst, const tether_wasm_module *m,
                  const struct run_opts *o)
{
    const tether_wasm_export *e = tether_wasm_module_export(m, o->invoke);
    tether_wasm_val args[64], results[64];
    char err[256], buf[128];
    size_t np, nr;
    int st;

    if (!e || e->kind != TETHER_WASM_EXTERN_FUNC)
        return error("%s has no function export called '%s'", o->module, o->invoke);
    if (!e->call)
        return error("export '%s' has parameter or result types tether-wasm "
                     "cannot pass (v128 or references)%s", o->invoke, "");
    np = strlen(e->params);
    nr = strlen(e->results);
    if (np > 64 || nr > 64)
        return error("export '%s' has too many parameters or results%s", o->invoke, "");
    if ((size_t)o->nargs != np) {
        char types[64 * 4 + 1] = "";
        for (size_t i = 0; i < np; i++)
            snprintf(types + strlen(types), sizeof types - strlen(types), "%s%s",
                     i ? " " : "", value_type_name(e->params[i]));
        snprintf(err, sizeof err, "'%s' takes %zu argument%s (%s), not %d", o->invoke,
                 np, np == 1 ? "" : "s", np ? types : "none", o->nargs);
        return error("%s%s", err, "");
    }
    for (size_t i = 0; i < np; i++)
        if (value_parse(o->args[i], e->params[i], &args[i], err, sizeof err) != 0)
            return error("argument %s: %s", (snprintf(buf, sizeof buf, "%zu", i + 1), buf), err);
    st = tether_wasm_invoke(inst, o->invoke, args, np, results, nr);
    if (st == TETHER_WASM_TRAP)
        return report_trap(inst, stdout);
    if (st != TETHER_WASM_OK)
        return error("calling '%s' failed: %s", o->invoke, tether_wasm_strerror(st));
    for (size_t i = 0; i < nr; i++) {
        value_format(buf, sizeof buf, e->results[i], results[i]);
        puts(buf);
    }
    return 0;
}

/* The host imports: spectest, env.abort, WASI. */
static int host_imports(const tether_wasm_module *m, const struct run_opts *o,
                        tether_wasm_host_import **v, size_t *n)
{
    if (host_spectest(m, v, n) != 0)
        return error("out of memory%s%s", "", "");
    return wasi_imports(o, v, n);
}

int run_module(const struct run_opts *o)
{
    char path[PATH_MAX], err[1024];
    const tether_wasm_module *m;
    tether_wasm_host_import *imports = NULL;
    tether_wasm_pool_opts po = {.slots = 1};
    tether_wasm_instance_opts io = {0};
    tether_wasm_instance *inst;
    tether_wasm_pool *pool;
    FILE *traps = o->invoke ? stdout : stderr;
    size_t n = 0;
    int st, code;

    if ((code = loadable(o, path)) != 0)
        return code;
    if (tether_wasm_module_load(&m, path, err, sizeof err) != 0)
        return error("cannot load %s: %s", o->module, err);
    if ((code = host_imports(m, o, &imports, &n)) != 0)
        return code;
    if (tether_wasm_link_check(m, imports, n, err, sizeof err) != 0)
        return error("%s: %s (tether-wasm provides spectest, env.abort and "
                     "wasi_snapshot_preview1; see --help)", o->module, err);
    po.stack_size = o->stack_size;
    po.max_memory_pages = o->max_pages;
    if ((st = tether_wasm_pool_create(&pool, &po)) == -ERANGE)
        return error("--stack-size must be %s to %s bytes", "16384", "1073741824");
    if (st != 0)
        return error("cannot make the instance's slot: %s%s", tether_wasm_strerror(st), "");
    io.imports = imports;
    io.nimports = n;
    io.timeout_ns = o->timeout_ns;
    st = tether_wasm_instance_create(&inst, pool, m, &io);
    if (st < 0)
        return error("cannot instantiate %s: %s", o->module, tether_wasm_strerror(st));
    if (st == TETHER_WASM_TRAP)
        code = report_trap(inst, traps);
    else if (o->invoke)
        code = invoke(inst, m, o);
    else
        code = wasi_start(inst, m, o, report_trap);
    fflush(stdout);
    tether_wasm_instance_release(inst);
    tether_wasm_pool_destroy(pool);
    wasi_fini();
    free(imports);
    return code;
}

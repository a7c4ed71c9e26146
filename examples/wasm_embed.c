/*
 * Embedding WebAssembly instances: loads a module compiled by
 * `tether-wasm compile` (examples/wasm_embed.wat), gives it two host
 * functions, one that calls back into the guest and one that yields the
 * instance until the host has an answer, calls its exports, survives
 * each way it can trap, and resets and reuses the instance.
 *
 *   usage: wasm_embed [MODULE.so]   (default: wasm_embed_guest.so beside it)
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tether/wasm.h>

/* square_via_guest(x): calls the guest's own export `square`. */
static void square_via_guest(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    tether_wasm_val r;

    (void)data;
    tether_wasm_invoke(inst, "square", v, 1, &r, 1); /* guest -> host -> guest */
    v[0] = r;
}

/* fetch(key): suspends the instance; the host resumes it with the value. */
static void fetch(tether_wasm_instance *inst, void *data, tether_wasm_val *v)
{
    void *answer;

    (void)inst;
    (void)data;
    tether_wasm_yield((void *)(uintptr_t)v[0].i32, &answer);
    v[0].i32 = (uint32_t)(uintptr_t)answer;
}

static const tether_wasm_host_import host[] = {
    {"host", "square_via_guest", TETHER_WASM_EXTERN_FUNC, "i", "i", square_via_guest, NULL, NULL},
    {"host", "fetch", TETHER_WASM_EXTERN_FUNC, "i", "i", fetch, NULL, NULL},
};

static const tether_wasm_module *m;

/* Calls an export of i32s (two at most); prints what happened. */
static int call(tether_wasm_instance *inst, const char *name, uint32_t a, uint32_t b)
{
    const tether_wasm_export *e = tether_wasm_module_export(m, name);
    tether_wasm_val args[2] = {{.i32 = a}, {.i32 = b}}, r = {0};
    int st = tether_wasm_invoke(inst, name, args, strlen(e->params), &r,
                                strlen(e->results));

    if (st == TETHER_WASM_OK)
        printf("%-16s -> %u\n", name, r.i32);
    else if (st == TETHER_WASM_TRAP)
        printf("%-16s -> trap: %s\n", name, tether_wasm_trap_info(inst)->message);
    else if (st != TETHER_WASM_YIELDED)
        printf("%-16s -> error: %s\n", name, tether_wasm_strerror(st));
    return st;
}

int main(int argc, char **argv)
{
    char path[PATH_MAX], err[512];
    const char *slash = strrchr(argv[0], '/');
    tether_wasm_pool *pool;
    tether_wasm_instance *inst;
    tether_wasm_instance_opts opts = {.imports = host, .nimports = 2};
    tether_wasm_val key = {.i32 = 7}, result;
    int st;

    if (argc > 1)
        snprintf(path, sizeof path, "%s", argv[1]);
    else
        snprintf(path, sizeof path, "%.*swasm_embed_guest.so",
                 slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (tether_wasm_module_load(&m, path, err, sizeof err) != 0) {
        fprintf(stderr, "wasm_embed: %s\n", err);
        return 1;
    }
    if (tether_wasm_pool_create(&pool, NULL) != 0 ||
        tether_wasm_instance_create(&inst, pool, m, &opts) != TETHER_WASM_OK) {
        fprintf(stderr, "wasm_embed: cannot instantiate %s\n", path);
        return 1;
    }

    /* A host function that calls back into the guest. */
    call(inst, "sum_of_squares", 3, 4);

    /* A host function that yields: the call comes back half done. */
    st = tether_wasm_invoke(inst, "fetch_and_add", &key, 1, &result, 1);
    printf("fetch_and_add    -> %s, the guest asks for key %u\n",
           st == TETHER_WASM_YIELDED ? "yielded" : "?",
           (unsigned)(uintptr_t)tether_wasm_yielded(inst));
    /* ... the host does its asynchronous work, then answers: */
    st = tether_wasm_resume(inst, (void *)(uintptr_t)42);
    printf("resumed with 42  -> %u\n", st == TETHER_WASM_OK ? result.i32 : 0);

    /* Each way to trap; the instance stays usable after every one. */
    call(inst, "out_of_bounds", 0, 0);
    call(inst, "divide", 1, 0);
    call(inst, "unreachable", 0, 0);
    call(inst, "recurse", 0, 0);
    tether_wasm_set_timeout(inst, 50 * 1000 * 1000); /* 50 ms per call */
    call(inst, "spin", 0, 0);
    tether_wasm_set_timeout(inst, 0);
    call(inst, "calls", 0, 0);

    /* Reset: memory and globals as new; then reuse. */
    tether_wasm_instance_reset(inst);
    call(inst, "calls", 0, 0);
    call(inst, "sum_of_squares", 5, 12);

    tether_wasm_instance_release(inst);
    tether_wasm_pool_destroy(pool);
    printf("the host survived them all\n");
    return 0;
}

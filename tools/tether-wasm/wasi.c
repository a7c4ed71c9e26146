/*
 * WASI (wasi_snapshot_preview1) for `tether-wasm run`: arguments and
 * environment, clocks, random bytes, sleeping, exit; the descriptor and
 * path calls are in wasi_fd.c and wasi_path.c. Every function a module
 * may import is provided; those without a meaning here (sockets,
 * proc_raise) return ENOSYS. A pointer the guest passes that is not
 * inside its memory gets EFAULT; nothing is read or written outside it.
 *
 * The guest sees only what the command line gives it: its arguments,
 * the --env variables (not the host's environment), stdin, stdout,
 * stderr, and the --dir directories.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <tether.h>

#include "wasi.h"
#include "wasi_common.h"

#define MODULE "wasi_snapshot_preview1"

static struct wasi_ctx ctx;
static const char exit_tag;

/* -------------------------------------------- arguments and environment */

/* sizes_get: the count and the bytes the strings take, NULs included. */
static void sizes(tether_wasm_instance *inst, tether_wasm_val *v, char *const *s, int n)
{
    uint8_t *count = GUEST(inst, v[0].i32, 4), *size = GUEST(inst, v[1].i32, 4);
    uint32_t bytes = 0;

    if (!count || !size) {
        v[0].i32 = W_FAULT;
        return;
    }
    for (int i = 0; i < n; i++)
        bytes += (uint32_t)strlen(s[i]) + 1;
    put32(count, (uint32_t)n);
    put32(size, bytes);
    v[0].i32 = W_SUCCESS;
}

/* _get: the pointers at v[0], the strings at v[1]. */
static void strings(tether_wasm_instance *inst, tether_wasm_val *v, char *const *s, int n)
{
    uint32_t ptrs = v[0].i32, buf = v[1].i32;

    for (int i = 0; i < n; i++) {
        size_t len = strlen(s[i]) + 1;
        uint8_t *p = GUEST(inst, ptrs + 4u * (uint32_t)i, 4), *b = GUEST(inst, buf, len);
        if (!p || !b) {
            v[0].i32 = W_FAULT;
            return;
        }
        put32(p, buf);
        memcpy(b, s[i], len);
        buf += (uint32_t)len;
    }
    v[0].i32 = W_SUCCESS;
}

static void args_sizes_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    struct wasi_ctx *c = d;
    sizes(inst, v, c->argv, c->argc);
}

static void args_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    struct wasi_ctx *c = d;
    strings(inst, v, c->argv, c->argc);
}

static void environ_sizes_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    struct wasi_ctx *c = d;
    sizes(inst, v, (char *const *)c->envs, c->nenvs);
}

static void environ_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    struct wasi_ctx *c = d;
    strings(inst, v, (char *const *)c->envs, c->nenvs);
}

/* ---------------------------------------------------- clocks and time */

static int host_clock(uint32_t id, clockid_t *out)
{
    static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC,
                                    CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
    if (id >= sizeof ids / sizeof ids[0])
        return -1;
    *out = ids[id];
    return 0;
}

/* clock_res_get and clock_time_get: one clock's figure into guest memory. */
static void clock_query(tether_wasm_instance *inst, tether_wasm_val *v, uint32_t at,
                        int (*query)(clockid_t, struct timespec *))
{
    uint8_t *out = GUEST(inst, at, 8);
    struct timespec t;
    clockid_t id;

    if (host_clock(v[0].i32, &id) != 0)
        v[0].i32 = W_INVAL;
    else if (!out)
        v[0].i32 = W_FAULT;
    else if (query(id, &t) != 0)
        v[0].i32 = (uint32_t)wasi_errno(errno);
    else
        put64(out, wasi_ns(t)), v[0].i32 = W_SUCCESS;
}

static void clock_res_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    (void)d;
    clock_query(inst, v, v[1].i32, clock_getres);
}

static void clock_time_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    (void)d; /* v[1] is the precision asked for: every answer is exact to the ns */
    clock_query(inst, v, v[2].i32, clock_gettime);
}

/*
 * poll_oneoff: clock subscriptions sleep until the earliest; descriptor
 * subscriptions are reported ready at once. The sleep is outside the
 * host-call bracket, so a time limit or interrupt ends it.
 */
static void poll_oneoff(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    uint32_t n = v[2].i32, events = 0;
    uint8_t *in = GUEST(inst, v[0].i32, (uint64_t)n * 48), *out = GUEST(inst, v[1].i32, (uint64_t)n * 32);
    uint8_t *nevents = GUEST(inst, v[3].i32, 4);
    uint64_t wake = UINT64_MAX, first = 0;
    struct timespec now;
    int have_fd = 0, have_clock = 0;

    (void)d;
    if (!in || !out || !nevents || n == 0) {
        v[0].i32 = n == 0 ? W_INVAL : W_FAULT;
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = in + 48 * i;
        if (s[8] == 0) { /* clock */
            uint64_t t = get64(s + 24);
            clockid_t id;
            struct timespec c;
            if (host_clock(get32(s + 16), &id) != 0 || clock_gettime(id, &c) != 0)
                continue;
            /* Absolute times become relative to now on that clock. */
            if (s[40] & 1)
                t = t > wasi_ns(c) ? t - wasi_ns(c) : 0;
            /* Saturating: a timeout near 2^64 ns is "never", not the past. */
            t = t > UINT64_MAX - wasi_ns(now) ? UINT64_MAX : wasi_ns(now) + t;
            if (!have_clock || t < wake) {
                wake = t;
                first = i;
                have_clock = 1;
            }
        } else {
            have_fd = 1;
        }
    }
    if (!have_fd && have_clock) {
        struct timespec until = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
        tether_host_leave();
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
            ;
        tether_host_enter();
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = in + 48 * i;
        uint8_t *e = out + 32 * events;
        if (s[8] == 0 && (have_fd || i != first))
            continue;
        memset(e, 0, 32);
        memcpy(e, s, 8);       /* userdata */
        e[10] = s[8];          /* type */
        events++;
    }
    put32(nevents, events);
    v[0].i32 = W_SUCCESS;
}

/* ----------------------------------------------------- the rest of it */

static void random_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    uint8_t *buf = GUEST(inst, v[0].i32, v[1].i32);
    size_t got = 0;

    (void)d;
    if (!buf) {
        v[0].i32 = W_FAULT;
        return;
    }
    while (got < v[1].i32) {
        ssize_t r = getrandom(buf + got, v[1].i32 - got, 0);
        if (r < 0 && errno != EINTR) {
            v[0].i32 = (uint32_t)wasi_errno(errno);
            return;
        }
        got += r > 0 ? (size_t)r : 0;
    }
    v[0].i32 = W_SUCCESS;
}

static void proc_exit(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    struct wasi_ctx *c = d;

    (void)inst;
    c->exit_code = (int)v[0].i32;
    tether_wasm_terminate((void *)&exit_tag);
}

static void sched_yield_(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    (void)inst;
    (void)d;
    v[0].i32 = W_SUCCESS;
}

static void nosys(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    (void)inst;
    (void)d;
    v[0].i32 = W_NOSYS;
}

#define F(name, params, results, fn) \
    {MODULE, name, TETHER_WASM_EXTERN_FUNC, params, results, fn, NULL, NULL}

static const tether_wasm_host_import calls[] = {
    F("args_get", "ii", "i", args_get),
    F("args_sizes_get", "ii", "i", args_sizes_get),
    F("environ_get", "ii", "i", environ_get),
    F("environ_sizes_get", "ii", "i", environ_sizes_get),
    F("clock_res_get", "ii", "i", clock_res_get),
    F("clock_time_get", "iji", "i", clock_time_get),
    F("poll_oneoff", "iiii", "i", poll_oneoff),
    F("random_get", "ii", "i", random_get),
    F("proc_exit", "i", "", proc_exit),
    F("sched_yield", "", "i", sched_yield_),
    F("proc_raise", "i", "i", nosys),
    F("sock_accept", "iii", "i", nosys),
    F("sock_recv", "iiiiii", "i", nosys),
    F("sock_send", "iiiii", "i", nosys),
    F("sock_shutdown", "ii", "i", nosys),
};

int wasi_imports(const struct run_opts *o, tether_wasm_host_import **v, size_t *n)
{
    static char *argv[1 + 4096];

    ctx.argc = 0;
    argv[ctx.argc++] = (char *)o->module;
    for (int i = 0; i < o->nargs && ctx.argc < 4096 && !o->invoke; i++)
        argv[ctx.argc++] = o->args[i];
    ctx.argv = argv;
    ctx.envs = o->envs;
    ctx.nenvs = o->nenvs;
    if (wasi_fd_init(&ctx, o->dirs, o->ndirs) != 0)
        return EXIT_USAGE; /* wasi_fd_init said why */
    if (wasi_add(v, n, calls, sizeof calls / sizeof calls[0], &ctx) != 0 ||
        wasi_fd_imports(&ctx, v, n) != 0 || wasi_path_imports(&ctx, v, n) != 0) {
        fprintf(stderr, "tether-wasm: out of memory\n");
        return EXIT_USAGE;
    }
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

    if (!e || e->kind != TETHER_WASM_EXTERN_FUNC || !e->call || *e->params || *e->results) {
        fprintf(stderr, "tether-wasm: %s has no _start function: name an export "
                        "with --invoke\n", o->module);
        return EXIT_USAGE;
    }
    st = tether_wasm_call(inst, start, (void *)e);
    if (st == TETHER_WASM_TRAP)
        return report(inst, stderr);
    if (st != TETHER_WASM_OK) {
        fprintf(stderr, "tether-wasm: running %s failed: %s\n", o->module, tether_wasm_strerror(st));
        return EXIT_USAGE;
    }
    return 0;
}

void wasi_fini(void)
{
    wasi_fd_fini(&ctx);
}

int wasi_exit_code(const void *details, int *code)
{
    if (details != &exit_tag)
        return 0;
    *code = ctx.exit_code & 0xff;
    return 1;
}

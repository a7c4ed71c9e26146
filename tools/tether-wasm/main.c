/* tether-wasm: run, compile and translate WebAssembly modules on tether. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "compile.h"
#include "gen.h"
#include "run.h"

static const char usage[] =
    "usage: tether-wasm run [OPTIONS] MODULE [--invoke NAME] [ARG...]\n"
    "       tether-wasm compile MODULE.wasm -o MODULE.so\n"
    "       tether-wasm translate MODULE.wasm -o MODULE.c [--name NAME]\n"
    "       tether-wasm --help | --version\n";

static const char help[] =
    "\n"
    "run: instantiates MODULE (a .wasm file, translated by wasm2c and compiled\n"
    "into the cache, or a shared object made by `compile`) in a tether\n"
    "instance and runs it.\n"
    "  Without --invoke, WASI's _start runs with ARG... as its arguments\n"
    "  (argv[0] is MODULE), and tether-wasm exits with the program's exit code.\n"
    "  With --invoke NAME, the export NAME is called with ARG... as its\n"
    "  arguments, written TYPE:VALUE: i32:5 i64:-1 f32:1.5 f64:0x1p-2\n"
    "  (integers signed or unsigned, decimal or 0x hex; floats decimal or hex,\n"
    "  inf, -inf, nan, -nan, nan:0xPAYLOAD, -0). Its results are printed one per\n"
    "  line in the same form, floats as the shortest text that reads back to\n"
    "  the same bits.\n"
    "\n"
    "  A trap prints `trap: MESSAGE` (to stdout with --invoke, else to stderr)\n"
    "  with the spec test suite's message (out of bounds memory access, out of\n"
    "  bounds table access, integer divide by zero, integer overflow, invalid\n"
    "  conversion to integer, unreachable, call stack exhausted, indirect call\n"
    "  type mismatch, undefined element, uninitialized element) and exits 2.\n"
    "  Usage and load errors print a message to stderr and exit 1.\n"
    "\n"
    "options:\n"
    "  --invoke NAME       call the export NAME instead of _start\n"
    "  --timeout MS        a trap (`interrupt: time limit exceeded`) if a call\n"
    "                      runs longer than MS milliseconds\n"
    "  --stack-size BYTES  the instance's call stack (default 524288; 16384 to\n"
    "                      1073741824); K, M, G suffixes allowed\n"
    "  --max-memory PAGES  linear memory limit in 64 KiB pages (default and\n"
    "                      most 65535)\n"
    "  --dir HOST[::GUEST] give WASI programs the host directory HOST, seen as\n"
    "                      GUEST (default: the same path); nothing outside it\n"
    "                      is reachable\n"
    "  --env NAME=VALUE    an environment variable for WASI programs\n"
    "  --cache-dir DIR     where compiled modules are kept (default\n"
    "                      $WASM_SPEC_CACHE_DIR, else ~/.cache/tether-wasm)\n"
    "  --                  the end of the options\n"
    "\n"
    "imports a module may have:\n"
    "  spectest            print, print_i32, print_i64, print_f32, print_f64,\n"
    "                      print_i32_f32, print_f64_f64 (each prints its\n"
    "                      arguments on one line of stdout, as above); globals\n"
    "                      global_i32, global_i64 (666), global_f32, global_f64\n"
    "                      (666.6); table (10 to 20 funcrefs); memory (1 to 2\n"
    "                      pages)\n"
    "  env.abort           () (i32) or (i32 i32 i32 i32): prints its arguments to\n"
    "                      stderr, then `trap: abort`, exit 2\n"
    "  wasi_snapshot_preview1  arguments, environment, stdin/stdout/stderr,\n"
    "                      clocks, random, files under --dir directories; the\n"
    "                      calls it lacks return ENOSYS\n"
    "\n"
    "compile: translates MODULE.wasm with wasm2c and compiles it with the C\n"
    "compiler into a shared object `run` loads. translate: writes the C\n"
    "(MODULE.c and MODULE.h) to build into a program with libtether-wasm;\n"
    "its tether_wasm_module is Z_NAME_tether_module (NAME defaults to the\n"
    "file's name).\n"
    "\n"
    "environment: TETHER_WASM2C (wasm2c), TETHER_WASM_CC (the C compiler),\n"
    "TETHER_WASM_CFLAGS (more compiler flags), WASM_SPEC_CACHE_DIR.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("tether-wasm: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

/* A whole non-negative number with an optional K/M/G suffix. */
static int number(const char *s, unsigned long long max, int suffixes,
                  unsigned long long *out)
{
    unsigned long long v, mul = 1;
    char *end;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (suffixes && *end && !end[1]) {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; end++; break;
        case 'm': case 'M': mul = 1ull << 20; end++; break;
        case 'g': case 'G': mul = 1ull << 30; end++; break;
        }
    }
    if (errno || *end || v > max / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* --name VALUE or --name=VALUE at argv[*i]: the value, or NULL. */
static const char *option(int argc, char **argv, int *i, const char *name, int *err)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        *err = usage_error("%s needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

struct lists {
    const char *dirs[256], *envs[256];
};

/* One option of `run` at argv[*i]: 1 taken, 0 not an option, or -code. */
static int run_option(int argc, char **argv, int *i, struct run_opts *o, struct lists *l)
{
    unsigned long long v;
    const char *val;
    int err = 0;

    if ((val = option(argc, argv, i, "--invoke", &err))) {
        o->invoke = val;
    } else if ((val = option(argc, argv, i, "--timeout", &err))) {
        if (number(val, UINT64_MAX / 1000000, 0, &v) || v == 0)
            return -usage_error("--timeout takes a number of milliseconds, not '%s'", val);
        o->timeout_ns = v * 1000000;
    } else if ((val = option(argc, argv, i, "--stack-size", &err))) {
        if (number(val, SIZE_MAX, 1, &v) || v == 0)
            return -usage_error("--stack-size takes a number of bytes, not '%s'", val);
        o->stack_size = (size_t)v;
    } else if ((val = option(argc, argv, i, "--max-memory", &err))) {
        if (number(val, 65535, 0, &v) || v == 0)
            return -usage_error("--max-memory takes 1 to 65535 pages, not '%s'", val);
        o->max_pages = (uint32_t)v;
    } else if ((val = option(argc, argv, i, "--cache-dir", &err))) {
        o->cache_dir = val;
    } else if ((val = option(argc, argv, i, "--dir", &err))) {
        if (o->ndirs == 256)
            return -usage_error("too many --dir options%s", "");
        l->dirs[o->ndirs++] = val;
    } else if ((val = option(argc, argv, i, "--env", &err))) {
        if (!strchr(val, '=') || *val == '=')
            return -usage_error("--env takes NAME=VALUE, not '%s'", val);
        if (o->nenvs == 256)
            return -usage_error("too many --env options%s", "");
        l->envs[o->nenvs++] = val;
    } else {
        return err ? -err : 0;
    }
    return 1;
}

static int cmd_run(int argc, char **argv)
{
    static struct lists l;
    struct run_opts o = {0};
    int i, r, done = 0;

    o.dirs = l.dirs;
    o.envs = l.envs;
    for (i = 2; i < argc; i++) {
        if (!done && strcmp(argv[i], "--") == 0) {
            done = 1;
            continue;
        }
        if (!done && (r = run_option(argc, argv, &i, &o, &l)) != 0) {
            if (r < 0)
                return -r;
            continue;
        }
        if (!done && argv[i][0] == '-' && argv[i][1] == '-' && !o.module)
            return usage_error("unknown option %s", argv[i]);
        if (!o.module) {
            o.module = argv[i];
            continue;
        }
        /* The rest are the module's: --invoke values or WASI arguments. */
        o.args = argv + i;
        o.nargs = argc - i;
        break;
    }
    if (!o.module)
        return usage_error("run: no MODULE given%s", "");
    return run_module(&o);
}

/* compile / translate: MODULE -o OUT [--name NAME]. */
static int cmd_build(int argc, char **argv, int translate)
{
    const char *in = NULL, *out = NULL, *name = NULL, *val;
    char err[4096], base_name[256], cname[256];
    int i, e = 0;

    for (i = 2; i < argc; i++) {
        if ((val = option(argc, argv, &i, "-o", &e)))
            out = val;
        else if (translate && (val = option(argc, argv, &i, "--name", &e)))
            name = val;
        else if (e)
            return e;
        else if (argv[i][0] == '-')
            return usage_error("unknown option %s", argv[i]);
        else if (in)
            return usage_error("one MODULE at a time, not also %s", argv[i]);
        else
            in = argv[i];
    }
    if (!in || !out)
        return usage_error("%s needs MODULE.wasm and -o OUT", argv[1]);
    if (!translate) {
        if (compile_so(in, out, err, sizeof err) != 0) {
            fprintf(stderr, "tether-wasm: %s: %s\n", in, err);
            return EXIT_USAGE;
        }
        return 0;
    }
    if (!name) {
        const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
        snprintf(base_name, sizeof base_name, "%.*s", (int)strcspn(base, "."), base);
        name = base_name;
    }
    gen_module_name(cname, sizeof cname, name);
    if (compile_translate(in, out, cname, 0, err, sizeof err) != 0) {
        fprintf(stderr, "tether-wasm: %s: %s\n", in, err);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("no command given%s", "");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("%s%s", usage, help);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tether-wasm %s (wasm2c runtime for wabt 1.0.32)\n", PACKAGE_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(argv[1], "compile") == 0)
        return cmd_build(argc, argv, 0);
    if (strcmp(argv[1], "translate") == 0)
        return cmd_build(argc, argv, 1);
    return usage_error("unknown command '%s'", argv[1]);
}

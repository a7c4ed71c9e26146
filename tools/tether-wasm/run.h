/* `tether-wasm run`: load a module, instantiate it, call it, report. */
#ifndef TW_RUN_H
#define TW_RUN_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes. */
enum { EXIT_USAGE = 1, EXIT_TRAP = 2 };

struct run_opts {
    const char *module;     /* a .wasm file or a compiled .so */
    const char *invoke;     /* an export to call, or NULL for _start */
    char **args;            /* --invoke's values, or the WASI argv[1..] */
    int nargs;
    uint64_t timeout_ns;    /* 0: none */
    size_t stack_size;      /* 0: the pool's default */
    uint32_t max_pages;     /* 0: the pool's default */
    const char *cache_dir;
    const char **dirs;      /* --dir HOST[::GUEST] */
    int ndirs;
    const char **envs;      /* --env NAME=VALUE */
    int nenvs;
};

/* Runs; returns the process's exit code. */
int run_module(const struct run_opts *o);

#endif

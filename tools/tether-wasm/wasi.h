/*
 * WASI (wasi_snapshot_preview1) for `tether-wasm run`: the imports, the
 * _start call and how a program's exit code comes back.
 */
#ifndef TW_WASI_H
#define TW_WASI_H

#include <stddef.h>
#include <stdio.h>
#include <tether/wasm.h>

#include "run.h"

/*
 * Appends the WASI imports to *v, set up from o (argv, environment,
 * mapped directories). Returns 0 or an exit code, having said why.
 */
int wasi_imports(const struct run_opts *o, tether_wasm_host_import **v, size_t *n);

/* How a run reports a trap: prints it, returns the exit code. */
typedef int (*wasi_report_fn)(tether_wasm_instance *inst, FILE *to);

/* Runs the module's _start; returns the exit code. */
int wasi_start(tether_wasm_instance *inst, const tether_wasm_module *m,
               const struct run_opts *o, wasi_report_fn report);

/* Closes what the program had open. */
void wasi_fini(void);

/* Was a call ended by proc_exit? Then 1 and the code in *code. */
int wasi_exit_code(const void *details, int *code);

#endif

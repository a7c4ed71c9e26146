/*
 * What tether-wasm adds to wasm2c's output: traps with the spec's
 * reasons, and the module's description for libtether-wasm (export
 * thunks, import stubs, the tether_wasm_module).
 */
#ifndef TW_GEN_H
#define TW_GEN_H

#include <stddef.h>
#include <stdio.h>

#include "wasmbin.h"

/*
 * Writes wasm2c's C source `c` (len bytes), with the trap macros
 * replaced and the glue appended, to out. `name` is the -n given to
 * wasm2c. `so` also defines tether_wasm_module_info, the symbol
 * tether_wasm_module_load() looks for. Returns 0, or -1 with a message
 * in err (the module imports something tether-wasm cannot stub).
 * *patched tells whether the trap macros were found and replaced.
 */
int gen_source(FILE *out, const char *c, size_t len, const struct wb_module *m,
               const char *name, int so, int *patched, char *err, size_t errlen);

/* Writes wasm2c's header `h`, declaring the module's description. */
int gen_header(FILE *out, const char *h, size_t len, const char *name);

/* Turns any text into a name wasm2c takes with -n: [A-Za-z0-9_], no 'Z'. */
void gen_module_name(char *out, size_t outlen, const char *from);

#endif

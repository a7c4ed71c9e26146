/*
 * The host modules tether-wasm offers a module's imports: the spec test
 * suite's `spectest`, `env.abort`, and WASI (wasi_snapshot_preview1).
 */
#ifndef TW_HOST_H
#define TW_HOST_H

#include <stddef.h>
#include <tether/wasm.h>

/* The details of a call ended by env.abort. */
extern const char host_abort_tag;

/*
 * Appends the spectest and env imports to *v (growing it); allocates the
 * spectest memory and table only if m imports them. Returns 0 or -1.
 */
int host_spectest(const tether_wasm_module *m, tether_wasm_host_import **v, size_t *n);

#endif

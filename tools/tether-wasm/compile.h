/*
 * From a .wasm file to C (wasm2c, then gen.c) and to a shared object
 * (the C compiler), and the cache of shared objects that `run` keeps.
 */
#ifndef TW_COMPILE_H
#define TW_COMPILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The tools, from the environment or configure's defaults:
 * TETHER_WASM2C (wasm2c), TETHER_WASM_CC (the C compiler) and
 * TETHER_WASM_CFLAGS (added to the compiler's flags).
 */
const char *compile_wasm2c(void);
const char *compile_cc(void);
const char *compile_cflags(void);

/* The flags every module is compiled with. */
extern const char compile_module_flags[];

/* Reads a whole file; 0, or -1 with errno set. */
int read_file(const char *path, uint8_t **data, size_t *len);

/*
 * Translates a .wasm file into C: out_c and, beside it, the header wasm2c
 * names after it (x.c -> x.h). `name` is the module's C name. Returns 0,
 * or -1 with a message in err.
 */
int compile_translate(const char *wasm, const char *out_c, const char *name,
                      int so, char *err, size_t errlen);

/* Translates and compiles a .wasm file into a loadable shared object. */
int compile_so(const char *wasm, const char *out_so, char *err, size_t errlen);

/*
 * The cached shared object for a .wasm file's bytes in cache_dir,
 * compiled there first if it is not. Stores its path in out (PATH_MAX
 * bytes). Returns 0, or -1 with a message in err.
 */
int compile_cached(const char *wasm, const uint8_t *bytes, size_t len,
                   const char *cache_dir, char *out, char *err, size_t errlen);

/* The default cache directory: $XDG_CACHE_HOME or ~/.cache, /tether-wasm. */
void compile_default_cache(char *out, size_t len);

#endif

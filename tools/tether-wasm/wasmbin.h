/*
 * What tether-wasm needs to know of a .wasm file: its imports and exports
 * and their types, read from the binary format's type, import, function
 * and export sections. Everything else is wasm2c's business.
 */
#ifndef TW_WASMBIN_H
#define TW_WASMBIN_H

#include <stddef.h>
#include <stdint.h>

/* Kinds as the binary format numbers them (tether_wasm_extern_kind too). */
enum { WB_FUNC = 0, WB_TABLE = 1, WB_MEMORY = 2, WB_GLOBAL = 3, WB_TAG = 4 };

/*
 * A function type: its params and results as wasm2c's letters, 'i' i32,
 * 'j' i64, 'f' f32, 'd' f64, and '?' for a type tether-wasm cannot pass
 * (v128, references).
 */
struct wb_type {
    char *params;
    char *results;
};

struct wb_extern {
    char *module;         /* imports only */
    char *name;
    size_t name_len;      /* names may hold any byte, NUL included */
    size_t module_len;
    int kind;
    uint32_t index;       /* exports: the function, table, memory... index */
    const struct wb_type *type; /* functions */
    char global_type;     /* globals: a type letter */
    int ref_type;         /* tables: 0x70 funcref, 0x6f externref */
};

struct wb_module {
    struct wb_type *types;
    size_t ntypes;
    struct wb_extern *imports;
    size_t nimports;
    struct wb_extern *exports;
    size_t nexports;
    uint32_t *func_types; /* type index of every function, imports first */
    size_t nfuncs;
    char *global_types;   /* type letter of every global, imports first */
    size_t nglobals;
    int *table_types;     /* reference type of every table, imports first */
    size_t ntables;
};

/*
 * Reads a module. Returns 0, or -1 with a message in err (the binary is
 * malformed, or not a wasm module).
 */
int wb_read(struct wb_module *m, const uint8_t *bytes, size_t len, char *err,
            size_t errlen);
void wb_free(struct wb_module *m);

/* The type of function `index`, or NULL. */
const struct wb_type *wb_func_type(const struct wb_module *m, uint32_t index);

#endif

/*
 * Values on tether-wasm's command line and in its output: `i32:5`,
 * `i64:-1`, `f32:1.5`, `f64:0x1.8p+1`, with inf, -inf, nan, -nan,
 * nan:0xPAYLOAD and -0 for floats.
 */
#ifndef TW_VALUE_H
#define TW_VALUE_H

#include <stddef.h>
#include <tether/wasm.h>

/* The type name of a type letter ('i' -> "i32"), or "?". */
const char *value_type_name(char type);

/*
 * Parses `text` as a value of type `type` (a letter). Returns 0, or -1
 * with a message in err.
 */
int value_parse(const char *text, char type, tether_wasm_val *v, char *err,
                size_t errlen);

/*
 * Writes `v` as TYPE:VALUE; floats as the shortest decimal that reads
 * back to the same bits. Returns what snprintf returns.
 */
int value_format(char *buf, size_t len, char type, tether_wasm_val v);

#endif

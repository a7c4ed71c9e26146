/*
 * The tether headers that compiled modules include, built into the
 * program (headers.c is generated from include/ by embed.sh), so that a
 * module is always compiled against the ABI of the program that loads it.
 */
#ifndef TW_HEADERS_H
#define TW_HEADERS_H

#include <stddef.h>

struct tw_header {
    const char *path; /* "tether/wasm.h" */
    const char *text;
};

extern const struct tw_header tw_headers[];
extern const size_t tw_nheaders;

#endif

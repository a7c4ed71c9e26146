/*
 * Would a C++ frame's personality let an unwind pass this pc?
 *
 * __gxx_personality_v0 calls std::terminate when an exception comes out
 * of a call that its function's call-site table does not list: a call
 * the compiler proved cannot throw (a leaf function that faulted is
 * often one), or any call inside a noexcept function. An unwind started
 * below such a frame kills the process, so unwind_frame.c starts above
 * the outermost one. This file reads the call-site table (the LSDA, in
 * .gcc_except_table) to tell.
 */
#include <stdint.h>

#include "unwind_lsda.h"

#define DW_EH_PE_omit 0xff

static uint64_t uleb(const uint8_t **p)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;

    do {
        b = *(*p)++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    return v;
}

/* A call-site field: the value formats gcc uses there (no application bits). */
static int read_value(const uint8_t **p, uint8_t enc, uint64_t *v)
{
    const uint8_t *q = *p;

    switch (enc & 0x0f) {
    case 0x01: *v = uleb(p); return 0;                       /* uleb128 */
    case 0x02: *v = (uint64_t)(q[0] | q[1] << 8); *p += 2; return 0;
    case 0x03: case 0x0b:                                   /* (s|u)data4 */
        *v = (uint64_t)q[0] | (uint64_t)q[1] << 8 | (uint64_t)q[2] << 16 |
             (uint64_t)q[3] << 24;
        *p += 4;
        return 0;
    default:
        return -1;
    }
}

int tether__lsda_covers(const void *lsda, uintptr_t func_start, uintptr_t ip)
{
    const uint8_t *p = lsda, *end;
    uint8_t cs_enc;

    if (!p)
        return 1; /* no table: nothing to run, nothing to refuse */
    if (*p++ != DW_EH_PE_omit)
        return 1; /* a landing-pad base of its own: not what gcc emits; trust it */
    if (*p++ != DW_EH_PE_omit)
        (void)uleb(&p); /* the type table's offset */
    cs_enc = *p++;
    end = p + uleb(&p);
    while (p < end) {
        uint64_t start, len, lp;
        if (read_value(&p, cs_enc, &start) || read_value(&p, cs_enc, &len) ||
            read_value(&p, cs_enc, &lp))
            return 1; /* an encoding we do not read: trust it */
        (void)uleb(&p); /* the action */
        if (ip < func_start + start)
            return 0; /* sorted: we are past it */
        if (ip < func_start + start + len)
            return 1;
    }
    return 0;
}

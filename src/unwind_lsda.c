/*
 * What a frame's call-site table says of a pc.
 *
 * __gxx_personality_v0 calls std::terminate when an exception (tether's
 * unwind included) comes out of a call that its function's call-site
 * table does not list: a call the compiler proved cannot throw (a leaf
 * function that faulted is often one), or a faulting instruction in a
 * function not built with -fnon-call-exceptions. It also ends in
 * std::terminate when the unwind meets an empty exception specification
 * (C++03 `throw()`; g++ encodes some noexcept functions the same way).
 * An unwind that reached such a frame would kill the process, so
 * unwind_frame.c starts above the outermost one, and counts the frames
 * passed over. C frames (__gcc_personality_v0) let the unwind through a
 * call they do not list, without running their cleanups. This file
 * reads the call-site table and the action table (the LSDA, in
 * .gcc_except_table) to tell.
 */
#include <stddef.h>
#include <stdint.h>

#include "leb128.h"
#include "unwind_lsda.h"

#define DW_EH_PE_omit 0xff

/* A call-site field: the value formats gcc uses there (no application bits). */
static int read_value(const uint8_t **p, uint8_t enc, uint64_t *v)
{
    const uint8_t *q = *p;

    switch (enc & 0x0f) {
    case 0x01: *v = tether__uleb(p); return 0;                       /* uleb128 */
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

/* Bytes of one type table entry in encoding enc. */
static int entry_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case 0x02: case 0x0a: return 2;
    case 0x03: case 0x0b: return 4;
    default: return 8; /* absptr, udata8, sdata8 */
    }
}

/* Is type table entry `index` (1-based, counted back from ttype) zero: catch (...)? */
static int catch_all_entry(const uint8_t *ttype, uint8_t enc, int64_t index)
{
    int size = entry_size(enc);
    const uint8_t *e = ttype - index * size;

    for (int i = 0; i < size; i++)
        if (e[i])
            return 0;
    return 1;
}

/*
 * Walks the action chain starting at `a`: does it hold an empty
 * exception specification (throw(), or how g++ encodes noexcept; its
 * list of types, at ttype - filter - 1, starts with the 0 that ends it),
 * and (*catch_all) a catch (...)?
 */
static int has_empty_spec(const uint8_t *a, const uint8_t *ttype, uint8_t tt_enc,
                          int *catch_all)
{
    for (int n = 0; n < 256; n++) { /* chains are short; a bound for safety */
        const uint8_t *disp_at, *list;
        int64_t filter, disp;

        filter = tether__sleb(&a);
        if (filter < 0) {
            if (!ttype)
                return 1; /* a spec without a type table: nothing it allows */
            list = ttype - filter - 1;
            if (tether__uleb(&list) == 0)
                return 1;
        } else if (filter > 0 && ttype && catch_all_entry(ttype, tt_enc, filter)) {
            *catch_all = 1;
        }
        disp_at = a;
        disp = tether__sleb(&a);
        if (disp == 0)
            return 0;
        a = disp_at + disp;
    }
    return 0;
}

int tether__lsda_call_site(const void *lsda, uintptr_t func_start, uintptr_t ip,
                           struct tether_call_site *cs)
{
    const uint8_t *p = lsda, *end, *actions, *ttype = NULL;
    uint8_t cs_enc, tt_enc;
    uint64_t cs_len;

    cs->landing_pad = 0;
    cs->catch_all = 0;
    if (!p)
        return LSDA_NOTHING; /* no table: nothing to run, nothing to refuse */
    if (*p++ != DW_EH_PE_omit)
        return LSDA_CLEANUP; /* a landing-pad base of its own: not what compilers emit; trust it */
    if ((tt_enc = *p++) != DW_EH_PE_omit) {
        uint64_t off = tether__uleb(&p);
        ttype = p + off; /* the type table's end: entries are indexed backwards */
    }
    cs_enc = *p++;
    cs_len = tether__uleb(&p);
    end = p + cs_len;
    actions = end; /* the action table follows the call-site table */
    while (p < end) {
        uint64_t start, len, lp, action;
        if (read_value(&p, cs_enc, &start) || read_value(&p, cs_enc, &len) ||
            read_value(&p, cs_enc, &lp))
            return LSDA_CLEANUP; /* an encoding we do not read: trust it */
        action = tether__uleb(&p);
        if (ip < func_start + start)
            return LSDA_NOT_LISTED; /* sorted: we are past it */
        if (ip < func_start + start + len) {
            if (action != 0 &&
                has_empty_spec(actions + action - 1, ttype, tt_enc, &cs->catch_all))
                return LSDA_NO_THROW;
            cs->landing_pad = lp ? func_start + lp : 0;
            return lp ? LSDA_CLEANUP : LSDA_NOTHING;
        }
    }
    return LSDA_NOT_LISTED;
}

/* Reading a function's call-site table (see unwind_lsda.c). */
#ifndef TETHER_UNWIND_LSDA_H
#define TETHER_UNWIND_LSDA_H

#include <stdint.h>

enum {
    LSDA_CLEANUP = 0,    /* the table covers ip, with a landing pad: what is live there is cleaned up */
    LSDA_NOTHING = 1,    /* it covers ip with no landing pad: nothing to run there */
    LSDA_NOT_LISTED = 2, /* it does not cover ip: C++ terminates, C passes by */
    LSDA_NO_THROW = 3,   /* covered by an empty exception specification: C++ terminates */
};

/* What else the call-site table says of that instruction. */
struct tether_call_site {
    uintptr_t landing_pad; /* LSDA_CLEANUP: where the unwind enters the frame */
    int catch_all;         /* a catch (...) is among its handlers */
};

/*
 * What the call-site table of the function (or function part) starting
 * at func_start, whose LSDA is `lsda`, says of the instruction at ip.
 * LSDA_CLEANUP when it cannot tell (no table, an encoding not read).
 */
int tether__lsda_call_site(const void *lsda, uintptr_t func_start, uintptr_t ip,
                           struct tether_call_site *cs);

#endif

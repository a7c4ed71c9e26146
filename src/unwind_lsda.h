/* Reading a C++ function's call-site table (see unwind_lsda.c). */
#ifndef TETHER_UNWIND_LSDA_H
#define TETHER_UNWIND_LSDA_H

#include <stdint.h>

/*
 * Does the call-site table at `lsda`, of the function (or function part)
 * starting at func_start, list ip? 1 also when it cannot tell.
 */
int tether__lsda_covers(const void *lsda, uintptr_t func_start, uintptr_t ip);

#endif

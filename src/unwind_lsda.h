/* Reading a C++ function's call-site table (see unwind_lsda.c). */
#ifndef TETHER_UNWIND_LSDA_H
#define TETHER_UNWIND_LSDA_H

#include <stdint.h>

/*
 * Would libstdc++'s personality call std::terminate for a foreign
 * exception leaving the call at ip, in the function (or function part)
 * starting at func_start whose LSDA is `lsda`? 0 when it cannot tell.
 */
int tether__lsda_refuses(const void *lsda, uintptr_t func_start, uintptr_t ip);

#endif

/* What a function's unwind tables say (unwind_tables.c). */
#ifndef TETHER_UNWIND_TABLES_H
#define TETHER_UNWIND_TABLES_H

#include <stdint.h>

/* Does the function holding pc have unwind tables (an FDE)? */
int tether__has_unwind_tables(uintptr_t pc);

/*
 * The personality routine of the function holding pc, from its unwind
 * tables; NULL if it has none, or no unwind tables at all.
 */
void *tether__personality_of(uintptr_t pc);

#endif

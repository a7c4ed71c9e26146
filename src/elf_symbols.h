/* Function names from a module's own symbol table (elf_symbols.c). */
#ifndef TETHER_ELF_SYMBOLS_H
#define TETHER_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Finds, in the symbol table of the file of the module holding addr,
 * the function that holds it: copies its name into name (NUL-terminated),
 * points *module (if not NULL) at the module's file name and returns the
 * function's address; or returns 0 (no module, a stripped file, no such
 * function). Works in static programs too.
 */
uintptr_t tether__elf_function(const void *addr, char *name, size_t len,
                               const char **module);

/*
 * How many bytes from addr to the end of the loaded segment holding it
 * (0 if no module holds it): what may be read there without a fault.
 * Takes the loader's lock: not for signal handlers.
 */
size_t tether__elf_bytes_after(const void *addr);

/*
 * If `stub` is a PLT entry, copies the name of the function it calls
 * (bound or not yet) into name and returns 1; otherwise returns 0
 * (elf_plt.c). Not for signal handlers.
 */
int tether__elf_plt_callee(const void *stub, char *name, size_t len);

#endif

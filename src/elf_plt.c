/*
 * Which function a PLT entry calls, by name.
 *
 * A call into another module goes through a stub in the caller's PLT,
 * which jumps through a GOT slot. Once bound the slot holds the target;
 * before (lazy binding) it points back into the PLT. Either way the
 * module's PLT relocations (DT_JMPREL) name the symbol whose address the
 * slot receives: that name is what this file returns. The stubs look like
 *
 *   ff 25 disp32               jmp *slot(%rip)             (.plt, .plt.got)
 *   f3 0f 1e fa f2 ff 25 d32   endbr64; bnd jmp *slot(%rip) (.plt.sec, IBT)
 *   f3 0f 1e fa ff 25 d32      endbr64; jmp *slot(%rip)
 *
 * Reads only the loaded image (the dynamic section, the relocations, the
 * dynamic symbols): no file is opened. Not for signal handlers (it takes
 * the loader's lock).
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "elf_symbols.h"

/* The GOT slot the stub at p jumps through, or 0 if p is no such stub. */
static uintptr_t slot_of(const uint8_t *p)
{
    int32_t disp;

    if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
        p += 4; /* endbr64 */
    if (p[0] == 0xf2)
        p++; /* bnd */
    if (p[0] != 0xff || p[1] != 0x25)
        return 0;
    memcpy(&disp, p + 2, 4);
    return (uintptr_t)p + 6 + (uintptr_t)(intptr_t)disp;
}

struct plt_lookup {
    uintptr_t stub, slot;
    char *name;
    size_t len;
    int found;
};

/* A dynamic-section address: glibc stores most of them already relocated. */
static uintptr_t dyn_addr(uintptr_t v, uintptr_t bias)
{
    return v < bias ? v + bias : v;
}

static int search_module(struct dl_phdr_info *info, size_t size, void *p)
{
    struct plt_lookup *q = p;
    const ElfW(Dyn) *dyn = NULL;
    uintptr_t jmprel = 0, symtab = 0, strtab = 0, relsz = 0, inside = 0;

    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && q->stub >= lo && q->stub - lo < ph->p_memsz)
            inside = 1;
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)lo;
    }
    if (!inside)
        return 0;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_JMPREL: jmprel = dyn_addr(dyn->d_un.d_ptr, info->dlpi_addr); break;
        case DT_PLTRELSZ: relsz = dyn->d_un.d_val; break;
        case DT_SYMTAB: symtab = dyn_addr(dyn->d_un.d_ptr, info->dlpi_addr); break;
        case DT_STRTAB: strtab = dyn_addr(dyn->d_un.d_ptr, info->dlpi_addr); break;
        }
    }
    if (!jmprel || !symtab || !strtab)
        return 1;
    for (const Elf64_Rela *r = (const Elf64_Rela *)jmprel;
         (uintptr_t)(r + 1) <= jmprel + relsz; r++) {
        if (r->r_offset + info->dlpi_addr == q->slot) {
            const Elf64_Sym *sym = (const Elf64_Sym *)symtab + ELF64_R_SYM(r->r_info);
            snprintf(q->name, q->len, "%s", (const char *)strtab + sym->st_name);
            q->found = 1;
            break;
        }
    }
    return 1;
}

int tether__elf_plt_callee(const void *stub, char *name, size_t len)
{
    struct plt_lookup q = {.stub = (uintptr_t)stub, .name = name, .len = len};
    Dl_info di;
    void *target;

    if (tether__elf_bytes_after(stub) < 12 || !(q.slot = slot_of(stub)))
        return 0;
    dl_iterate_phdr(search_module, &q);
    if (q.found)
        return 1;
    /* A slot bound at load time (.plt.got: GLOB_DAT, not a PLT relocation). */
    if (tether__elf_bytes_after((void *)q.slot) < sizeof target)
        return 0;
    memcpy(&target, (void *)q.slot, sizeof target);
    if (!dladdr(target, &di) || !di.dli_sname || di.dli_saddr != target)
        return 0;
    snprintf(name, len, "%s", di.dli_sname);
    return 1;
}

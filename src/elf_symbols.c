/*
 * Function names from a module's own symbol table, for fault reports.
 *
 * dladdr() knows only the dynamic symbol table: exported functions. A
 * guest's static functions are in the file's .symtab (unless it was
 * stripped), which is not loaded: this file maps the module's file,
 * read-only, finds the function symbol that holds the address, and
 * copies its name. Not for signal handlers (it opens and maps files).
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_symbols.h"

/* The loaded object holding an address: its load bias and file. */
struct owner {
    uintptr_t addr;
    uintptr_t bias;
    const char *path;
    uintptr_t seg_end; /* the end of the segment holding addr */
    int found;
};

static int find_owner(struct dl_phdr_info *info, size_t size, void *p)
{
    struct owner *o = p;

    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && o->addr >= lo && o->addr - lo < ph->p_memsz) {
            o->bias = info->dlpi_addr;
            o->seg_end = lo + ph->p_memsz;
            /* The main program has no name here (nor does a static one). */
            o->path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name
                                                            : "/proc/self/exe";
            o->found = 1;
            return 1;
        }
    }
    return 0;
}

/* Is [off, off + len) inside a file of `size` bytes? */
static int inside(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

/* Searches one symbol table of the mapped file for the function at rel. */
static uintptr_t search(const unsigned char *file, size_t size, const Elf64_Shdr *sym,
                        const Elf64_Shdr *str, uintptr_t rel, char *name, size_t len)
{
    const Elf64_Sym *best = NULL;
    size_t n;

    if (sym->sh_entsize != sizeof(Elf64_Sym) || !inside(sym->sh_offset, sym->sh_size, size) ||
        !inside(str->sh_offset, str->sh_size, size))
        return 0;
    n = sym->sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < n; i++) {
        const Elf64_Sym *s = (const Elf64_Sym *)(file + sym->sh_offset) + i;
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
            rel < s->st_value || rel - s->st_value >= (s->st_size ? s->st_size : 1))
            continue;
        best = s;
        if (ELF64_ST_BIND(s->st_info) != STB_LOCAL)
            break; /* a global alias is the better name */
    }
    if (!best || best->st_name >= str->sh_size)
        return 0;
    snprintf(name, len, "%.*s", (int)(str->sh_size - best->st_name),
             (const char *)file + str->sh_offset + best->st_name);
    return best->st_value;
}

uintptr_t tether__elf_function(const void *addr, char *name, size_t len,
                               const char **module)
{
    struct owner o = {.addr = (uintptr_t)addr};
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    unsigned char *file;
    uintptr_t rel, start = 0;
    struct stat st;
    int fd;

    dl_iterate_phdr(find_owner, &o);
    if (!o.found)
        return 0;
    rel = o.addr - o.bias; /* as the file's symbols see it */
    if ((fd = open(o.path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr) ||
        (file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        close(fd);
        return 0;
    }
    close(fd);
    eh = (const Elf64_Ehdr *)file;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
        eh->e_shentsize == sizeof(Elf64_Shdr) &&
        inside(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), (size_t)st.st_size)) {
        sh = (const Elf64_Shdr *)(file + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum && !start; i++)
            if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_link < eh->e_shnum)
                start = search(file, (size_t)st.st_size, &sh[i], &sh[sh[i].sh_link], rel,
                               name, len);
    }
    munmap(file, (size_t)st.st_size);
    if (start && module)
        *module = o.path;
    return start ? start + o.bias : 0;
}

size_t tether__elf_bytes_after(const void *addr)
{
    struct owner o = {.addr = (uintptr_t)addr};

    dl_iterate_phdr(find_owner, &o);
    return o.found ? o.seg_end - o.addr : 0;
}

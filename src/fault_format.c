/* Fault records in words: names for kinds, signals and codes; the report. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tether/fault.h>

#include "elf_symbols.h"
#include "fiber_impl.h"

const char *tether_fault_kind_name(int kind)
{
    switch (kind) {
    case TETHER_FAULT_SEGV: return "segmentation fault";
    case TETHER_FAULT_BUS: return "bus error";
    case TETHER_FAULT_ILL: return "illegal instruction";
    case TETHER_FAULT_FPE: return "arithmetic exception";
    case TETHER_FAULT_STACK_OVERFLOW: return "stack overflow";
    default: return "unknown fault";
    }
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    default: return "signal";
    }
}

static const char *code_name(int sig, int code)
{
    if (sig == SIGSEGV) {
        switch (code) {
        case SEGV_MAPERR: return "SEGV_MAPERR";
        case SEGV_ACCERR: return "SEGV_ACCERR";
        }
    } else if (sig == SIGBUS) {
        switch (code) {
        case BUS_ADRALN: return "BUS_ADRALN";
        case BUS_ADRERR: return "BUS_ADRERR";
        case BUS_OBJERR: return "BUS_OBJERR";
        }
    } else if (sig == SIGILL) {
        switch (code) {
        case ILL_ILLOPC: return "ILL_ILLOPC";
        case ILL_ILLOPN: return "ILL_ILLOPN";
        case ILL_PRVOPC: return "ILL_PRVOPC";
        }
    } else if (sig == SIGFPE) {
        switch (code) {
        case FPE_INTDIV: return "FPE_INTDIV";
        case FPE_INTOVF: return "FPE_INTOVF";
        case FPE_FLTDIV: return "FPE_FLTDIV";
        case FPE_FLTINV: return "FPE_FLTINV";
        }
    }
    return "code";
}

/* An snprintf that keeps counting once the buffer is full. */
struct out {
    char *buf;
    size_t len, used;
};

static void put(struct out *o, const char *fmt, ...)
{
    size_t room = o->used < o->len ? o->len - o->used : 0;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->used += (size_t)n;
}

/*
 * The symbol holding addr: exported ones from dladdr, the rest (static
 * functions, hidden ones) from the module's symbol table in its file
 * (elf_symbols.c). Returns its start, or NULL.
 */
static char *symbol(void *addr, char *name, size_t len, const char **module)
{
    Dl_info di;

    memset(&di, 0, sizeof di);
    if (dladdr(addr, &di) && di.dli_sname && di.dli_saddr) {
        snprintf(name, len, "%s", di.dli_sname);
        return di.dli_saddr;
    }
    return (char *)tether__elf_function(addr, name, len, module);
}

/*
 * A C++ name, demangled, if libstdc++ (which has the demangler) is in
 * the process; otherwise, or for a C name, as it is. The result is
 * written into name.
 */
static void demangle(char *name, size_t len)
{
    char *(*dem)(const char *, char *, size_t *, int *);
    char *plain;
    int status = -1;

    if (name[0] != '_' || name[1] != 'Z')
        return;
    dem = (char *(*)(const char *, char *, size_t *, int *))dlsym(RTLD_DEFAULT,
                                                                 "__cxa_demangle");
    if (!dem || !(plain = dem(name, NULL, NULL, &status)))
        return;
    if (status == 0)
        snprintf(name, len, "%s", plain);
    free(plain);
}

static void put_frame(struct out *o, int i, void *pc)
{
    /* A return address may sit just past its function: look up pc - 1. */
    void *look = i == 0 ? pc : (char *)pc - 1;
    const char *module = "?";
    char name[256], *start;
    Dl_info di;
    int found;

    memset(&di, 0, sizeof di);
    found = dladdr(look, &di) != 0;
    if (found && di.dli_fname)
        module = di.dli_fname;
    if ((start = symbol(look, name, sizeof name, &module)) != NULL) {
        demangle(name, sizeof name);
        put(o, "  #%-2d %p %s+%#lx (%s)\n", i, pc, name,
            (unsigned long)((char *)pc - start), module);
    } else if (found && di.dli_fbase) {
        put(o, "  #%-2d %p %s+%#lx\n", i, pc, module,
            (unsigned long)((char *)pc - (char *)di.dli_fbase));
    } else {
        put(o, "  #%-2d %p ? (no module)\n", i, pc); /* a wild pc */
    }
}

static int format(const tether_fault *f, char *buf, size_t len)
{
    struct out o = { buf, len, 0 };

    if (!f || (!buf && len > 0))
        return -EINVAL;
    if (len > 0)
        buf[0] = '\0';
    if (atomic_load_explicit(&tether__fibers_named, memory_order_relaxed)) {
        const tether_fiber *owner = tether__fiber_of_fault(f);
        if (owner && owner->name[0])
            put(&o, "fiber \"%s\": ", owner->name);
    }
    put(&o, "%s: %s (%s) at address %p\n", tether_fault_kind_name(f->kind),
        signal_name(f->signo), code_name(f->signo, f->code), f->addr);
    put(&o, "  pc %p sp %p\n", f->pc, f->sp);
    for (int i = 0, n = f->nframes < TETHER_FAULT_FRAMES_MAX
                            ? f->nframes : TETHER_FAULT_FRAMES_MAX; i < n; i++) {
        int same = 0;
        put_frame(&o, i, f->frames[i]);
        /* A runaway recursion: one line for the run of equal frames. */
        while (i + 1 < n && i > 0 && f->frames[i + 1] == f->frames[i]) {
            same++;
            i++;
        }
        if (same)
            put(&o, "  ... the same frame %d more time%s\n", same, same > 1 ? "s" : "");
    }
    return o.used > (size_t)0x7fffffff ? 0x7fffffff : (int)o.used;
}

int tether_fault_format(const tether_fault *f, char *buf, size_t len)
{
    tether_fiber *self = tether__host_begin(); /* dladdr takes a lock */
    int n = format(f, buf, len);

    tether__host_end(self);
    return n;
}

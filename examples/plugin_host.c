/*
 * A plugin host that keeps serving while its plugin misbehaves.
 *
 * It dlopens examples/buggy_plugin (built in the tree) and calls each of
 * its functions guarded, both ways: tether_call() on the host's own stack
 * (cheapest; the faulting call's frames are dropped) and
 * tether_call_on_fiber() on a pooled fiber (the call's cleanups are
 * unwound; deadlines apply). Every failure gets a one-line report; the
 * working functions keep working after every failure.
 *
 * Usage: plugin_host [path/to/buggy_plugin.so]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <tether.h>
#include <unistd.h>

#ifndef PLUGIN_PATH
#define PLUGIN_PATH "buggy_plugin.so"
#endif

struct entry {
    const char *name;
    void *arg;
};

/*
 * One line: what happened to the call. For a fault, the first line of
 * tether_fault_format() (kind, signal, code, address) and the faulting
 * frame from its backtrace ("#0  pc function+offset (module)").
 */
static void report(const char *how, const char *name, int err, void *ret, const tether_fault *f)
{
    char text[4096], *frame, *end;

    if (err == 0) {
        printf("%-6s %-18s returned %lu\n", how, name, (unsigned long)(uintptr_t)ret);
    } else if (err == -EFAULT) {
        tether_fault_format(f, text, sizeof text);
        frame = strstr(text, "#0 ");
        if ((end = strchr(text, '\n')) != NULL)
            *end = 0;
        if (frame && (end = strchr(frame, '\n')) != NULL)
            *end = 0;
        printf("%-6s %-18s failed: %s; %s\n", how, name, text, frame ? frame : "");
    } else {
        printf("%-6s %-18s failed: %s\n", how, name, tether_strerror(err));
    }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : PLUGIN_PATH;
    void *plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    long page = sysconf(_SC_PAGESIZE);
    char *stale;
    int served = 0, failed = 0;

    if (!plugin) {
        fprintf(stderr, "plugin_host: %s\n", dlerror());
        return 1;
    }
    /*
     * A buffer the host hands out, then revokes before the plugin reads
     * it. Made inaccessible rather than unmapped: the next mmap anywhere
     * in the process (another thread's, a sanitizer's) could map a hole
     * again.
     */
    stale = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(stale, (size_t)page, PROT_NONE);

    const struct entry calls[] = {
        {"plugin_length", "hello, plugin"},
        {"plugin_null_deref", NULL},
        {"plugin_sum", (void *)100},
        {"plugin_overflow", NULL},
        {"plugin_divide", (void *)0},
        {"plugin_read_stale", stale},
        {"plugin_length", "still serving"},
    };
    for (int form = 0; form < 2; form++) {
        for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
            tether_call_fn fn = (tether_call_fn)(uintptr_t)dlsym(plugin, calls[i].name);
            tether_call_report r;
            tether_fault f;
            void *ret = NULL;
            int err;
            if (!fn) {
                fprintf(stderr, "plugin_host: no %s\n", calls[i].name);
                return 1;
            }
            if (form == 0) {
                err = tether_call(fn, calls[i].arg, &ret, &f);
            } else {
                tether_call_opts o = {.timeout_ns = 1000000000ull};
                err = tether_call_on_fiber(fn, calls[i].arg, &ret, &o, &r);
                f = r.fault;
            }
            report(form == 0 ? "stack" : "fiber", calls[i].name, err, ret, &f);
            if (err == 0)
                served++;
            else
                failed++;
        }
    }
    printf("served %d calls, %d failed, and the host is still here\n", served, failed);
    dlclose(plugin);
    return served == 6 && failed == 8 ? 0 : 1;
}

/*
 * The floor under bench/alive.c: what the kernel charges for a million
 * stacks that each hold one live page, with no fiber library at all.
 * Slots have a tether slot's geometry (a guard, the stack, one page
 * above it) and are carved, as tether carves them, from 32 MiB
 * reservations (mmap, MAP_NORESERVE); each slot gets one write to the
 * top page of its stack, the page fault that gives it its first
 * resident page. That fault is the floor: the kernel must find, zero
 * and map a page for every fiber.
 *
 *   usage: alive_floor LABEL STACK_SIZE [COUNT]
 *   prints floor_alive_LABEL_ns (total) and floor_alive_LABEL_rss_bytes
 *   (per slot); then floor_guard_LABEL_ns, the same with a guard
 *   installed in every slot by madvise(MADV_GUARD_INSTALL) (what tether
 *   must add), where the kernel has it (Linux 6.13+).
 *
 * STACK_SIZE 0 means tether's default.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static size_t page;

#define CHUNK (32ul << 20)

/* Reservations made by run(), to unmap between runs. */
static char **chunks;
static long nchunks;

/*
 * Carves `count` slots from reservations, touching each one's top
 * stack page; returns the total ns, -1 if mmap failed, -2 if the
 * kernel has no MADV_GUARD_INSTALL.
 */
static double run(long count, size_t stack, size_t guard, int install_guard)
{
    size_t slot = guard + stack + page;
    size_t per_chunk = CHUNK / slot ? CHUNK / slot : 1;
    size_t chunk = per_chunk * slot;
    char *p = NULL;
    size_t left = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < count; i++) {
        if (left == 0) {
            p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED) {
                printf("# alive floor: mmap failed at slot %ld: %s\n", i, strerror(errno));
                return -1;
            }
            chunks[nchunks++] = p;
            left = per_chunk;
        }
        if (install_guard && madvise(p, guard, MADV_GUARD_INSTALL) != 0)
            return -2;
        /* the top page of the stack, where a fiber's first frames go */
        *(volatile char *)(p + guard + stack - 64) = 1;
        p += slot;
        left--;
    }
    return bench_now_ns() - t0;
}

static void unmap_all(size_t stack, size_t guard)
{
    size_t slot = guard + stack + page;
    size_t per_chunk = CHUNK / slot ? CHUNK / slot : 1;
    for (long i = 0; i < nchunks; i++)
        munmap(chunks[i], per_chunk * slot);
    nchunks = 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LABEL STACK_SIZE [COUNT]\n", argv[0]);
        return 2;
    }
    const char *label = argv[1];
    size_t stack = (size_t)atol(argv[2]);
    long count = argc > 3 ? atol(argv[3]) : 1000000;
    size_t guard = TETHER_GUARD_SIZE_DEFAULT;
    char key[64];

    page = (size_t)sysconf(_SC_PAGESIZE);
    if (stack == 0)
        stack = TETHER_STACK_SIZE_DEFAULT;

    chunks = calloc((size_t)count, sizeof *chunks); /* at most one a slot */
    if (!chunks)
        bench_fail("out of memory for the reservation table");

    long rss0 = bench_status_bytes("VmRSS");
    double ns = run(count, stack, guard, 0);
    if (ns < 0)
        return 3;
    long rss1 = bench_status_bytes("VmRSS");
    snprintf(key, sizeof key, "floor_alive_%s_ns", label);
    bench_result(key, ns);
    snprintf(key, sizeof key, "floor_alive_%s_rss_bytes", label);
    bench_result(key, (double)(rss1 - rss0) / (double)count);
    unmap_all(stack, guard);

    ns = run(count, stack, guard, 1);
    if (ns == -2)
        printf("# alive floor: this kernel has no MADV_GUARD_INSTALL (Linux 6.13+)\n");
    else if (ns >= 0) {
        snprintf(key, sizeof key, "floor_guard_%s_ns", label);
        bench_result(key, ns);
    }
    return 0;
}

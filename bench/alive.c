/*
 * A million fibers alive at once: each created and resumed once, so
 * that it is suspended in tether_yield with its first frames on its
 * stack. Reports the total time that took and the resident memory each
 * fiber added (VmRSS before and after), and the page-table memory
 * (VmPTE), which VmRSS does not count.
 *
 *   usage: alive LABEL STACK_SIZE [COUNT]
 *   prints alive_LABEL_ns (total), alive_LABEL_rss_bytes and
 *   alive_LABEL_pte_bytes (per fiber)
 *
 * STACK_SIZE 0 means tether's default. One sample per process: the
 * figure is the process's first million fibers, as a server starting up
 * would see them, not a warm pool's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void *yield_once(void *arg, void *in)
{
    (void)in;
    if (tether_yield(arg, NULL) < 0)
        bench_fail("tether_yield failed");
    return NULL;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c;
    if (!f)
        return -1;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LABEL STACK_SIZE [COUNT]\n", argv[0]);
        return 2;
    }
    const char *label = argv[1];
    tether_fiber_opts o = {0};
    long count = argc > 3 ? atol(argv[3]) : 1000000;
    long max_maps = read_long("/proc/sys/vm/max_map_count");
    char key[64];

    o.stack_size = (size_t)atol(argv[2]);

    /* The array of handles is the host's memory, not the fibers': touched now. */
    tether_fiber **fibers = malloc((size_t)count * sizeof *fibers);
    if (!fibers)
        bench_fail("out of memory for the fiber handles");
    memset(fibers, 0, (size_t)count * sizeof *fibers);

    long rss0 = bench_status_bytes("VmRSS"), pte0 = bench_status_bytes("VmPTE");
    double t0 = bench_now_ns();
    for (long i = 0; i < count; i++) {
        void *out;
        int r = tether_fiber_create(&fibers[i], yield_once, fibers, &o);
        if (r < 0) {
            /* A limit of the machine, not a bug: say which one, and where. */
            printf("# alive %s: tether_fiber_create failed at fiber %ld: %s "
                   "(vm.max_map_count is %ld, this process had %ld mappings)\n",
                   label, i, tether_strerror(r), max_maps, count_lines("/proc/self/maps"));
            return 3;
        }
        BENCH_EXPECT(tether_fiber_resume(fibers[i], NULL, &out), TETHER_YIELDED);
        if (out != fibers)
            bench_fail("the fiber yielded the wrong value");
    }
    double ns = bench_now_ns() - t0;
    long rss1 = bench_status_bytes("VmRSS"), pte1 = bench_status_bytes("VmPTE");
    long maps = count_lines("/proc/self/maps");

    snprintf(key, sizeof key, "alive_%s_ns", label);
    bench_result(key, ns);
    snprintf(key, sizeof key, "alive_%s_rss_bytes", label);
    bench_result(key, (double)(rss1 - rss0) / (double)count);
    snprintf(key, sizeof key, "alive_%s_pte_bytes", label);
    bench_result(key, (double)(pte1 - pte0) / (double)count);
    printf("# alive %s: %ld fibers used %ld mappings in all (vm.max_map_count %ld)%s\n",
           label, count, maps, max_maps,
           maps > max_maps * 9 / 10 ? ": close to the limit" : ": not a limit here");

    /*
     * Not destroyed: each destroy would unwind a suspended fiber, which
     * is not what this measures. The process's exit frees everything.
     */
    return 0;
}

/*
 * probe_peek: read memory that may not be there, with a probe.
 *
 *     probe_peek                  read a few places, good and bad
 *     probe_peek ADDRESS [N]      read N bytes (default 16) at ADDRESS (hex)
 *
 * Each read prints the bytes it got and, if it stopped early, where and
 * why; the program never crashes, whatever the address.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <tether.h>

static void peek(const char *what, const void *addr, size_t n)
{
    unsigned char buf[64];
    size_t done = 0;
    int err;

    if (n > sizeof buf)
        n = sizeof buf;
    err = tether_probe_read(buf, addr, n, &done);
    printf("%-22s %p: %zu of %zu bytes", what, addr, done, n);
    for (size_t i = 0; i < done && i < 16; i++)
        printf("%s%02x", i ? " " : " [", buf[i]);
    printf("%s", done ? (done > 16 ? " ...]" : "]") : "");
    if (err == -EFAULT) {
        const tether_seq_fault *f = tether_seq_last_fault();
        printf(", then %s at %p", f->signo == SIGBUS ? "SIGBUS" : "SIGSEGV", f->addr);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    long page = sysconf(_SC_PAGESIZE);
    char *m;

    if (argc > 1) {
        peek("address", (const void *)strtoul(argv[1], NULL, 16),
             argc > 2 ? strtoul(argv[2], NULL, 0) : 16);
        return 0;
    }
    peek("a string", "hello, world", 13);
    peek("NULL", NULL, 8);
    /* Two pages, the second unmapped: a read that runs off the end. */
    m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 1;
    munmap(m + page, page);
    memset(m, 0xab, page);
    peek("across a missing page", m + page - 5, 16);
    /* A mapping that was freed. */
    munmap(m, page);
    peek("a freed mapping", m, 16);
    printf("still running\n");
    return 0;
}

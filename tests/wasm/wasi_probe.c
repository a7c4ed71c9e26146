/*
 * An ordinary C program, built for wasm32-wasi by tests/wasm/wasi.sh
 * with clang and wasi-libc, run by tether-wasm. Its first argument says
 * what to do; what it prints is what the test checks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int args(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    return 0;
}

static int env(void)
{
    const char *v = getenv("GREETING");
    printf("GREETING=%s\n", v ? v : "(unset)");
    printf("HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(unset)");
    return 0;
}

static int upper(void)
{
    int c;
    while ((c = getchar()) != EOF)
        putchar(c >= 'a' && c <= 'z' ? c - 32 : c);
    fprintf(stderr, "to stderr\n");
    return 0;
}

/* Prints the file's contents, or why it cannot be opened. */
static void cat(const char *path)
{
    char buf[256];
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f) {
        printf("open %s: refused (%s)\n", path, strerror(errno));
        return;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    printf("open %s: %s", path, buf);
    fclose(f);
}

static int files(const char *dir)
{
    char path[512], buf[64];
    struct stat st;
    DIR *d;
    struct dirent *e;
    int n = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/input.txt", dir);
    cat(path);
    if (stat(path, &st) == 0)
        printf("size %lld, regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    /* Write, read back, rename, list, remove. */
    snprintf(path, sizeof path, "%s/made/out.txt", dir);
    snprintf(buf, sizeof buf, "%s/made", dir);
    if (mkdir(buf, 0755) != 0)
        printf("mkdir: %s\n", strerror(errno));
    if (!(f = fopen(path, "w")) || fprintf(f, "written by the guest\n") < 0 || fclose(f) != 0)
        printf("write: %s\n", strerror(errno));
    cat(path);
    snprintf(buf, sizeof buf, "%s/made/renamed.txt", dir);
    if (rename(path, buf) != 0)
        printf("rename: %s\n", strerror(errno));
    snprintf(path, sizeof path, "%s/made", dir);
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                printf("entry %s\n", e->d_name), n++;
        closedir(d);
    }
    printf("%d entries\n", n);
    if (unlink(buf) != 0 || rmdir(path) != 0)
        printf("cleanup: %s\n", strerror(errno));
    return 0;
}

/* Every way out of the mapped directory is refused. */
static int escape(const char *dir)
{
    char path[512];

    snprintf(path, sizeof path, "%s/../secret.txt", dir);
    cat(path);
    snprintf(path, sizeof path, "%s/sub/../../secret.txt", dir);
    cat(path);
    snprintf(path, sizeof path, "%s/link", dir); /* a symlink to ../secret.txt */
    cat(path);
    cat("/etc/passwd");
    if (mkdir("../outside", 0755) != 0)
        printf("mkdir ../outside: refused (%s)\n", strerror(errno));
    return 0;
}

static volatile uint32_t far_away = 0xfffffff0u;

/*
 * Recursion on wasm's own call stack (a call through a pointer clang
 * cannot turn into a loop; no locals in linear memory's shadow stack).
 */
static int recurse(int n);
static int (*volatile again)(int) = recurse;

static int recurse(int n)
{
    return again(n + 1) + 1;
}

static int clocks(void)
{
    struct timespec a, b, r;
    unsigned char rnd[32];
    int nonzero = 0;

    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic %s\n", (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec)) ? "ok" : "backwards");
    clock_gettime(CLOCK_REALTIME, &r);
    printf("realtime after 2020: %s\n", r.tv_sec > 1577836800 ? "yes" : "no");
    arc4random_buf(rnd, sizeof rnd);
    for (size_t i = 0; i < sizeof rnd; i++)
        nonzero += rnd[i] != 0;
    printf("random: %s\n", nonzero > 16 ? "ok" : "suspicious");
    usleep(1000);
    printf("slept\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "hello";

    if (strcmp(what, "hello") == 0)
        return puts("hello from wasm32-wasi") < 0;
    if (strcmp(what, "args") == 0)
        return args(argc, argv);
    if (strcmp(what, "exit") == 0)
        return argc > 2 ? atoi(argv[2]) : 0;
    if (strcmp(what, "exit-call") == 0) {
        printf("before exit\n");
        exit(argc > 2 ? atoi(argv[2]) : 0);
    }
    if (strcmp(what, "env") == 0)
        return env();
    if (strcmp(what, "upper") == 0)
        return upper();
    if (strcmp(what, "files") == 0 && argc > 2)
        return files(argv[2]);
    if (strcmp(what, "cat") == 0 && argc > 2) {
        cat(argv[2]);
        return 0;
    }
    if (strcmp(what, "escape") == 0 && argc > 2)
        return escape(argv[2]);
    if (strcmp(what, "oob") == 0)
        return *(volatile int *)(uintptr_t)far_away;
    if (strcmp(what, "recurse") == 0)
        return recurse(0);
    if (strcmp(what, "abort") == 0)
        abort();
    if (strcmp(what, "clocks") == 0)
        return clocks();
    if (strcmp(what, "sleep") == 0) {
        sleep(30);
        return 0;
    }
    if (strcmp(what, "spin") == 0)
        for (;;)
            far_away++;
    fprintf(stderr, "wasi_probe: unknown command %s\n", what);
    return 64;
}

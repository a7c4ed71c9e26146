/* wasm2c, the patch and glue, the C compiler, and the cache. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "compile.h"
#include "gen.h"
#include "headers.h"
#include "sha256.h"
#include "wasmbin.h"

extern char **environ;

const char compile_module_flags[] =
    "-O2 -fPIC -shared -fvisibility=hidden -fno-optimize-sibling-calls "
    "-fstack-clash-protection -DWASM_RT_USE_STACK_DEPTH_COUNT=0 "
    "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1";

/* snprintf into a PATH_MAX buffer; -1 if the path does not fit. */
static int pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

const char *compile_wasm2c(void) { return env_or("TETHER_WASM2C", TW_WASM2C); }
const char *compile_cc(void) { return env_or("TETHER_WASM_CC", TW_CC); }
const char *compile_cflags(void) { return env_or("TETHER_WASM_CFLAGS", ""); }

int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, got;

    if (!f)
        return -1;
    do {
        if (n == cap) {
            uint8_t *b = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!b) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

/* Splits a command line on blanks into argv[] (at most max-1 words). */
static int words(char *line, char **argv, int max)
{
    int n = 0;

    for (char *t = strtok(line, " \t"); t && n < max - 1; t = strtok(NULL, " \t"))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}

/*
 * Runs argv with stdout and stderr into `log`; its exit status, -1 (it
 * could not be run) or -2 (the log could not be made), errno set.
 */
static int run(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st, err, fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -2;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    if (err) {
        errno = err;
        return -1;
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "TOOL failed: <what it said>", trimmed, into err. */
static void tool_failed(const char *tool, int st, const char *log, char *err, size_t errlen)
{
    uint8_t *text = NULL;
    size_t n = 0;

    if (st == -2) {
        snprintf(err, errlen, "cannot write %s: %s", log, strerror(errno));
        return;
    }
    if (st < 0) {
        snprintf(err, errlen, "cannot run %s: %s", tool, strerror(errno));
        return;
    }
    if (read_file(log, &text, &n) != 0)
        n = 0;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    if (n > 2000)
        n = 2000;
    snprintf(err, errlen, "%s failed (exit %d)%s%.*s", tool, st, n ? ":\n" : "",
             (int)n, n ? (const char *)text : "");
    free(text);
}

/* x.c -> x.h */
static void header_of(char *out, const char *c)
{
    size_t n = strlen(c);

    pathf(out, "%.*s.h", (int)(n > 2 && strcmp(c + n - 2, ".c") == 0 ? n - 2 : n), c);
}

static int write_text(const char *path, const char *c, size_t clen, const char *h,
                      size_t hlen, const struct wb_module *m, const char *name,
                      int so, int header, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int patched = 1, r;
    FILE *f;

    if (pathf(tmp, "%s.tmp", path) != 0 || !(f = fopen(tmp, "w"))) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    r = header ? gen_header(f, h, hlen, name)
               : gen_source(f, c, clen, m, name, so, &patched, err, errlen);
    if (fclose(f) != 0 && r == 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        r = -1;
    }
    if (r == 0 && rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        r = -1;
    }
    if (r != 0)
        unlink(tmp);
    if (!patched)
        fprintf(stderr, "tether-wasm: warning: wasm2c's output is not 1.0.32's; "
                        "traps will not tell table from memory bounds, nor the "
                        "reasons an indirect call fails\n");
    return r;
}

int compile_translate(const char *wasm, const char *out_c, const char *name, int so,
                      char *err, size_t errlen)
{
    char out_h[PATH_MAX], log[PATH_MAX], tool[PATH_MAX];
    char *argv[8];
    uint8_t *bin = NULL, *c = NULL, *h = NULL;
    size_t blen, clen, hlen;
    struct wb_module m;
    int st, r = -1;

    header_of(out_h, out_c);
    if (pathf(log, "%s.log", out_c) || pathf(tool, "%s", compile_wasm2c())) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    argv[0] = tool;
    argv[1] = "--enable-exceptions";
    argv[2] = (char *)wasm;
    argv[3] = "-n";
    argv[4] = (char *)name;
    argv[5] = "-o";
    argv[6] = (char *)out_c;
    argv[7] = NULL;
    if ((st = run(argv, log)) != 0) {
        tool_failed(tool, st, log, err, errlen);
        unlink(log);
        return -1;
    }
    unlink(log);
    if (read_file(wasm, &bin, &blen) != 0 || read_file(out_c, &c, &clen) != 0 ||
        read_file(out_h, &h, &hlen) != 0) {
        snprintf(err, errlen, "cannot read wasm2c's output: %s", strerror(errno));
        goto out;
    }
    if (wb_read(&m, bin, blen, err, errlen) != 0)
        goto out;
    r = write_text(out_c, (char *)c, clen, NULL, 0, &m, name, so, 0, err, errlen);
    if (r == 0)
        r = write_text(out_h, NULL, 0, (char *)h, hlen, &m, name, so, 1, err, errlen);
    wb_free(&m);
out:
    free(bin);
    free(c);
    free(h);
    return r;
}

/* Writes the tether headers the glue includes under dir/tether/. */
static int write_headers(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];

    if (pathf(path, "%s/tether", dir) || (mkdir(path, 0700) != 0 && errno != EEXIST))
        goto fail;
    for (size_t i = 0; i < tw_nheaders; i++) {
        FILE *f;
        if (pathf(path, "%s/%s", dir, tw_headers[i].path) || !(f = fopen(path, "w")))
            goto fail;
        fputs(tw_headers[i].text, f);
        if (fclose(f) != 0)
            goto fail;
    }
    return 0;
fail:
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
}

/* Removes the files compile_so leaves in its scratch directory. */
static void scrub(const char *dir)
{
    static const char *const files[] = {
        "module.c", "module.h", "module.so", "cc.log", "module.c.tmp", "module.h.tmp",
    };
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (pathf(path, "%s/%s", dir, files[i]) == 0)
            unlink(path);
    /* The headers write_headers wrote: whichever headers.c embeds. */
    for (size_t i = 0; i < tw_nheaders; i++)
        if (pathf(path, "%s/%s", dir, tw_headers[i].path) == 0)
            unlink(path);
    if (pathf(path, "%s/tether", dir) == 0)
        rmdir(path);
    rmdir(dir);
}

int compile_so(const char *wasm, const char *out_so, char *err, size_t errlen)
{
    char dir[PATH_MAX], c[PATH_MAX], so[PATH_MAX], inc[PATH_MAX];
    char log[PATH_MAX], line[4096], *argv[64];
    const char *slash = strrchr(out_so, '/');
    int n, st, r = -1;

    /* Scratch space beside the output, so that the last step is a rename. */
    snprintf(dir, sizeof dir, "%.*s.tether-wasm-XXXXXX",
             slash ? (int)(slash - out_so + 1) : 0, out_so);
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot make a directory beside %s: %s", out_so, strerror(errno));
        return -1;
    }
    if (pathf(c, "%s/module.c", dir) || pathf(so, "%s/module.so", dir) ||
        pathf(log, "%s/cc.log", dir) || pathf(inc, "-I%s", dir)) {
        snprintf(err, errlen, "path too long: %s", out_so);
        goto out;
    }
    if (write_headers(dir, err, errlen) != 0 ||
        compile_translate(wasm, c, "module", 1, err, errlen) != 0)
        goto out;
    snprintf(line, sizeof line, "%s %s %s", compile_cc(), compile_module_flags,
             compile_cflags());
    n = words(line, argv, 56);
    argv[n++] = inc;
    argv[n++] = c;
    argv[n++] = "-o";
    argv[n++] = so;
    argv[n++] = "-lm";
    argv[n] = NULL;
    if ((st = run(argv, log)) != 0) {
        tool_failed(compile_cc(), st, log, err, errlen);
        goto out;
    }
    if (rename(so, out_so) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", out_so, strerror(errno));
        goto out;
    }
    r = 0;
out:
    scrub(dir);
    return r;
}

void compile_default_cache(char *out, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (xdg && *xdg)
        snprintf(out, len, "%s/tether-wasm", xdg);
    else if (home && *home)
        snprintf(out, len, "%s/.cache/tether-wasm", home);
    else
        snprintf(out, len, "/tmp/tether-wasm-%u", (unsigned)getuid());
}

/* mkdir -p, private. */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];

    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0700) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/*
 * The key: the module's bytes and everything that shapes what is built
 * from them (this program's version, the headers the glue is compiled
 * against, the tools and their flags).
 */
static void cache_key(const uint8_t *bytes, size_t len, char hex[65])
{
    struct sha256 s;
    const char *parts[] = {PACKAGE_VERSION, compile_wasm2c(), compile_cc(),
                           compile_module_flags, compile_cflags()};

    sha256_init(&s);
    sha256_update(&s, bytes, len);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        sha256_update(&s, parts[i], strlen(parts[i]) + 1);
    for (size_t i = 0; i < tw_nheaders; i++)
        sha256_update(&s, tw_headers[i].text, strlen(tw_headers[i].text) + 1);
    sha256_hex(&s, hex);
}

int compile_cached(const char *wasm, const uint8_t *bytes, size_t len,
                   const char *cache_dir, char *out, char *err, size_t errlen)
{
    char hex[65];

    cache_key(bytes, len, hex);
    if (pathf(out, "%s/%s.so", cache_dir, hex) != 0) {
        snprintf(err, errlen, "cache directory path too long");
        return -1;
    }
    if (access(out, R_OK) == 0)
        return 0;
    if (make_dirs(cache_dir) != 0) {
        snprintf(err, errlen, "cannot make the cache directory %s: %s", cache_dir,
                 strerror(errno));
        return -1;
    }
    return compile_so(wasm, out, err, errlen);
}

/*
 * WASI descriptors: the guest's table of host descriptors (stdin,
 * stdout, stderr, the mapped directories, what it opens), and the calls
 * on them: read, write, seek, stat, directory listing, close.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_common.h"

#define MAX_FDS 1024

/* What a descriptor of this type may do (WASI rights). */
static uint64_t rights_of(int filetype)
{
    if (filetype == W_FT_FILE || filetype == W_FT_DIR)
        return W_RIGHTS_ALL;
    return W_RIGHTS_ALL & ~(W_RIGHT_FD_SEEK | W_RIGHT_FD_TELL); /* a stream */
}

struct wasi_fd *wasi_fd_get(struct wasi_ctx *c, uint32_t fd)
{
    return fd < (uint32_t)c->nfds && c->fds[fd].used ? &c->fds[fd] : NULL;
}

int wasi_fd_add(struct wasi_ctx *c, int h, int filetype, uint64_t rights, const char *preopen)
{
    int fd;

    for (fd = 0; fd < c->nfds && c->fds[fd].used; fd++)
        ;
    if (fd == MAX_FDS)
        return -1;
    if (fd == c->nfds) {
        struct wasi_fd *f = realloc(c->fds, (size_t)(c->nfds + 1) * sizeof *f);
        if (!f)
            return -1;
        c->fds = f;
        c->nfds++;
    }
    c->fds[fd] = (struct wasi_fd){1, h, filetype, rights, NULL, NULL};
    if (preopen && !(c->fds[fd].preopen = strdup(preopen))) {
        c->fds[fd].used = 0;
        return -1;
    }
    return fd;
}

static void fd_free(struct wasi_fd *f)
{
    if (f->dir)
        closedir(f->dir); /* closes its own duplicate */
    free(f->preopen);
    memset(f, 0, sizeof *f);
}

/* --dir HOST[::GUEST]: opens HOST, names it GUEST (default HOST). */
static int map_dir(struct wasi_ctx *c, const char *spec)
{
    const char *sep = strstr(spec, "::");
    char host[PATH_MAX];
    const char *guest = sep ? sep + 2 : spec;
    int h;

    snprintf(host, sizeof host, "%.*s", sep ? (int)(sep - spec) : (int)strlen(spec), spec);
    if (!*host || !*guest) {
        fprintf(stderr, "tether-wasm: --dir %s: write HOST or HOST::GUEST\n", spec);
        return -1;
    }
    if ((h = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "tether-wasm: --dir %s: %s\n", host, strerror(errno));
        return -1;
    }
    if (wasi_fd_add(c, h, W_FT_DIR, W_RIGHTS_ALL, guest) < 0) {
        close(h);
        fprintf(stderr, "tether-wasm: --dir %s: too many descriptors\n", spec);
        return -1;
    }
    return 0;
}

int wasi_fd_init(struct wasi_ctx *c, const char **dirs, int ndirs)
{
    for (int h = 0; h < 3; h++) {
        struct stat st;
        int ft = fstat(h, &st) == 0 ? wasi_filetype(st.st_mode) : W_FT_UNKNOWN;
        if (wasi_fd_add(c, h, ft, rights_of(ft), NULL) != h)
            return -1;
    }
    for (int i = 0; i < ndirs; i++)
        if (map_dir(c, dirs[i]) != 0)
            return -1;
    return 0;
}

void wasi_fd_fini(struct wasi_ctx *c)
{
    for (int fd = 0; fd < c->nfds; fd++)
        if (c->fds[fd].used) {
            if (fd > 2)
                close(c->fds[fd].host);
            fd_free(&c->fds[fd]);
        }
    free(c->fds);
    c->fds = NULL;
    c->nfds = 0;
}

/* ------------------------------------------------------------ helpers */

#define CTX(d) ((struct wasi_ctx *)(d))
#define FD_OR_BADF(c, fd, f)           \
    struct wasi_fd *f = wasi_fd_get((c), (fd)); \
    if (!f) {                          \
        v[0].i32 = W_BADF;             \
        return;                        \
    }

/* The guest's iovec array as host iovecs; their count, or -1 (EFAULT). */
static int iovecs(tether_wasm_instance *inst, uint32_t at, uint32_t n, struct iovec *out)
{
    const uint8_t *a = GUEST(inst, at, (uint64_t)n * 8);

    if (!a || n > IOV_MAX)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = get32(a + 8 * i), len = get32(a + 8 * i + 4);
        uint8_t *p = GUEST(inst, buf, len);
        if (!p)
            return -1;
        out[i].iov_base = p;
        out[i].iov_len = len;
    }
    return (int)n;
}

/* Ends a call that transferred r bytes (or failed) into *at. */
static void transferred(tether_wasm_instance *inst, tether_wasm_val *v, ssize_t r, uint32_t at)
{
    uint8_t *out = GUEST(inst, at, 4);

    if (r < 0)
        v[0].i32 = (uint32_t)wasi_errno(errno);
    else if (!out)
        v[0].i32 = W_FAULT;
    else
        put32(out, (uint32_t)r), v[0].i32 = W_SUCCESS;
}

/* fd_read / fd_write / fd_pread / fd_pwrite. */
static void rw(tether_wasm_instance *inst, void *d, tether_wasm_val *v, int write, int at)
{
    static struct iovec iov[IOV_MAX];
    FD_OR_BADF(CTX(d), v[0].i32, f);
    int n = iovecs(inst, v[1].i32, v[2].i32, iov);
    ssize_t r;

    if (n < 0) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (f->filetype == W_FT_DIR) {
        v[0].i32 = W_ISDIR;
        return;
    }
    if (at)
        r = write ? pwritev(f->host, iov, n, (off_t)v[3].i64)
                  : preadv(f->host, iov, n, (off_t)v[3].i64);
    else
        r = write ? writev(f->host, iov, n) : readv(f->host, iov, n);
    transferred(inst, v, r, at ? v[4].i32 : v[3].i32);
}

static void fd_read(tether_wasm_instance *i, void *d, tether_wasm_val *v) { rw(i, d, v, 0, 0); }
static void fd_write(tether_wasm_instance *i, void *d, tether_wasm_val *v) { rw(i, d, v, 1, 0); }
static void fd_pread(tether_wasm_instance *i, void *d, tether_wasm_val *v) { rw(i, d, v, 0, 1); }
static void fd_pwrite(tether_wasm_instance *i, void *d, tether_wasm_val *v) { rw(i, d, v, 1, 1); }

static void fd_seek(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    static const int whence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint8_t *out = GUEST(inst, v[3].i32, 8);
    off_t r;

    if (v[2].i32 > 2) {
        v[0].i32 = W_INVAL;
        return;
    }
    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (!(f->rights & W_RIGHT_FD_SEEK)) {
        v[0].i32 = W_SPIPE;
        return;
    }
    if ((r = lseek(f->host, (off_t)v[1].i64, whence[v[2].i32])) < 0) {
        v[0].i32 = (uint32_t)wasi_errno(errno);
        return;
    }
    put64(out, (uint64_t)r);
    v[0].i32 = W_SUCCESS;
}

static void fd_tell(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint8_t *out = GUEST(inst, v[1].i32, 8);
    off_t r;

    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if ((r = lseek(f->host, 0, SEEK_CUR)) < 0) {
        v[0].i32 = (uint32_t)wasi_errno(errno);
        return;
    }
    put64(out, (uint64_t)r);
    v[0].i32 = W_SUCCESS;
}

static void fd_close(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);

    (void)inst;
    if (f->preopen) {
        v[0].i32 = W_NOTSUP; /* mapped directories stay */
        return;
    }
    /*
     * The command's own stdin, stdout and stderr stay open whatever
     * number the guest gave them (fd_renumber): closing them would hand
     * their numbers to the guest's next open file.
     */
    if (f->host > 2)
        close(f->host);
    fd_free(f);
    v[0].i32 = W_SUCCESS;
}

static void fd_fdstat_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint8_t *out = GUEST(inst, v[1].i32, 24);
    int fl = fcntl(f->host, F_GETFL);
    uint16_t flags = 0;

    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (fl >= 0) {
        flags |= fl & O_APPEND ? 1 : 0;
        flags |= fl & O_DSYNC ? 2 : 0;
        flags |= fl & O_NONBLOCK ? 4 : 0;
        flags |= (fl & O_SYNC) == O_SYNC ? 16 : 0;
    }
    memset(out, 0, 24);
    out[0] = (uint8_t)f->filetype;
    put16(out + 2, flags);
    put64(out + 8, f->rights);
    put64(out + 16, f->rights);
    v[0].i32 = W_SUCCESS;
}

static void fd_filestat_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint8_t *out = GUEST(inst, v[1].i32, 64);
    struct stat st;

    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (fstat(f->host, &st) != 0) {
        v[0].i32 = (uint32_t)wasi_errno(errno);
        return;
    }
    wasi_put_filestat(out, &st);
    v[0].i32 = W_SUCCESS;
}

static void fd_filestat_set_size(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);

    (void)inst;
    v[0].i32 = ftruncate(f->host, (off_t)v[1].i64) == 0 ? W_SUCCESS
                                                        : (uint32_t)wasi_errno(errno);
}

/* Sets times from WASI fstflags: ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8. */
void wasi_times(struct timespec t[2], uint64_t atim, uint64_t mtim, uint32_t flags)
{
    t[0].tv_nsec = t[1].tv_nsec = UTIME_OMIT;
    t[0].tv_sec = t[1].tv_sec = 0;
    if (flags & 1)
        t[0] = (struct timespec){(time_t)(atim / 1000000000u), (long)(atim % 1000000000u)};
    if (flags & 2)
        t[0].tv_nsec = UTIME_NOW;
    if (flags & 4)
        t[1] = (struct timespec){(time_t)(mtim / 1000000000u), (long)(mtim % 1000000000u)};
    if (flags & 8)
        t[1].tv_nsec = UTIME_NOW;
}

static void fd_filestat_set_times(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    struct timespec t[2];

    (void)inst;
    wasi_times(t, v[1].i64, v[2].i64, v[3].i32);
    v[0].i32 = futimens(f->host, t) == 0 ? W_SUCCESS : (uint32_t)wasi_errno(errno);
}

static void fd_sync(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);

    (void)inst;
    v[0].i32 = fsync(f->host) == 0 ? W_SUCCESS : (uint32_t)wasi_errno(errno);
}

static void fd_datasync(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);

    (void)inst;
    v[0].i32 = fdatasync(f->host) == 0 ? W_SUCCESS : (uint32_t)wasi_errno(errno);
}

static void fd_advise(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);

    (void)inst;
    (void)f;
    v[0].i32 = W_SUCCESS; /* advice only */
}

static void fd_allocate(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    int err;

    (void)inst;
    err = posix_fallocate(f->host, (off_t)v[1].i64, (off_t)v[2].i64);
    v[0].i32 = (uint32_t)wasi_errno(err);
}

static void fd_prestat_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint8_t *out = GUEST(inst, v[1].i32, 8);

    if (!f->preopen) {
        v[0].i32 = W_BADF;
        return;
    }
    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    memset(out, 0, 8);
    put32(out + 4, (uint32_t)strlen(f->preopen));
    v[0].i32 = W_SUCCESS;
}

static void fd_prestat_dir_name(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint8_t *out = GUEST(inst, v[1].i32, v[2].i32);

    if (!f->preopen) {
        v[0].i32 = W_BADF;
        return;
    }
    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (v[2].i32 < strlen(f->preopen)) {
        v[0].i32 = W_NAMETOOLONG;
        return;
    }
    memcpy(out, f->preopen, strlen(f->preopen));
    v[0].i32 = W_SUCCESS;
}

static void fd_fdstat_set_flags(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    int fl = fcntl(f->host, F_GETFL);

    (void)inst;
    if (fl < 0 || (v[1].i32 & ~5u)) { /* only APPEND and NONBLOCK can change */
        v[0].i32 = fl < 0 ? (uint32_t)wasi_errno(errno) : W_NOTSUP;
        return;
    }
    fl = (fl & ~(O_APPEND | O_NONBLOCK)) | (v[1].i32 & 1 ? O_APPEND : 0) |
         (v[1].i32 & 4 ? O_NONBLOCK : 0);
    v[0].i32 = fcntl(f->host, F_SETFL, fl) == 0 ? W_SUCCESS : (uint32_t)wasi_errno(errno);
}

static void fd_fdstat_set_rights(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);

    (void)inst;
    if (v[1].i64 & ~f->rights) {
        v[0].i32 = W_NOTCAPABLE; /* rights only shrink */
        return;
    }
    f->rights = v[1].i64;
    v[0].i32 = W_SUCCESS;
}

static void fd_renumber(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    struct wasi_ctx *c = d;
    struct wasi_fd *from = wasi_fd_get(c, v[0].i32), *to = wasi_fd_get(c, v[1].i32);

    (void)inst;
    if (!from || !to) {
        v[0].i32 = W_BADF;
        return;
    }
    if (from->preopen || to->preopen) {
        v[0].i32 = W_NOTSUP;
        return;
    }
    if (from != to) {
        if (to->host > 2) /* never the command's own stdio: see fd_close */
            close(to->host);
        fd_free(to);
        *to = *from;
        memset(from, 0, sizeof *from);
    }
    v[0].i32 = W_SUCCESS;
}

/*
 * fd_readdir: entries from `cookie` on (0: the start), each a 24-byte
 * dirent and its name, as many as fit; the last may be cut, as WASI
 * allows. Cookies are telldir() positions.
 */
static void fd_readdir(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    FD_OR_BADF(CTX(d), v[0].i32, f);
    uint32_t len = v[2].i32, used = 0;
    uint8_t *buf = GUEST(inst, v[1].i32, len), *out = GUEST(inst, v[4].i32, 4);
    struct dirent *e;

    if (!buf || !out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (f->filetype != W_FT_DIR) {
        v[0].i32 = W_NOTDIR;
        return;
    }
    if (!f->dir) {
        int h = dup(f->host);
        if (h < 0 || !(f->dir = fdopendir(h))) {
            if (h >= 0)
                close(h);
            v[0].i32 = (uint32_t)wasi_errno(errno);
            return;
        }
    }
    if (v[3].i64 == 0)
        rewinddir(f->dir);
    else
        seekdir(f->dir, (long)v[3].i64);
    while (used < len && (e = readdir(f->dir)) != NULL) {
        uint8_t ent[24];
        size_t nlen = strlen(e->d_name), n;
        static const uint8_t types[] = {[DT_REG] = W_FT_FILE, [DT_DIR] = W_FT_DIR,
                                        [DT_CHR] = W_FT_CHAR, [DT_BLK] = W_FT_BLOCK,
                                        [DT_LNK] = W_FT_SYMLINK, [DT_SOCK] = W_FT_SOCK_STREAM};
        memset(ent, 0, sizeof ent);
        put64(ent, (uint64_t)telldir(f->dir));
        put64(ent + 8, e->d_ino);
        put32(ent + 16, (uint32_t)nlen);
        ent[20] = e->d_type < sizeof types ? types[e->d_type] : W_FT_UNKNOWN;
        n = len - used < sizeof ent ? len - used : sizeof ent;
        memcpy(buf + used, ent, n);
        used += (uint32_t)n;
        n = len - used < nlen ? len - used : nlen;
        memcpy(buf + used, e->d_name, n);
        used += (uint32_t)n;
    }
    put32(out, used);
    v[0].i32 = W_SUCCESS;
}

#define F(name, params, fn) \
    {"wasi_snapshot_preview1", name, TETHER_WASM_EXTERN_FUNC, params, "i", fn, NULL, NULL}

static const tether_wasm_host_import calls[] = {
    F("fd_read", "iiii", fd_read),
    F("fd_write", "iiii", fd_write),
    F("fd_pread", "iiiji", fd_pread),
    F("fd_pwrite", "iiiji", fd_pwrite),
    F("fd_seek", "ijii", fd_seek),
    F("fd_tell", "ii", fd_tell),
    F("fd_close", "i", fd_close),
    F("fd_fdstat_get", "ii", fd_fdstat_get),
    F("fd_fdstat_set_flags", "ii", fd_fdstat_set_flags),
    F("fd_fdstat_set_rights", "ijj", fd_fdstat_set_rights),
    F("fd_filestat_get", "ii", fd_filestat_get),
    F("fd_filestat_set_size", "ij", fd_filestat_set_size),
    F("fd_filestat_set_times", "ijji", fd_filestat_set_times),
    F("fd_sync", "i", fd_sync),
    F("fd_datasync", "i", fd_datasync),
    F("fd_advise", "ijji", fd_advise),
    F("fd_allocate", "ijj", fd_allocate),
    F("fd_prestat_get", "ii", fd_prestat_get),
    F("fd_prestat_dir_name", "iii", fd_prestat_dir_name),
    F("fd_renumber", "ii", fd_renumber),
    F("fd_readdir", "iiiji", fd_readdir),
};

int wasi_fd_imports(struct wasi_ctx *c, tether_wasm_host_import **v, size_t *n)
{
    return wasi_add(v, n, calls, sizeof calls / sizeof calls[0], c);
}

/*
 * WASI paths: every path the guest names is resolved inside one of its
 * directory descriptors (a mapped --dir or one opened from it) with
 * openat2(RESOLVE_BENEATH): "..", absolute paths and symbolic links
 * that would lead out of it are refused (ENOTCAPABLE), by the kernel,
 * at every step. Calls that act on a name (mkdir, unlink, rename, ...)
 * resolve its parent that way and act on the last component, which may
 * not be "..".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi_common.h"

void wasi_times(struct timespec t[2], uint64_t atim, uint64_t mtim, uint32_t flags);

/* openat2 beneath dirfd; -1 with errno (EXDEV: it would escape). */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)flags | O_CLOEXEC,
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);

    if (r < 0 && errno == ENOSYS)
        errno = EXDEV; /* a kernel before 5.6: nothing is safe to open */
    return (int)r;
}

/* The guest's path at v[ptr], v[ptr+1] as a C string in buf; 0 or a WASI errno. */
static int path_arg(tether_wasm_instance *inst, tether_wasm_val *v, int ptr, char *buf)
{
    uint32_t len = v[ptr + 1].i32;
    const uint8_t *p = GUEST(inst, v[ptr].i32, len);

    if (!p)
        return W_FAULT;
    if (len >= PATH_MAX)
        return W_NAMETOOLONG;
    if (memchr(p, 0, len))
        return W_INVAL;
    memcpy(buf, p, len);
    buf[len] = 0;
    return 0;
}

/* The directory descriptor fd's host descriptor, or -1 with *err. */
static int dir_of(void *d, uint32_t fd, int *err)
{
    struct wasi_fd *f = wasi_fd_get(d, fd);

    if (!f)
        return *err = W_BADF, -1;
    if (f->filetype != W_FT_DIR)
        return *err = W_NOTDIR, -1;
    return f->host;
}

/*
 * Splits path into its parent, opened beneath dirfd (O_PATH), and its
 * last component (in *leaf, inside buf). Returns the parent's
 * descriptor, or -1 with a WASI errno in *err.
 */
static int open_parent(int dirfd, char *path, char **leaf, int *err)
{
    size_t n = strlen(path);
    char *slash;
    int p;

    while (n > 1 && path[n - 1] == '/')
        path[--n] = 0;
    slash = strrchr(path, '/');
    *leaf = slash ? slash + 1 : path;
    if (!**leaf || strcmp(*leaf, "..") == 0 || strcmp(*leaf, ".") == 0 || path[0] == '/') {
        *err = strcmp(*leaf, ".") == 0 ? W_INVAL : W_NOTCAPABLE;
        return -1;
    }
    if (slash)
        *slash = 0;
    p = open_beneath(dirfd, slash ? path : ".", O_PATH | O_DIRECTORY, 0);
    if (p < 0)
        *err = wasi_errno(errno);
    return p;
}

static void done(tether_wasm_val *v, int r)
{
    v[0].i32 = r == 0 ? W_SUCCESS : (uint32_t)wasi_errno(errno);
}

/* path_open(fd, dirflags, path, len, oflags, rights, inheriting, fdflags, &fd) */
static void path_open(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    char path[PATH_MAX];
    uint8_t *out = GUEST(inst, v[8].i32, 4);
    uint32_t oflags = v[4].i32, fdflags = v[7].i32;
    uint64_t rights = v[5].i64;
    int err = 0, dirfd = dir_of(d, v[0].i32, &err), flags = 0, h, fd;
    int wants_read = (rights & ((1u << 1) | (1u << 14))) != 0; /* FD_READ, FD_READDIR */
    int wants_write = (rights & ((1u << 6) | (1u << 22))) != 0; /* FD_WRITE, SET_SIZE */
    struct stat st;

    if (dirfd < 0 || (err = path_arg(inst, v, 2, path)) != 0) {
        v[0].i32 = (uint32_t)err;
        return;
    }
    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    flags |= oflags & 1 ? O_CREAT : 0;
    flags |= oflags & 2 ? O_DIRECTORY : 0;
    flags |= oflags & 4 ? O_EXCL : 0;
    flags |= oflags & 8 ? O_TRUNC : 0;
    flags |= fdflags & 1 ? O_APPEND : 0;
    flags |= fdflags & 2 ? O_DSYNC : 0;
    flags |= fdflags & 4 ? O_NONBLOCK : 0;
    flags |= fdflags & (8 | 16) ? O_SYNC : 0;
    flags |= v[1].i32 & 1 ? 0 : O_NOFOLLOW;
    if (wants_write || (flags & (O_TRUNC | O_APPEND)))
        flags |= wants_read ? O_RDWR : O_WRONLY;
    h = open_beneath(dirfd, path, flags, 0666);
    if (h < 0 && errno == EISDIR && !(oflags & 8)) /* a directory asked for writing */
        h = open_beneath(dirfd, path, (flags & ~(O_RDWR | O_WRONLY)) | O_RDONLY, 0);
    if (h < 0) {
        v[0].i32 = (uint32_t)wasi_errno(errno);
        return;
    }
    fstat(h, &st);
    fd = wasi_fd_add(d, h, wasi_filetype(st.st_mode), W_RIGHTS_ALL, NULL);
    if (fd < 0) {
        close(h);
        v[0].i32 = W_MFILE;
        return;
    }
    put32(out, (uint32_t)fd);
    v[0].i32 = W_SUCCESS;
}

/* Runs op on (parent, leaf) of the path at v[1], v[2] under fd v[0]. */
static void on_leaf(tether_wasm_instance *inst, void *d, tether_wasm_val *v,
                    int (*op)(int parent, const char *leaf))
{
    char path[PATH_MAX], *leaf;
    int err = 0, dirfd = dir_of(d, v[0].i32, &err), p;

    if (dirfd < 0 || (err = path_arg(inst, v, 1, path)) != 0 ||
        (p = open_parent(dirfd, path, &leaf, &err)) < 0) {
        v[0].i32 = (uint32_t)err;
        return;
    }
    done(v, op(p, leaf));
    close(p);
}

static int do_mkdir(int p, const char *leaf) { return mkdirat(p, leaf, 0777); }
static int do_rmdir(int p, const char *leaf) { return unlinkat(p, leaf, AT_REMOVEDIR); }
static int do_unlink(int p, const char *leaf) { return unlinkat(p, leaf, 0); }

static void path_create_directory(tether_wasm_instance *i, void *d, tether_wasm_val *v)
{
    on_leaf(i, d, v, do_mkdir);
}

static void path_remove_directory(tether_wasm_instance *i, void *d, tether_wasm_val *v)
{
    on_leaf(i, d, v, do_rmdir);
}

static void path_unlink_file(tether_wasm_instance *i, void *d, tether_wasm_val *v)
{
    on_leaf(i, d, v, do_unlink);
}

/* The file a path names, opened O_PATH beneath fd (following links or not). */
static int open_path(tether_wasm_instance *inst, void *d, tether_wasm_val *v, int follow,
                     int *err)
{
    char path[PATH_MAX];
    int dirfd = dir_of(d, v[0].i32, err), h;

    if (dirfd < 0 || (*err = path_arg(inst, v, 2, path)) != 0)
        return -1;
    h = open_beneath(dirfd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
    if (h < 0)
        *err = wasi_errno(errno);
    return h;
}

/* path_filestat_get(fd, flags, path, len, buf) */
static void path_filestat_get(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    uint8_t *out = GUEST(inst, v[4].i32, 64);
    struct stat st;
    int err = 0, h;

    if (!out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if ((h = open_path(inst, d, v, v[1].i32 & 1, &err)) < 0) {
        v[0].i32 = (uint32_t)err;
        return;
    }
    if (fstat(h, &st) != 0) {
        v[0].i32 = (uint32_t)wasi_errno(errno);
    } else {
        wasi_put_filestat(out, &st);
        v[0].i32 = W_SUCCESS;
    }
    close(h);
}

/* path_filestat_set_times(fd, flags, path, len, atim, mtim, fstflags) */
static void path_filestat_set_times(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    char proc[64];
    struct timespec t[2];
    int err = 0, h;

    if ((h = open_path(inst, d, v, v[1].i32 & 1, &err)) < 0) {
        v[0].i32 = (uint32_t)err;
        return;
    }
    wasi_times(t, v[4].i64, v[5].i64, v[6].i32);
    /* An O_PATH descriptor's file, by its /proc name. */
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", h);
    done(v, utimensat(AT_FDCWD, proc, t, 0));
    close(h);
}

/* path_readlink(fd, path, len, buf, buf_len, &used) */
static void path_readlink(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    char path[PATH_MAX], *leaf;
    uint8_t *buf = GUEST(inst, v[3].i32, v[4].i32), *out = GUEST(inst, v[5].i32, 4);
    int err = 0, dirfd = dir_of(d, v[0].i32, &err), p;
    ssize_t n;

    if (!buf || !out) {
        v[0].i32 = W_FAULT;
        return;
    }
    if (dirfd < 0 || (err = path_arg(inst, v, 1, path)) != 0 ||
        (p = open_parent(dirfd, path, &leaf, &err)) < 0) {
        v[0].i32 = (uint32_t)err;
        return;
    }
    n = readlinkat(p, leaf, (char *)buf, v[4].i32);
    close(p);
    if (n < 0) {
        v[0].i32 = (uint32_t)wasi_errno(errno);
        return;
    }
    put32(out, (uint32_t)n);
    v[0].i32 = W_SUCCESS;
}

/* path_rename(fd, old, old_len, fd2, new, new_len) and
 * path_link(fd, flags, old, old_len, fd2, new, new_len): old at v[o]. */
static void two_paths(tether_wasm_instance *inst, void *d, tether_wasm_val *v, int o, int link)
{
    char a[PATH_MAX], b[PATH_MAX], *la, *lb;
    int err = 0, da = dir_of(d, v[0].i32, &err), db = da < 0 ? -1 : dir_of(d, v[o + 2].i32, &err);
    int pa = -1, pb = -1, r;

    if (da < 0 || db < 0 || (err = path_arg(inst, v, o, a)) != 0 ||
        (err = path_arg(inst, v, o + 3, b)) != 0 ||
        (pa = open_parent(da, a, &la, &err)) < 0 || (pb = open_parent(db, b, &lb, &err)) < 0) {
        if (pa >= 0)
            close(pa);
        v[0].i32 = (uint32_t)err;
        return;
    }
    r = link ? linkat(pa, la, pb, lb, 0) : renameat(pa, la, pb, lb);
    done(v, r);
    close(pa);
    close(pb);
}

static void path_rename(tether_wasm_instance *i, void *d, tether_wasm_val *v)
{
    two_paths(i, d, v, 1, 0);
}

static void path_link(tether_wasm_instance *i, void *d, tether_wasm_val *v)
{
    two_paths(i, d, v, 2, 1);
}

/*
 * path_symlink(target, target_len, fd, path, len). The link may point
 * anywhere: following it is what RESOLVE_BENEATH refuses.
 */
static void path_symlink(tether_wasm_instance *inst, void *d, tether_wasm_val *v)
{
    char target[PATH_MAX], path[PATH_MAX], *leaf;
    int err = 0, dirfd = dir_of(d, v[2].i32, &err), p;

    if (dirfd < 0 || (err = path_arg(inst, v, 0, target)) != 0 ||
        (err = path_arg(inst, v, 3, path)) != 0 ||
        (p = open_parent(dirfd, path, &leaf, &err)) < 0) {
        v[0].i32 = (uint32_t)err;
        return;
    }
    done(v, symlinkat(target, p, leaf));
    close(p);
}

#define F(name, params, fn) \
    {"wasi_snapshot_preview1", name, TETHER_WASM_EXTERN_FUNC, params, "i", fn, NULL, NULL}

static const tether_wasm_host_import calls[] = {
    F("path_open", "iiiiijjii", path_open),
    F("path_create_directory", "iii", path_create_directory),
    F("path_remove_directory", "iii", path_remove_directory),
    F("path_unlink_file", "iii", path_unlink_file),
    F("path_filestat_get", "iiiii", path_filestat_get),
    F("path_filestat_set_times", "iiiijji", path_filestat_set_times),
    F("path_readlink", "iiiiii", path_readlink),
    F("path_rename", "iiiiii", path_rename),
    F("path_link", "iiiiiii", path_link),
    F("path_symlink", "iiiii", path_symlink),
};

int wasi_path_imports(struct wasi_ctx *c, tether_wasm_host_import **v, size_t *n)
{
    return wasi_add(v, n, calls, sizeof calls / sizeof calls[0], c);
}

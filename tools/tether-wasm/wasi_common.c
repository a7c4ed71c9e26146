/*
 * What the WASI calls (wasi.c, wasi_fd.c, wasi_path.c) share: errno and
 * file types in WASI's numbering, the filestat record, nanoseconds, and
 * adding imports to the list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wasi_common.h"

int wasi_errno(int e)
{
    switch (e) {
    case 0: return W_SUCCESS;
    case E2BIG: return W_2BIG;
    case EACCES: return W_ACCES;
    case EAGAIN: return W_AGAIN;
    case EBADF: return W_BADF;
    case EBUSY: return W_BUSY;
    case EEXIST: return W_EXIST;
    case EFAULT: return W_FAULT;
    case EFBIG: return W_FBIG;
    case EILSEQ: return W_ILSEQ;
    case EINTR: return W_INTR;
    case EINVAL: return W_INVAL;
    case EIO: return W_IO;
    case EISDIR: return W_ISDIR;
    case ELOOP: return W_LOOP;
    case EMFILE: return W_MFILE;
    case EMLINK: return W_MLINK;
    case ENAMETOOLONG: return W_NAMETOOLONG;
    case ENFILE: return W_NFILE;
    case ENODEV: return W_NODEV;
    case ENOENT: return W_NOENT;
    case ENOMEM: return W_NOMEM;
    case ENOSPC: return W_NOSPC;
    case ENOSYS: return W_NOSYS;
    case ENOTDIR: return W_NOTDIR;
    case ENOTEMPTY: return W_NOTEMPTY;
    case EOPNOTSUPP: return W_NOTSUP;
    case ENOTTY: return W_NOTTY;
    case ENXIO: return W_NXIO;
    case EOVERFLOW: return W_OVERFLOW;
    case EPERM: return W_PERM;
    case EPIPE: return W_PIPE;
    case ERANGE: return W_RANGE;
    case EROFS: return W_ROFS;
    case ESPIPE: return W_SPIPE;
    case ETXTBSY: return W_TXTBSY;
    case EXDEV: return W_NOTCAPABLE; /* openat2: the path would leave its directory */
    default: return W_IO;
    }
}

int wasi_filetype(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return W_FT_FILE;
    case S_IFDIR: return W_FT_DIR;
    case S_IFCHR: return W_FT_CHAR;
    case S_IFBLK: return W_FT_BLOCK;
    case S_IFLNK: return W_FT_SYMLINK;
    case S_IFSOCK: return W_FT_SOCK_STREAM;
    default: return W_FT_UNKNOWN;
    }
}

uint64_t wasi_ns(struct timespec t)
{
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void wasi_put_filestat(uint8_t *p, const struct stat *st)
{
    memset(p, 0, 64);
    put64(p, st->st_dev);
    put64(p + 8, st->st_ino);
    p[16] = (uint8_t)wasi_filetype(st->st_mode);
    put64(p + 24, st->st_nlink);
    put64(p + 32, (uint64_t)st->st_size);
    put64(p + 40, wasi_ns(st->st_atim));
    put64(p + 48, wasi_ns(st->st_mtim));
    put64(p + 56, wasi_ns(st->st_ctim));
}

int wasi_add(tether_wasm_host_import **v, size_t *n, const tether_wasm_host_import *add,
             size_t count, void *data)
{
    tether_wasm_host_import *a = realloc(*v, (*n + count) * sizeof *a);

    if (!a)
        return -1;
    for (size_t i = 0; i < count; i++) {
        a[*n + i] = add[i];
        a[*n + i].data = data;
    }
    *v = a;
    *n += count;
    return 0;
}

/*
 * WASI's pieces, shared by wasi.c (the imports, arguments, clocks,
 * exit), wasi_fd.c (descriptors) and wasi_path.c (paths under mapped
 * directories). Numbers and layouts are wasi_snapshot_preview1's, on
 * wasm32: little-endian, 32-bit pointers into the guest's memory.
 */
#ifndef TW_WASI_COMMON_H
#define TW_WASI_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <tether/wasm.h>

/* WASI errno values (those used here). */
enum {
    W_SUCCESS = 0, W_2BIG = 1, W_ACCES = 2, W_AGAIN = 6, W_BADF = 8, W_BUSY = 10,
    W_EXIST = 20, W_FAULT = 21, W_FBIG = 22, W_ILSEQ = 25, W_INTR = 27,
    W_INVAL = 28, W_IO = 29, W_ISDIR = 31, W_LOOP = 32, W_MFILE = 33,
    W_MLINK = 34, W_NAMETOOLONG = 37, W_NFILE = 41, W_NODEV = 43,
    W_NOENT = 44, W_NOMEM = 48, W_NOSPC = 51, W_NOSYS = 52, W_NOTDIR = 54,
    W_NOTEMPTY = 55, W_NOTSUP = 58, W_NOTTY = 59, W_NXIO = 60,
    W_OVERFLOW = 61, W_PERM = 63, W_PIPE = 64, W_RANGE = 68, W_ROFS = 69,
    W_SPIPE = 70, W_TXTBSY = 74, W_XDEV = 75, W_NOTCAPABLE = 76
};

/* File types. */
enum {
    W_FT_UNKNOWN = 0, W_FT_BLOCK = 1, W_FT_CHAR = 2, W_FT_DIR = 3,
    W_FT_FILE = 4, W_FT_SOCK_DGRAM = 5, W_FT_SOCK_STREAM = 6, W_FT_SYMLINK = 7
};

/* Rights: all of them, and those a file, a directory, a stream has. */
#define W_RIGHTS_ALL ((1ull << 30) - 1)
#define W_RIGHT_FD_SEEK (1ull << 2)
#define W_RIGHT_FD_TELL (1ull << 5)

/* A descriptor of the guest's. */
struct wasi_fd {
    int used;
    int host;           /* the host's descriptor */
    int filetype;       /* W_FT_* */
    uint64_t rights;
    char *preopen;      /* a mapped directory: its name for the guest */
    void *dir;          /* DIR * for fd_readdir, made on first use */
};

struct wasi_ctx {
    char **argv;        /* the guest's argv: argv[0] is the module */
    int argc;
    const char **envs;  /* NAME=VALUE */
    int nenvs;
    struct wasi_fd *fds;
    int nfds;
    int exit_code;
};

/* The guest's memory: a pointer to len bytes at addr, or NULL. */
#define GUEST(inst, addr, len) \
    ((uint8_t *)tether_wasm_memory_at((inst), (uint64_t)(addr), (uint64_t)(len)))

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* --- wasi_common.c */
/* The host's errno as WASI's. */
int wasi_errno(int host_errno);

/* The WASI file type of a host file mode. */
int wasi_filetype(mode_t mode);

/* Writes a filestat (64 bytes) for st at p. */
void wasi_put_filestat(uint8_t *p, const struct stat *st);

/* A time in nanoseconds. */
uint64_t wasi_ns(struct timespec t);

/* Appends n imports of wasi_snapshot_preview1 to *v; 0 or -1. */
int wasi_add(tether_wasm_host_import **v, size_t *n, const tether_wasm_host_import *add,
             size_t count, void *data);

/* --- wasi_fd.c */
/* The descriptor fd, or NULL. */
struct wasi_fd *wasi_fd_get(struct wasi_ctx *c, uint32_t fd);
/* Adds host fd h as a guest descriptor; its number, or -1 (the table is full). */
int wasi_fd_add(struct wasi_ctx *c, int h, int filetype, uint64_t rights, const char *preopen);
/* Sets up stdin, stdout, stderr and the mapped directories; 0 or -1. */
int wasi_fd_init(struct wasi_ctx *c, const char **dirs, int ndirs);
void wasi_fd_fini(struct wasi_ctx *c);
/* Appends the descriptor functions to *v. */
int wasi_fd_imports(struct wasi_ctx *c, tether_wasm_host_import **v, size_t *n);

/* --- wasi_path.c */
int wasi_path_imports(struct wasi_ctx *c, tether_wasm_host_import **v, size_t *n);


#endif

/*
 * Safe memory probes: read, write, copy and measure memory that may not
 * be there, and get -EFAULT instead of a crash (as the Linux kernel's
 * copy_from_user does for user memory). Built on FAULT sequences
 * (tether/seq.h): they cost what memcpy costs when nothing faults.
 *
 * A probe fails with -EFAULT on an address that is unmapped (NULL, a
 * freed mapping), protected (PROT_NONE, read-only for a write, a guard
 * page, a fiber's stack guard), or beyond the end of a mapped file
 * (SIGBUS), and reports exactly how many bytes it did before the first
 * one it could not: *done (or *len) bytes at the start were copied (or
 * read) and byte number *done was the one that faulted. A fault on
 * either side of a copy, source or destination, counts the same.
 *
 * Where they may be used: any thread, on or off a fiber, at any depth,
 * and in signal handlers, as long as the thread does not block SIGSEGV
 * and SIGBUS (the kernel kills a thread that faults with them blocked).
 * The first probe of a process installs tether's signal handlers (as the
 * first fiber or the first sequence table does): if that could happen in
 * a signal handler, call tether_seq_install() at start-up. They are
 * async-signal-safe once the handlers are installed.
 *
 * Not for: memory another thread unmaps or remaps while the probe runs
 * (the count then describes whatever was there), device memory whose
 * reads have side effects, or overlapping source and destination (use a
 * bounce buffer).
 */
#ifndef TETHER_PROBE_H
#define TETHER_PROBE_H

#include <stddef.h>
#include <tether/common.h>

TETHER_BEGIN_DECLS

/*
 * Copies n bytes from src to dst, in order. Returns 0 (all n copied), or
 * -EFAULT with *done bytes copied (byte *done of src could not be read
 * or of dst written), or -EAGAIN if tether's handlers could not be
 * installed (nothing copied). done may be NULL. The three are the same
 * function; the names say which side the caller doubts.
 */
TETHER_API int tether_probe_copy(void *dst, const void *src, size_t n, size_t *done);
TETHER_API int tether_probe_read(void *dst, const void *src, size_t n, size_t *done);
TETHER_API int tether_probe_write(void *dst, const void *src, size_t n, size_t *done);

/*
 * The length of the string at s, up to max: returns 0 with *len the
 * number of bytes before its first 0 byte, or max if none of the first
 * max is 0; or -EFAULT with *len the number of bytes that could be read
 * (none of them 0) before the first that could not; or -EAGAIN. Reads
 * in aligned 16-byte blocks, never across a page it did not need. len
 * may be NULL.
 */
TETHER_API int tether_probe_strnlen(const char *s, size_t max, size_t *len);

TETHER_END_DECLS

#endif

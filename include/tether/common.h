/*
 * Conventions shared by every tether header.
 *
 * Errors. Every function that can fail returns an int: zero or a positive
 * status on success, a negative errno value on failure. The values used:
 *
 *   -EINVAL   an argument is invalid (NULL where an object is required,
 *             unknown flags)
 *   -ERANGE   a size is outside its documented bounds
 *   -ENOMEM   the memory for a fiber or its stack could not be mapped
 *   -EBUSY    the fiber is running (on this thread or another one)
 *   -EDEADLK  the fiber is the caller or one of the fibers that resumed it
 *   -ESRCH    the fiber has finished: there is nothing left to resume
 *   -EPERM    the call is only valid on a fiber, and the caller is not on one
 *   -EAGAIN   tether's signal handlers or a thread's timer could not be set up
 *   -ECANCELED  the calling fiber is being unwound: it may not yield or
 *             terminate (tether_yield, tether_terminate)
 *   -EFAULT   a cleanup faulted during an unwind (tether_fiber_unwind); a
 *             probe met memory that is not there (tether/probe.h)
 *   -EEXIST   sequence ranges of one event would overlap (tether/seq.h)
 *   -ENOENT   no sequence range or table there (tether/seq.h)
 *   -ENOTRECOVERABLE  an unwind could not run the fiber's cleanups
 *             (tether_fiber_unwind, see tether/unwind.h)
 *
 * tether_strerror() turns any of these into a message. Positive results
 * are documented where they occur (a tether_state from resume, a
 * tether_kill_result from tether_kill_switch_fire()).
 */
#ifndef TETHER_COMMON_H
#define TETHER_COMMON_H

#include <tether/version.h>

#ifdef __cplusplus
#define TETHER_BEGIN_DECLS extern "C" {
#define TETHER_END_DECLS }
#else
#define TETHER_BEGIN_DECLS
#define TETHER_END_DECLS
#endif

#if defined(__GNUC__)
#define TETHER_API __attribute__((visibility("default")))
#else
#define TETHER_API
#endif

TETHER_BEGIN_DECLS

/*
 * A static, human-readable description of a tether return code: a
 * negative errno value, zero, or a positive tether_state. Never NULL.
 */
TETHER_API const char *tether_strerror(int code);

/*
 * The version of the library the program runs with (which may be newer
 * than the headers it was built with: compare with tether/version.h's
 * macros). tether_version() returns a static string, "0.1.0", never
 * NULL; tether_version_number() the same version as
 * TETHER_VERSION_ENCODE(major, minor, patch) makes it, 0x000100.
 */
TETHER_API const char *tether_version(void);
TETHER_API unsigned tether_version_number(void);

TETHER_END_DECLS

#endif

/*
 * Conventions shared by every tether header.
 *
 * Errors. Every function that can fail returns an int: zero or a positive
 * status on success, a negative errno value on failure. The values used:
 *
 *   -EINVAL   an argument is invalid (NULL where an object is required,
 *             unknown flags, a reserved option field that is not zero)
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
 *
 * The ABI: what a program built against these headers can count on
 * from later releases of the library with the same soname
 * (libtether.so.0, libtether-wasm.so.0; see NEWS for the version rules).
 *
 *   Functions keep their signature and meaning. Each carries the symbol
 *   version of the release that added it (TETHER_0.1, TETHER_WASM_0.1),
 *   so a program that needs a later function than the library has is
 *   refused at start, by name, not at the call.
 *
 *   Opaque types (tether_fiber, tether_kill_switch, tether_fault_handler,
 *   the wasm pool, instance) are only ever handled by pointer: they
 *   change freely.
 *
 *   Options: structs the program fills and the library reads
 *   (tether_fiber_opts, tether_call_opts, tether_wasm_pool_opts,
 *   tether_wasm_instance_opts). Zero-initialise the whole struct (= {0}
 *   in C, {} in C++, or memset), then set what you need: a zero field
 *   means the default, and always will. Their size never changes: each
 *   ends in `reserved` space, from which new options are taken, with
 *   zero meaning the behaviour of the release before. The library
 *   refuses a non-zero reserved field with -EINVAL, so a program that
 *   sets an option its library is too old to know gets an error, not
 *   silence. A NULL options pointer means all defaults.
 *
 *   Reports: structs the program provides and the library fills
 *   (tether_unwind_report, tether_call_report). Their size never
 *   changes either: the library writes the whole struct, and new fields
 *   are taken from `reserved`, written as zero until then.
 *
 *   Records the library keeps and hands out by pointer
 *   (tether_fault_event, tether_seq_fault, tether_wasm_trap_record):
 *   new fields may be added at their end. Read them through the
 *   pointer; do not allocate them (a copy holds the fields its program
 *   knew).
 *
 *   Fixed for the life of the soname: tether_fault (the library writes
 *   it into programs' memory, tether_call() does, and it is embedded in
 *   other structs), the element types of arrays the program passes
 *   (tether_code_range, tether_seq_range, tether_wasm_host_import,
 *   tether_wasm_val), whose size is the array's stride, and
 *   tether_seq_record, which objects carry in their sections (its
 *   reserved bits must be zero). What they cannot say comes as new
 *   functions or types. tether_wasm_module and the arrays it points to
 *   carry their own layout number (TETHER_WASM_MODULE_ABI).
 *
 *   tether_debug_info (tether/debug.h, for debuggers) says its own
 *   version and size: fields are only ever added at its end.
 *
 *   Enumerations and flags may gain values. Handle values you do not
 *   know (the *_name() functions return a text for any value); unknown
 *   flag bits are refused with -EINVAL.
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

/*
 * WebAssembly instances on tether fibers (libtether-wasm).
 *
 * A module is the C that wasm2c (wabt 1.0.32) makes of a .wasm file,
 * compiled into the host program or into a shared object, and described
 * by a tether_wasm_module. An instance of it owns a linear memory
 * reserved with guard regions (8 GiB of address space: every wasm32
 * address plus any offset lands in it, so bounds checks cost nothing), a
 * fiber with a guarded stack, its globals and tables, and user data.
 * Instances come from a pool of reserved slots; creating one from a
 * warm slot makes no system call.
 *
 * Every call into an instance runs on its fiber: one resume there, one
 * yield back. Whatever the guest does, the call returns to the host:
 *
 *   TETHER_WASM_OK       it returned
 *   TETHER_WASM_YIELDED  a host function it called yielded (an
 *                        asynchronous host call); tether_wasm_resume()
 *                        continues it
 *   TETHER_WASM_TRAP     it trapped; tether_wasm_trap_info() says why
 *
 * Traps. A fault in a linear memory's guard region is "out of bounds
 * memory access"; the fiber's stack guard is "call stack exhausted"; the
 * traps generated code raises itself (division by zero, unreachable, ...)
 * end the call the same way; so do a deadline (tether_wasm_set_timeout),
 * an interrupt from any thread (tether_wasm_interrupt) and a host
 * function that calls tether_wasm_terminate(). After a trap the instance
 * can be called again at once (its memory and globals are as the trap
 * left them, as in the WebAssembly spec) or reset to its initial state.
 *
 * Host functions. A module's imports are C functions that run on the
 * instance's fiber. They may call back into the same instance
 * (tether_wasm_call from a host function runs the export directly, on the
 * same stack), yield the instance (tether_wasm_yield), or end the call
 * (tether_wasm_terminate). A trap anywhere below a host function ends
 * the whole call, and the cleanups left on the host functions' frames
 * (C++ destructors, C cleanups in code built with -fexceptions) run; a
 * host function that faults itself does not get its own frame's cleanups
 * run (unless built with -fnon-call-exceptions: see tether/unwind.h).
 *
 * Errors are negative errno values, as in the rest of tether:
 *   -EINVAL   NULL where an object is needed, a bad option
 *   -ERANGE   a size outside its documented bounds
 *   -ENOMEM   memory or address space could not be had
 *   -EAGAIN   every slot of the pool is in use
 *   -EBUSY    the instance is running, or yielded (tether_wasm_call)
 *   -EDEADLK  the instance is hosting the caller
 *   -ESRCH    the instance has nothing to resume, or its instantiation
 *             failed (reset or release it)
 *   -ENOENT   no such export, or an import the host does not provide
 *   -EPERM    a fiber-only call made off the instance's fiber
 *   -ENOEXEC  a file that is not a tether-wasm module
 *   -EPROTO   a module built for another tether_wasm_module layout
 * tether_wasm_strerror() describes them.
 *
 * Generated code is compiled with -fno-optimize-sibling-calls (or a
 * self-recursive call in tail position becomes a loop, and "call stack
 * exhausted" an endless loop) and -fstack-clash-protection (a function
 * whose frame is larger than the stack guard must not jump over it),
 * with WASM_RT_USE_STACK_DEPTH_COUNT 0 (the default of wasm-rt.h on
 * Linux): the call stack ends at the fiber's guard, not at a depth
 * count. `tether-wasm translate` and `tether-wasm compile` do all this.
 */
#ifndef TETHER_WASM_H
#define TETHER_WASM_H

#include <stddef.h>
#include <stdint.h>
#include <tether/common.h>
#include <tether/fault.h>

TETHER_BEGIN_DECLS

/*
 * A static message for a return code of this library (a negative errno
 * value, or TETHER_WASM_OK, _YIELDED, _TRAP); never NULL.
 */
TETHER_API const char *tether_wasm_strerror(int code);

/* ------------------------------------------------------------ values */

/*
 * A wasm value. Types are named by wasm2c's letters: 'i' i32, 'j' i64,
 * 'f' f32, 'd' f64. Integers are stored as unsigned bit patterns. An
 * array element: its layout is fixed (see tether/common.h).
 */
typedef union tether_wasm_val {
    uint32_t i32;
    uint64_t i64;
    float f32;
    double f64;
} tether_wasm_val;

/* ----------------------------------------------------------- modules */

typedef struct tether_wasm_instance tether_wasm_instance;

/* What an export or import is. */
typedef enum tether_wasm_extern_kind {
    TETHER_WASM_EXTERN_FUNC = 0,
    TETHER_WASM_EXTERN_TABLE = 1,
    TETHER_WASM_EXTERN_MEMORY = 2,
    TETHER_WASM_EXTERN_GLOBAL = 3
} tether_wasm_extern_kind;

/*
 * An export. `params` and `results` are type letters ("ij", "d", "");
 * for a global, `results` is its type. `call` runs a function export
 * with vals[] holding the arguments on entry and the results on return
 * (the array has room for the larger count); it is NULL for functions
 * whose types it cannot pass (reference types, v128). `get` returns a
 * non-function export: a wasm_rt_memory_t *, wasm_rt_funcref_table_t *,
 * or a pointer to the global's value.
 */
typedef struct tether_wasm_export {
    const char *name;
    int kind; /* a tether_wasm_extern_kind */
    const char *params;
    const char *results;
    void (*call)(void *module_instance, tether_wasm_val *vals);
    void *(*get)(void *module_instance);
} tether_wasm_export;

/* An import the module needs from the host; `params`/`results` as above. */
typedef struct tether_wasm_import {
    const char *module;
    const char *name;
    int kind; /* a tether_wasm_extern_kind */
    const char *params;
    const char *results;
} tether_wasm_import;

/*
 * The layout of tether_wasm_module (and of the export and import arrays
 * it points to) this library understands. A layout that changes gets a
 * new number; a library refuses numbers it does not know (-EPROTO,
 * -EINVAL).
 */
#define TETHER_WASM_MODULE_ABI 1

/*
 * A module: wasm2c's output for one .wasm file. `tether-wasm translate`
 * writes one (with every field filled) next to the generated C; a host
 * can also fill one by hand for wasm2c output it compiles itself, with
 * exports and imports left empty (calls then go through
 * tether_wasm_call(), and the imports are the host's own C functions
 * named as wasm2c names them).
 */
typedef struct tether_wasm_module {
    unsigned abi;          /* TETHER_WASM_MODULE_ABI */
    const char *name;      /* for messages */
    size_t instance_size;  /* sizeof the wasm2c instance struct */
    void (*init_module)(void); /* run once per process before the first instance */
    /*
     * Instantiates: calls wasm2c's instantiate function on the zeroed
     * `module_instance`, passing `inst` (cast) as every imported module's
     * instance pointer, which is how host functions find their instance.
     * Runs on the instance's fiber: it may trap (a data segment out of
     * bounds, a trap in the start function).
     */
    void (*instantiate)(void *module_instance, tether_wasm_instance *inst);
    void (*free)(void *module_instance); /* wasm2c's free function */
    const tether_wasm_export *exports;
    size_t nexports;
    const tether_wasm_import *imports;
    size_t nimports;
} tether_wasm_module;

/*
 * Loads a module compiled by `tether-wasm compile` (a shared object
 * defining tether_wasm_module_info). The object stays loaded for the
 * life of the process. Returns 0, or -ENOENT (no such file, or it cannot
 * be loaded), -ENOEXEC (not a module), -EPROTO (another ABI). On error a
 * message is written to err (if errlen > 0).
 */
TETHER_API int tether_wasm_module_load(const tether_wasm_module **out,
                                       const char *path, char *err,
                                       size_t errlen);

/* The export called `name`, or NULL. */
TETHER_API const tether_wasm_export *
tether_wasm_module_export(const tether_wasm_module *m, const char *name);

/* ------------------------------------------------------------- pools */

typedef struct tether_wasm_pool tether_wasm_pool;

/* Bounds and defaults of the pool options. */
#define TETHER_WASM_SLOTS_DEFAULT 64u
#define TETHER_WASM_SLOTS_MAX 8192u /* 8192 x 8 GiB = 64 TiB of address space */
#define TETHER_WASM_STACK_SIZE_DEFAULT (512u * 1024u)
#define TETHER_WASM_KEEP_RESIDENT_DEFAULT (1024u * 1024u)
#define TETHER_WASM_PAGES_MAX 65536u /* 4 GiB: all of wasm32 */

/*
 * Pool options. Zero-initialise; a zero field means the default, and new
 * options come from `reserved` (see tether/common.h).
 *
 * Address space: each slot reserves TETHER_WASM_SLOT_RESERVATION bytes
 * (8 GiB and 64 KiB: the 4 GiB a wasm32 address reaches, the 4 GiB an
 * offset adds, and a guard) in one PROT_NONE, MAP_NORESERVE mapping made
 * when the pool is created. Reserving costs no memory; only the pages an
 * instance touches are. x86_64 Linux gives a process 128 TiB, so a
 * process can reserve at most about 15,000 slots in all its pools.
 */
typedef struct tether_wasm_pool_opts {
    unsigned slots;            /* instances alive at once: 0 = 64, at most 8192 */
    size_t stack_size;         /* each instance's fiber stack: 0 = 512 KiB
                                  (16 KiB to 1 GiB); the guard below it is
                                  tether's default 64 KiB */
    uint32_t max_memory_pages; /* memory.grow and initial sizes stop here:
                                  0 = 65535 pages (4 GiB - 64 KiB: the
                                  wasm-rt.h size field is 32 bits) */
    /*
     * When an instance is released or reset, the first keep_resident
     * bytes of its memory are zeroed in place with memset and stay
     * resident (the next instance touches them without page faults);
     * the rest is returned with madvise(MADV_DONTNEED). 0 = 1 MiB;
     * SIZE_MAX: always memset.
     */
    size_t keep_resident;
    uint64_t reserved[8]; /* zero; room for later options */
} tether_wasm_pool_opts;

/* Address space reserved per slot. */
#define TETHER_WASM_SLOT_RESERVATION ((1ull << 33) + 65536u)

/*
 * Creates a pool. Returns 0, -EINVAL (out is NULL, or opts->reserved is
 * not zero), -ERANGE (an option
 * outside its bounds) or -ENOMEM (the reservation failed). Thread-safe to
 * use from many threads at once.
 */
TETHER_API int tether_wasm_pool_create(tether_wasm_pool **out,
                                       const tether_wasm_pool_opts *opts);

/*
 * Frees a pool and everything it reserved. Returns 0, -EINVAL for NULL,
 * or -EBUSY if some of its instances are still alive (nothing is freed).
 */
TETHER_API int tether_wasm_pool_destroy(tether_wasm_pool *pool);

/* --------------------------------------------------------- instances */

/*
 * A function a host provides for an import. vals[] holds the arguments
 * on entry and must hold the results on return (it has room for the
 * larger count). `data` is the tether_wasm_host_import's. Runs on the
 * instance's fiber, between tether_host_enter() and tether_host_leave():
 * an interrupt waits until it returns.
 */
typedef void (*tether_wasm_host_fn)(tether_wasm_instance *inst, void *data,
                                    tether_wasm_val *vals);

/*
 * One import a host provides, matched to a module's import by module
 * and name; the kind and type must match too.
 *   FUNC:   fn and data; params/results as type letters
 *   GLOBAL: ptr is the value's storage (uint32_t *, uint64_t *, float *,
 *           double *); results is its type letter
 *   MEMORY: ptr is a wasm_rt_memory_t * (from wasm_rt_allocate_memory())
 *   TABLE:  ptr is a wasm_rt_funcref_table_t *
 * An array element: its layout is fixed (see tether/common.h).
 */
typedef struct tether_wasm_host_import {
    const char *module;
    const char *name;
    int kind;
    const char *params;
    const char *results;
    tether_wasm_host_fn fn;
    void *data;
    void *ptr;
} tether_wasm_host_import;

/*
 * Instance options. Zero-initialise; NULL means all defaults; new
 * options come from `reserved` (see tether/common.h). The imports array
 * is not copied: it must outlive the instances made with it, unchanged.
 */
typedef struct tether_wasm_instance_opts {
    const tether_wasm_host_import *imports; /* matched to the module's */
    size_t nimports;
    void *user_data;                        /* tether_wasm_user_data() */
    uint64_t timeout_ns;                    /* tether_wasm_set_timeout(), from
                                               the instantiation on: 0 = none */
    uint64_t reserved[8];                   /* zero; room for later options */
} tether_wasm_instance_opts;

/*
 * Checks that `imports` provides every import of m with the right kind
 * and type. Returns 0, or -ENOENT with a message naming the first
 * import that is missing or does not match in err (if errlen > 0).
 */
TETHER_API int tether_wasm_link_check(const tether_wasm_module *m,
                                      const tether_wasm_host_import *imports,
                                      size_t nimports, char *err,
                                      size_t errlen);

/*
 * Takes a slot from the pool and instantiates m in it, on the slot's
 * fiber. Returns:
 *   0                 *out is ready to call
 *   TETHER_WASM_TRAP  instantiation trapped (a data segment out of
 *                     bounds, a trap in the start function, a memory
 *                     larger than max_memory_pages): *out is set, its
 *                     trap is readable, and it can only be reset (to try
 *                     again) or released
 *   -EINVAL  a NULL argument, m->abi is not TETHER_WASM_MODULE_ABI, or
 *            opts->reserved is not zero
 *   -EAGAIN  every slot is in use
 *   -ENOENT  an import is not provided (see tether_wasm_link_check())
 *   -ENOMEM  the fiber or the module's state could not be allocated
 * The first use of a slot creates its fiber (an mmap); later uses of the
 * slot make no system call unless the memory's initial size differs
 * from the last instance's (an mprotect).
 */
TETHER_API int tether_wasm_instance_create(tether_wasm_instance **out,
                                           tether_wasm_pool *pool,
                                           const tether_wasm_module *m,
                                           const tether_wasm_instance_opts *opts);

/*
 * Back to its initial state: memory (zeroed, then the data segments),
 * globals, tables, the start function run again; a yielded call is
 * abandoned (its host functions' cleanups run). Returns 0,
 * TETHER_WASM_TRAP (instantiation trapped, as in create), -EINVAL, or
 * -EBUSY / -EDEADLK if it is running.
 */
TETHER_API int tether_wasm_instance_reset(tether_wasm_instance *inst);

/*
 * Gives the instance's slot back to its pool; a yielded call is
 * abandoned first. Returns 0, -EINVAL, or -EBUSY / -EDEADLK if it is
 * running (it is then left alone).
 */
TETHER_API int tether_wasm_instance_release(tether_wasm_instance *inst);

/* The wasm2c instance struct (for calling its exports directly). */
TETHER_API void *tether_wasm_module_instance(const tether_wasm_instance *inst);

/* The user data given at creation, or NULL. */
TETHER_API void *tether_wasm_user_data(const tether_wasm_instance *inst);

/*
 * The instance whose fiber the caller runs on (a host function's own
 * instance), or NULL.
 */
TETHER_API tether_wasm_instance *tether_wasm_current(void);

/*
 * The instance's memory: its exported memory (the one called "memory" if
 * there are several), else the first it defined or imported. Stores the
 * base and the current size in bytes. Returns 0 or -ENOENT (it has
 * none). The base does not move when the memory grows.
 */
TETHER_API int tether_wasm_memory(const tether_wasm_instance *inst,
                                  uint8_t **base, uint64_t *size);

/*
 * A pointer to len bytes of the instance's memory at addr, or NULL if
 * any of them lies outside the memory's current size. For host
 * functions that take guest pointers.
 */
TETHER_API void *tether_wasm_memory_at(const tether_wasm_instance *inst,
                                       uint64_t addr, uint64_t len);

/* --------------------------------------------------------------- calls */

/* What a call, a resume or an instantiation ended with. */
enum {
    TETHER_WASM_OK = 0,
    TETHER_WASM_YIELDED = 1,
    TETHER_WASM_TRAP = 2
};

/* Code run on the instance's fiber by tether_wasm_call(). */
typedef void (*tether_wasm_entry)(void *module_instance, void *arg);

/*
 * Runs fn(module_instance, arg) on the instance's fiber: fn calls wasm2c
 * exports and stores their results in *arg (which must stay valid until
 * the call ends: a call that yields ends in a later tether_wasm_resume).
 * Returns TETHER_WASM_OK,
 * _YIELDED or _TRAP, or -EINVAL, -EBUSY (running on another thread, or
 * yielded), -EDEADLK (it hosts the caller), -ESRCH (instantiation
 * failed).
 *
 * Called from a host function running on this instance's fiber, it runs
 * fn there directly (a callback into the guest) and returns
 * TETHER_WASM_OK; a trap in it ends the outer call, and this call never
 * returns.
 */
TETHER_API int tether_wasm_call(tether_wasm_instance *inst,
                                tether_wasm_entry fn, void *arg);

/*
 * Calls the function export `name` through the module's export table:
 * args[nargs] in, results[nresults] out. If the call yields, results are
 * written when the resume that ends it returns TETHER_WASM_OK: the array
 * must stay valid until then. Returns what tether_wasm_call()
 * returns, or -ENOENT (no such function export, or one whose types
 * cannot be passed) or -EINVAL (the counts differ from its type).
 */
TETHER_API int tether_wasm_invoke(tether_wasm_instance *inst, const char *name,
                                  const tether_wasm_val *args, size_t nargs,
                                  tether_wasm_val *results, size_t nresults);

/*
 * Continues a call whose host function yielded: that function's
 * tether_wasm_yield() returns with `in`. Returns what tether_wasm_call()
 * returns, or -ESRCH if the instance has not yielded.
 */
TETHER_API int tether_wasm_resume(tether_wasm_instance *inst, void *in);

/*
 * From a host function: suspends the instance, whose call (or resume)
 * returns TETHER_WASM_YIELDED with `out` readable by
 * tether_wasm_yielded(). Returns 0 when the host resumes it, with the
 * resume's value in *in (if in is not NULL), or -EPERM off an instance's
 * fiber. If the host resets or releases the instance instead, it does
 * not return: the cleanups on its stack run.
 */
TETHER_API int tether_wasm_yield(void *out, void **in);

/* The value the instance's last yield handed out. */
TETHER_API void *tether_wasm_yielded(const tether_wasm_instance *inst);

/*
 * From a host function: ends the call with a TETHER_WASM_TRAP_TERMINATED
 * trap carrying `details`. Does not return; returns -EPERM off an
 * instance's fiber.
 */
TETHER_API int tether_wasm_terminate(void *details);

/*
 * Stops the instance's running call, from any thread: it ends with a
 * TETHER_WASM_TRAP_INTERRUPT trap. If no call is running, the next one
 * ends that way before running anything. A host function that is running
 * finishes first. Must not race with the instance's release. Returns 0
 * or -EINVAL.
 */
TETHER_API int tether_wasm_interrupt(tether_wasm_instance *inst);

/*
 * A time limit for each later call, resume and reset of the instance:
 * one that runs longer ends with a TETHER_WASM_TRAP_TIMEOUT trap. 0
 * (the default) means none. Returns 0 or -EINVAL. Each timed call costs
 * two timer system calls.
 */
TETHER_API int tether_wasm_set_timeout(tether_wasm_instance *inst,
                                       uint64_t timeout_ns);

/* -------------------------------------------------------------- traps */

/* Why a call trapped. */
typedef enum tether_wasm_trap_kind {
    TETHER_WASM_TRAP_NONE = 0,
    TETHER_WASM_TRAP_OOB_MEMORY,            /* "out of bounds memory access" */
    TETHER_WASM_TRAP_OOB_TABLE,             /* "out of bounds table access" */
    TETHER_WASM_TRAP_OOB,                   /* untranslated wasm2c code's
                                               bounds trap: memory or table */
    TETHER_WASM_TRAP_DIV_BY_ZERO,           /* "integer divide by zero" */
    TETHER_WASM_TRAP_INT_OVERFLOW,          /* "integer overflow" */
    TETHER_WASM_TRAP_INVALID_CONVERSION,    /* "invalid conversion to integer" */
    TETHER_WASM_TRAP_UNREACHABLE,           /* "unreachable" */
    TETHER_WASM_TRAP_INDIRECT_CALL_TYPE,    /* "indirect call type mismatch" */
    TETHER_WASM_TRAP_UNDEFINED_ELEMENT,     /* "undefined element" */
    TETHER_WASM_TRAP_UNINITIALIZED_ELEMENT, /* "uninitialized element" */
    TETHER_WASM_TRAP_CALL_INDIRECT,         /* untranslated code: any of the
                                               three above */
    TETHER_WASM_TRAP_UNCAUGHT_EXCEPTION,    /* "uncaught exception" */
    TETHER_WASM_TRAP_EXHAUSTION,            /* "call stack exhausted" */
    TETHER_WASM_TRAP_TIMEOUT,               /* the call's time limit */
    TETHER_WASM_TRAP_INTERRUPT,             /* tether_wasm_interrupt() */
    TETHER_WASM_TRAP_TERMINATED,            /* tether_wasm_terminate() */
    TETHER_WASM_TRAP_MEMORY_LIMIT,          /* instantiation: a memory
                                               larger than the pool allows */
    TETHER_WASM_TRAP_HOST_FAULT,            /* a fault that is none of the
                                               above: see the fault record */
    TETHER_WASM_TRAP_HOST_EXCEPTION         /* a C++ exception escaped a
                                               host function */
} tether_wasm_trap_kind;

/*
 * A trap record: valid until the instance's next call, reset or release.
 * The library keeps it and hands it out by pointer: later fields are
 * added at its end (see tether/common.h).
 */
typedef struct tether_wasm_trap_record {
    int kind;            /* a tether_wasm_trap_kind */
    const char *message; /* tether_wasm_trap_message(kind) */
    void *details;       /* TERMINATED: tether_wasm_terminate()'s argument */
    int has_fault;       /* the trap was a fault: `fault` describes it */
    tether_fault fault;  /* with its backtrace for TETHER_WASM_TRAP_HOST_FAULT
                            only (nframes 0 for the wasm traps) */
} tether_wasm_trap_record;

/*
 * The instance's last trap (kind TETHER_WASM_TRAP_NONE if its last call
 * did not trap), or NULL for NULL.
 */
TETHER_API const tether_wasm_trap_record *
tether_wasm_trap_info(const tether_wasm_instance *inst);

/*
 * The WebAssembly spec test suite's text for a trap kind ("out of bounds
 * memory access", "call stack exhausted", ...); never NULL.
 */
TETHER_API const char *tether_wasm_trap_message(int kind);

/*
 * Ends the calling instance's call with a trap of this kind, as
 * wasm_rt_trap() does with wasm2c's codes. Code translated by
 * `tether-wasm translate` raises the spec's precise reasons through it.
 * Off an instance's fiber it prints the message and aborts.
 */
TETHER_API _Noreturn void tether_wasm_trap(int kind);

/*
 * Calls import number `index` of the instance's module through the
 * host function bound to it, bracketed by tether_host_enter() and
 * tether_host_leave(). Called by the import stubs `tether-wasm translate`
 * writes; `host` is the instance pointer wasm2c hands them.
 */
TETHER_API void tether_wasm_host_call(void *host, size_t index,
                                      tether_wasm_val *vals);

/*
 * The storage bound to a global, memory or table import number `index`
 * (see tether_wasm_host_import.ptr). For the stubs, as above.
 */
TETHER_API void *tether_wasm_host_extern(void *host, size_t index);

TETHER_END_DECLS

#endif

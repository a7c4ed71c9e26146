/*
 * Forced unwinding: the cleanups left on a dead fiber's stack run.
 *
 * A fiber that yielded, faulted or was terminated still has frames on its
 * stack, and in them C++ objects whose destructors have not run, C
 * cleanup handlers (__attribute__((cleanup)), pthread_cleanup_push in
 * code built with -fexceptions) and catch blocks. tether_fiber_unwind()
 * runs them all: it resumes the fiber at a frame that raises an exception
 * (with _Unwind_RaiseException, from libgcc), which travels from where
 * the fiber stopped down to the fiber's bottom frame, which catches it
 * and returns to the host. The exception never reaches the host's
 * frames. In a process with libstdc++ loaded it is a C++ exception of
 * type abi::__forced_unwind (<cxxabi.h>), the type glibc's thread
 * cancellation uses; otherwise (a C program) an exception of tether's
 * own class.
 *
 * What runs: C++ destructors of every live object on the fiber's stack,
 * in the usual order (innermost first), across every segment of guest
 * and host code on it; C cleanups in code compiled with -fexceptions;
 * catch (...) blocks, which must rethrow (see below). Code compiled
 * without unwind tables (C without -fexceptions has tables but no
 * cleanups) is passed through without running anything.
 *
 * What does not run, and how the host learns of it. A frame's cleanups
 * can run only if its call-site table covers the pc where the frame
 * stopped. A frame interrupted by a fault or a kill stopped at an
 * ordinary instruction, which the table covers only in code built with
 * -fnon-call-exceptions (then its cleanups run too: the unwind starts
 * in the faulting frame, at exactly that pc). A C++ frame whose table
 * does not cover its pc (the faulting frame otherwise; a caller whose
 * call the compiler proved cannot throw, so left out of the table; a
 * frame inside an empty exception specification) would make libstdc++
 * call std::terminate: the unwind starts above the outermost such frame,
 * and it and the frames below it are passed over. A C frame built with
 * -fexceptions lets the unwind through without its cleanups in the same
 * case. tether_fiber_unwind() returns how many frames were passed over
 * (frames with cleanup tables whose cleanups did not run): 0 means every
 * cleanup on the stack ran. A host that gets more than 0 knows the
 * guest's state may be poisoned (a mutex left locked, a file left open)
 * and can quarantine it. A fiber stopped by a yield or by
 * tether_terminate() stopped at calls: everything runs, unless it
 * stopped inside a noexcept function.
 *
 * catch (...) catches the unwind like any other exception, and must end
 * with `throw;`. Code that must tell the unwind apart catches
 * abi::__forced_unwind& (and rethrows it), or asks tether_unwinding():
 *
 *     catch (...) {
 *         if (tether_unwinding())
 *             throw;   // the fiber is being unwound: let it go
 *         recover();
 *     }
 *
 * A catch block that swallows the unwind does not bring the fiber back
 * to life: the next time it enters tether (a yield, a return, a
 * terminate, a host call bracket, any tether function) the unwind is
 * raised again from there, and tether_fiber_unwind_report() says how
 * many times that happened. A fiber being unwound cannot yield or terminate
 * (those return -ECANCELED), and kills do not interrupt its unwind.
 *
 * Exceptions that escape. A C++ exception that the guest throws and
 * does not catch stops at the same bottom frame, after running the
 * guest's cleanups on its way: resume returns TETHER_TERMINATED with
 * TETHER_EXCEPTION_ESCAPED in *out. It never unwinds into the host.
 *
 * Stack overflow. After an overflow there is no room left below the
 * stack pointer, so the guard region, all but its lowest page, is opened
 * for the unwind (the unwinder's own frames go there) and closed again
 * when it is done. The default 64 KiB guard is ample (libgcc's unwinder
 * needs several KiB: 16 KiB is enough, 8 KiB is not); an unwind that
 * runs out of the room it was given faults in the page kept closed and is
 * abandoned like one whose cleanup faults (-EFAULT). A one-page guard
 * gives no room at all.
 *
 * When. By default a fault or termination leaves the frames in place and
 * the host decides: tether_fiber_unwind(), or tether_fiber_destroy(),
 * which unwinds first. The host reads the fault record first, unwinding
 * runs guest code (which may be slow, or fault again) only when the host
 * asks, and a host that wants a post-mortem keeps the stack as it was.
 * TETHER_FIBER_UNWIND_ON_EXIT makes resume unwind a fiber that faulted or
 * was terminated before it returns.
 *
 * C++ state. The C++ runtime keeps, per thread, the exceptions being
 * handled and the count in flight; tether gives every fiber its own copy
 * (swapped around each switch), so a fiber may yield inside a catch
 * block, move to another thread, and be unwound from there. A noexcept
 * function on the unwind's path that catches it and rethrows it (the
 * catch (...) idiom above, written in the noexcept function itself)
 * ends the process with std::terminate, as the language demands and as
 * thread cancellation would; a noexcept function without such a handler
 * is passed over like a nothrow call (counted).
 *
 * Threads that end. A thread that calls pthread_exit(), or is cancelled,
 * while it runs fibers is unwound by glibc through them into its own
 * frames: the fibers' cleanups run, innermost first, then the host's.
 * Each fiber it ran ends TERMINATED once the thread is gone, with
 * TETHER_THREAD_EXITED as its tether_fiber_result() (no resume returned
 * to report it), and may then be destroyed.
 */
#ifndef TETHER_UNWIND_H
#define TETHER_UNWIND_H

#include <stdint.h>
#include <tether/common.h>
#include <tether/fiber.h>

TETHER_BEGIN_DECLS

/* tether_fiber_opts.flags: unwind a fiber as soon as it faults or is terminated. */
#define TETHER_FIBER_UNWIND_ON_EXIT 0x2u

/* The details of a fiber ended by a C++ exception it let escape. */
#define TETHER_EXCEPTION_ESCAPED ((void *)(intptr_t)-2)

/* The details of a fiber that ended with its thread (pthread_exit, pthread_cancel). */
#define TETHER_THREAD_EXITED ((void *)(intptr_t)-3)

/*
 * Runs every cleanup left on the stack of a fiber that yielded, faulted
 * or was terminated, then leaves it with no frames: a YIELDED fiber
 * becomes TERMINATED, a FAULTED or TERMINATED one stays so. A fiber with
 * no frames (READY, RETURNED, already unwound) is left alone. Returns:
 *    0          every cleanup on the stack ran
 *    1 or more  the unwind ran, but passed over that many frames whose
 *               cleanups could not run (see above)
 *   -EINVAL     f is NULL
 *   -EBUSY      f is running (-EDEADLK: it is the caller or hosts it)
 *   -EFAULT     a cleanup faulted; the frames above it were abandoned.
 *               The fiber is FAULTED and tether_fiber_fault() describes
 *               the cleanup's fault. Also: after a stack overflow, no
 *               room to start the unwind (a one-page guard); nothing ran
 *   -ENOTRECOVERABLE  a frame on the way has no unwind tables (code
 *               generated at run time without them, a wild pc) or the
 *               stack is corrupt: nothing ran from there on
 *   -ENOMEM     the thread's alternate signal stack could not be mapped
 * In every case the fiber's frames are gone afterwards.
 */
TETHER_API int tether_fiber_unwind(tether_fiber *f);

/*
 * What the last unwind of a fiber did. Filled whole; later fields come
 * from `reserved` (see tether/common.h).
 */
typedef struct tether_unwind_report {
    int result;      /* what it returned (or would have, for the unwind
                        that tether_fiber_reset() or destroy runs) */
    int passed_over; /* frames whose cleanups could not run */
    int swallowed;   /* times guest code swallowed the unwind (a catch
                        (...) without `throw;`) and had it raised again */
    int reserved[5]; /* zero; room to grow without breaking the ABI */
} tether_unwind_report;

/*
 * Fills *out with what the fiber's last unwind did (all zero if it was
 * never unwound). Returns 0, or -EINVAL for NULL.
 */
TETHER_API int tether_fiber_unwind_report(const tether_fiber *f,
                                          tether_unwind_report *out);

/* 1 if the calling fiber is being unwound, else 0. */
TETHER_API int tether_unwinding(void);

TETHER_END_DECLS

#endif

/*
 * The fault-handler chain: handlers of the program's own that see a
 * fault before tether decides what it is.
 *
 * When a thread faults (SIGSEGV, SIGBUS, SIGILL or SIGFPE raised by an
 * instruction), tether asks, in this order:
 *
 *   1. code-range responses (tether/seq.h: fixups, safe probes);
 *   2. the handlers registered here, head first;
 *   3. a guarded call in progress on this thread (tether/call.h);
 *   4. the running fiber (its fault stops it: FAULTED);
 *   5. the handler installed before tether's, or the default action.
 *
 * A handler answers for one fault at a time:
 *
 *   TETHER_FAULT_NEXT   not mine: ask the next handler
 *   TETHER_FAULT_FIXED  fixed: the thread continues from the context, which
 *                       the handler may have edited (a new pc, registers)
 *   TETHER_FAULT_FAIL   stop asking handlers: go on to step 3 as if none
 *                       were registered
 *
 * Handlers run inside the signal handler, on the thread's alternate
 * signal stack: they must be async-signal-safe (no malloc, no locks, no
 * stdio), must keep errno, and must return: a handler that leaves by
 * siglongjmp leaves a read of the chain open, and every later
 * registration or removal then waits for it for good. (To continue
 * elsewhere, edit the context and answer TETHER_FAULT_FIXED.) Registration and removal are safe at any
 * time from any thread (not from a handler), also while other threads
 * fault; once tether_fault_handler_remove() returns, the handler is not
 * running and will not be called again, so its argument may be freed.
 */
#ifndef TETHER_CHAIN_H
#define TETHER_CHAIN_H

#include <signal.h>
#include <tether/common.h>
#include <tether/fault.h>

TETHER_BEGIN_DECLS

typedef enum tether_fault_answer {
    TETHER_FAULT_NEXT = 0,
    TETHER_FAULT_FIXED = 1,
    TETHER_FAULT_FAIL = 2
} tether_fault_answer;

/*
 * What a handler sees. The library makes it and passes it by pointer:
 * later fields are added at its end (see tether/common.h).
 */
typedef struct tether_fault_event {
    int signo;                  /* SIGSEGV, SIGBUS, SIGILL or SIGFPE */
    const siginfo_t *info;      /* as the kernel gave it */
    void *context;              /* the ucontext_t the thread returns to; editable */
    /*
     * The fault as tether classifies it: kind (a stack overflow of the
     * running fiber, or of the thread's own stack, is told apart),
     * signal, code, address, pc, sp and registers. Its backtrace holds
     * the pc alone: a handler may not walk the stack.
     */
    const tether_fault *record;
} tether_fault_event;

typedef tether_fault_answer (*tether_fault_handler_fn)(const tether_fault_event *event,
                                                       void *arg);

/* A registered handler. */
typedef struct tether_fault_handler tether_fault_handler;

/* Where in the chain a new handler goes. */
#define TETHER_FAULT_HANDLER_HEAD 0x1u /* asked before those registered so far */
#define TETHER_FAULT_HANDLER_TAIL 0x2u /* asked after them (the default) */

/*
 * Registers fn(event, arg). flags: TETHER_FAULT_HANDLER_HEAD or _TAIL
 * (0 means tail). Installs tether's signal handlers if they are not yet.
 * Returns 0 and the handle in *out, or -EINVAL (NULL fn or out, unknown
 * flags), -ENOMEM, -EAGAIN (the signal handlers could not be installed).
 */
TETHER_API int tether_fault_handler_add(tether_fault_handler_fn fn, void *arg, unsigned flags,
                                        tether_fault_handler **out);

/*
 * Removes h and frees it, after waiting until no thread is running it.
 * Returns 0, or -EINVAL (NULL, or not registered). Must not be called
 * from a fault handler.
 */
TETHER_API int tether_fault_handler_remove(tether_fault_handler *h);

TETHER_END_DECLS

#endif

/* Per-thread runtime state. */
#ifndef TETHER_THREAD_H
#define TETHER_THREAD_H

#include <tether/fiber.h>

struct tether_thread {
    tether_fiber *current; /* innermost running fiber; NULL on the thread's stack */
};

/*
 * initial-exec: an access is one %fs-relative load, with no call into
 * the dynamic linker, so the signal handler may read it too.
 */
extern __thread struct tether_thread tether__thread
    __attribute__((tls_model("initial-exec")));

#endif

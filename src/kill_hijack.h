/* A kill that lands in a host function the guest called (kill_hijack.c). */
#ifndef TETHER_KILL_HIJACK_H
#define TETHER_KILL_HIJACK_H

#include <stdint.h>

#include "fiber_impl.h"

/* The real return address of the host function whose return was moved. */
extern __thread uintptr_t tether__hijack_ret __attribute__((tls_model("initial-exec")));

/*
 * Called by the kill handler when the signal landed outside the guest's
 * code (a libc call, say) with no checkpoint to come: finds the guest
 * frame that called into the host and moves the return address of its
 * callee to tether__kill_hijack, so the kill acts the moment the host
 * function returns to the guest. Returns 1 if it did (or had already),
 * 0 if there is no guest frame to return to. Async-signal-safe.
 */
int tether__kill_hijack_arm(struct tether_thread *t, tether_fiber *f, const void *uc);

/* Called by tether__kill_hijack, on the fiber (see the .S file). */
void tether__kill_hijacked(void);

#endif

/*
 * A guarded call in progress on the caller's stack (guarded_call.c and
 * asm/call_x86_64_sysv_elf.S). The offsets are shared with the assembly.
 */
#ifndef TETHER_CALL_FRAME_H
#define TETHER_CALL_FRAME_H

#define CF_SP 0  /* rsp inside tether__call_run, where a fault comes back to */
#define CF_RET 8 /* what fn returned */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <tether/fault.h>

struct tether_fiber;

struct tether_call_frame {
    void *sp;                         /* CF_SP */
    void *ret;                        /* CF_RET */
    struct tether_call_frame *prev;   /* the guarded call this one runs in, or NULL */
    struct tether_call_frame **head;  /* where the innermost is kept: the thread's or the fiber's */
    int host_depth;                   /* the fiber's host-call brackets at the call */
    tether_fault *fault;              /* where a fault's record goes, or NULL */
};

_Static_assert(offsetof(struct tether_call_frame, sp) == CF_SP, "CF_SP");
_Static_assert(offsetof(struct tether_call_frame, ret) == CF_RET, "CF_RET");

/* Calls fn(arg) with cf recorded; returns 0, or -EFAULT through tether__call_escape. */
int tether__call_run(void *(*fn)(void *), void *arg, struct tether_call_frame *cf);

/* Where a fault inside fn is sent, with rsp = cf->sp: returns -EFAULT from tether__call_run. */
void tether__call_escape(void);
#endif

#endif

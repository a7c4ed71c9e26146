/*
 * A guarded call in progress on the caller's stack (guarded_call.c and
 * asm/call_x86_64_sysv_elf.S). The offsets are shared with the assembly.
 */
#ifndef TETHER_CALL_FRAME_H
#define TETHER_CALL_FRAME_H

#define CF_SP 0   /* rsp inside tether__call_run, where a fault comes back to */
#define CF_RET 8  /* what fn returned */
#define CF_CTL 16 /* the caller's MXCSR (4 bytes) and x87 control word (2 bytes) */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#include <tether/fault.h>

struct tether_fiber;

struct tether_call_frame {
    void *sp;                         /* CF_SP; the word there holds this frame's address */
    void *ret;                        /* CF_RET */
    uint32_t mxcsr;                   /* CF_CTL */
    uint16_t x87_cw;
    unsigned char in_unwind;          /* linked by a cleanup while its fiber was unwound */
    unsigned char crossed;            /* an exception's search found no handler below it */
    struct tether_call_frame *prev;   /* the guarded call this one runs in, or NULL */
    struct tether_call_frame **head;  /* where the innermost is kept: the thread's or the fiber's */
    int host_depth;                   /* the fiber's host-call brackets at the call */
    tether_fault *fault;              /* where a fault's record goes, or NULL */
    void *cxx_caught;                 /* the thread's C++ exception state at the call */
    unsigned int cxx_uncaught;
};

_Static_assert(offsetof(struct tether_call_frame, sp) == CF_SP, "CF_SP");
_Static_assert(offsetof(struct tether_call_frame, ret) == CF_RET, "CF_RET");
_Static_assert(offsetof(struct tether_call_frame, mxcsr) == CF_CTL, "CF_CTL");
_Static_assert(offsetof(struct tether_call_frame, x87_cw) == CF_CTL + 4, "CF_CTL");

/* Calls fn(arg) with cf recorded; returns 0, or -EFAULT through tether__call_escape. */
int tether__call_run(void *(*fn)(void *), void *arg, struct tether_call_frame *cf);

/* Where a fault inside fn is sent, with rsp = cf->sp: returns -EFAULT from tether__call_run. */
void tether__call_escape(void);
#endif

#endif

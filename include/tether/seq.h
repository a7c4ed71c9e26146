/*
 * Exceptional sequences: ranges of instructions with their own response
 * to an event that happens while the pc is inside them.
 *
 * A sequence is a range [start, end) of instruction addresses, an event
 * and what to do when that event hits an instruction in the range:
 *
 *   TETHER_SEQ_FAULT      a fault raised by an instruction in the range
 *                         (SIGSEGV, SIGBUS, SIGILL, SIGFPE from the kernel).
 *                         TETHER_SEQ_RESPONSE only: the thread continues at
 *                         the response address (the "fixup"), with every
 *                         register as it was at the fault but the pc.
 *                         The fixup reads what happened with
 *                         tether_seq_last_fault(). Like the Linux kernel's
 *                         exception tables: nothing runs on entry.
 *   TETHER_SEQ_INTERRUPT  one of tether's own kill signals (a kill switch,
 *                         a deadline, a retry of either) lands in the range:
 *       TETHER_SEQ_RESTART   the pc goes back to start (the sequence must be
 *                            idempotent); a kill then acts as if the signal
 *                            had landed at start.
 *       TETHER_SEQ_DEFER     the kill does not act inside: the sequence runs
 *                            to its end; the kill acts at the next retry of
 *                            the signal (50 us later, then doubling up to
 *                            1 ms) or at the fiber's next call into tether.
 *       TETHER_SEQ_RESPONSE  the thread continues at the response address;
 *                            the kill does not act at that signal but stays
 *                            pending (next retry, next call into tether).
 *                            The response is ordinary code, which the next
 *                            retry may stop like any other (even at its
 *                            first instruction, if the thread was not
 *                            scheduled meanwhile): declare it a DEFER range
 *                            of its own to have it run whole.
 *   TETHER_SEQ_PREEMPT    the thread is preempted, migrated to another CPU,
 *                         or gets any signal, inside the range: Linux's
 *                         restartable sequences (rseq). The kernel moves
 *                         the pc to the restart point (TETHER_SEQ_RESTART)
 *                         or to the response address (TETHER_SEQ_RESPONSE).
 *                         Needs the thread's rseq area registered with the
 *                         kernel (glibc 2.35+ does it for every thread,
 *                         unless GLIBC_TUNABLES=glibc.pthread.rseq=0 or the
 *                         kernel is older than 4.18): see
 *                         tether_seq_rseq_available(). Without it the
 *                         sequence runs unprotected, as plain code.
 *
 * Cost. FAULT and INTERRUPT sequences cost nothing to enter or leave: no
 * instruction is added to them; the tables are read only when a fault
 * or a kill signal arrives. A PREEMPT sequence costs one store on entry
 * (the address of its rseq descriptor into the thread's rseq area, after
 * a lea), because the kernel only looks where that pointer says.
 *
 * Tables. Sequences are declared with the macros below, from C (strings
 * to put in an extended asm statement) or from assembly (.S files that
 * include this header). Each declaration is a 16-byte tether_seq_record
 * in the ELF section "tether_seq" of the object (program or shared
 * library) that holds the code; the first declaration in an object also
 * emits, once per object (a COMDAT group, hidden symbols), a constructor
 * and a destructor that register that object's records with
 * tether_seq_register_section() when it is loaded (program start,
 * dlopen) and remove them when it is unloaded (exit, dlclose).
 * Registering an object's table installs tether's signal handlers, if
 * they are not installed yet. Code generated at run time registers its
 * ranges with tether_seq_register() and removes them with
 * tether_seq_unregister() before the code goes away.
 *
 * Overlaps. Ranges of different events may overlap or nest freely. Two
 * ranges of the same event may not share an address: a registration
 * that would make them (within its own ranges or with one registered
 * before) fails with -EEXIST and registers nothing.
 *
 * Order. A fault is offered to the FAULT sequences before anything else
 * in tether (the fault-handler chain, a fiber's fault, chaining to the
 * handler installed before tether). A fault inside an INTERRUPT DEFER
 * sequence (without a FAULT response) is never taken as the running
 * fiber's fault: the fiber cannot be stopped half-way through a sequence
 * that must run to its end; it goes on to the handlers after tether's
 * (a stack overflow is still the fiber's). tether's own context switches
 * are declared this way.
 *
 * Signal safety. Lookups run in the signal handler without locks or
 * allocation, in O(log n) for n registered ranges of the event.
 * Registration and removal may run on any thread while other threads
 * fault; they are not for signal handlers. Removal waits until no
 * handler can still be reading the ranges removed.
 */
#ifndef TETHER_SEQ_H
#define TETHER_SEQ_H

/* The numbers shared with assembly. */
#define TETHER__SEQ_FAULT 1
#define TETHER__SEQ_INTERRUPT 2
#define TETHER__SEQ_PREEMPT 3
#define TETHER__SEQ_RESPONSE 1
#define TETHER__SEQ_RESTART 2
#define TETHER__SEQ_DEFER 3

/* The rseq signature glibc registers on x86 (RSEQ_SIG), and where the
   rseq_cs pointer lies in struct rseq. */
#define TETHER__SEQ_RSEQ_SIG 0x53053053
#define TETHER__SEQ_RSEQ_CS_OFFSET 8

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>
#include <tether/common.h>

TETHER_BEGIN_DECLS

/* The event a sequence responds to. */
typedef enum tether_seq_event {
    TETHER_SEQ_FAULT = TETHER__SEQ_FAULT,
    TETHER_SEQ_INTERRUPT = TETHER__SEQ_INTERRUPT,
    TETHER_SEQ_PREEMPT = TETHER__SEQ_PREEMPT
} tether_seq_event;

/* What happens then (see above for which event takes which). */
typedef enum tether_seq_action {
    TETHER_SEQ_RESPONSE = TETHER__SEQ_RESPONSE, /* continue at the response address */
    TETHER_SEQ_RESTART = TETHER__SEQ_RESTART,   /* continue at start: INTERRUPT, PREEMPT */
    TETHER_SEQ_DEFER = TETHER__SEQ_DEFER        /* INTERRUPT only: act after the end */
} tether_seq_action;

/*
 * A range as code generated at run time declares it, with absolute
 * addresses. response: the fixup (FAULT) or response address (RESPONSE);
 * NULL for RESTART and DEFER. For PREEMPT, start is the restart point
 * (where the sequence arms its rseq descriptor) and the range is only
 * recorded: the kernel reads the descriptor, not this table. An array
 * element: its layout is fixed (see tether/common.h).
 */
typedef struct tether_seq_range {
    const void *start;
    const void *end;
    const void *response;
    tether_seq_event event;
    tether_seq_action action;
} tether_seq_range;

/*
 * A declaration as it lies in an object's "tether_seq" section: 16
 * bytes, 4-aligned, every address stored as its distance from the field
 * that holds it, so the section needs no relocation when it is loaded.
 */
typedef struct tether_seq_record {
    int32_t start;    /* start - &start */
    int32_t end;      /* end - &end */
    int32_t response; /* response - &response; 0: none */
    uint8_t event;    /* a tether_seq_event */
    uint8_t action;   /* a tether_seq_action */
    uint16_t reserved; /* 0 */
} tether_seq_record;

/* A registered table of ranges from tether_seq_register(). */
typedef struct tether_seq_table tether_seq_table;

/*
 * Registers n ranges (copied): code generated at run time. Stores a
 * handle in *out for tether_seq_unregister(). Returns 0, or:
 *   -EINVAL  out or ranges is NULL (with n > 0), n is 0, a range is
 *            empty (start >= end), an event or action is unknown or not
 *            allowed for its event, a response is missing or given where
 *            none is taken
 *   -EEXIST  two ranges of one event would overlap (see above)
 *   -ENOMEM  no memory
 *   -EAGAIN  tether's signal handlers could not be installed
 * Not async-signal-safe.
 */
TETHER_API int tether_seq_register(const tether_seq_range *ranges, size_t n,
                                   tether_seq_table **out);

/*
 * Removes a table registered by tether_seq_register() and frees the
 * handle; when it returns, no signal handler uses its ranges any more,
 * and the code may be freed. Returns 0, or -EINVAL for NULL or a handle
 * that is not registered. Not async-signal-safe.
 */
TETHER_API int tether_seq_unregister(tether_seq_table *t);

/*
 * Registers the records in [start, stop): an object's "tether_seq"
 * section, as the constructor the macros emit does (and installs
 * tether's signal handlers). Registering the same start again counts a
 * reference. Returns 0 (also for an empty section), or the errors of
 * tether_seq_register() (-EINVAL also for a record with reserved bits
 * set). A constructor has nobody to return an error to, so an error is
 * also written to stderr, one line (a programming error, such as
 * overlapping ranges): the object then runs without its sequences.
 */
TETHER_API int tether_seq_register_section(const tether_seq_record *start,
                                           const tether_seq_record *stop);

/*
 * Drops a reference to the section registered at start; the last one
 * removes it, as tether_seq_unregister() does. Returns 0, or -ENOENT if
 * no section is registered there.
 */
TETHER_API int tether_seq_unregister_section(const tether_seq_record *start);

/*
 * The registered range of `event` that holds pc: returns 0 and fills
 * *out (which may be NULL), or -ENOENT, or -EINVAL for an unknown event.
 * Async-signal-safe.
 */
TETHER_API int tether_seq_lookup(const void *pc, tether_seq_event event,
                                 tether_seq_range *out);

/*
 * What a FAULT sequence's fixup learns about the fault. The library keeps
 * it: later fields are added at its end (see tether/common.h).
 */
typedef struct tether_seq_fault {
    int signo;     /* SIGSEGV, SIGBUS, SIGILL or SIGFPE */
    int code;      /* its si_code (SEGV_MAPERR, SEGV_ACCERR, FPE_INTDIV, ...) */
    void *addr;    /* si_addr: the address touched (ILL, FPE: the instruction) */
    void *pc;      /* the faulting instruction */
    void *sp;      /* the stack pointer at the fault */
    void *fixup;   /* where the thread continued */
    unsigned long count; /* faults fixed up on this thread so far */
} tether_seq_fault;

/*
 * The calling thread's last fault that a FAULT sequence took: valid for
 * the thread's life, rewritten by its next one (a probe's included, and
 * one in a signal handler that interrupts the fixup before it reads
 * this). All zero before the first. Async-signal-safe.
 */
TETHER_API const tether_seq_fault *tether_seq_last_fault(void);

/*
 * Does the calling thread have an rseq area registered with the kernel,
 * so that PREEMPT sequences are protected? 1 or 0. Without it (a kernel
 * before 4.18, glibc before 2.35, GLIBC_TUNABLES=glibc.pthread.rseq=0)
 * PREEMPT sequences run as plain code: never restarted. Async-signal-safe.
 */
TETHER_API int tether_seq_rseq_available(void);

/*
 * Installs tether's signal handlers now, if they are not yet (they are
 * installed by the first fiber, the first table registered, the first
 * probe). Call it before a signal handler makes the first probe of the
 * process. Returns 0 or -EAGAIN.
 */
TETHER_API int tether_seq_install(void);

TETHER_END_DECLS

/*
 * Declaring sequences from C: each macro is a string to put in the text
 * of an extended asm statement (one with a colon: "%%" stands for "%"),
 * after the instructions it names. The arguments are strings naming
 * labels of that asm: local labels ("1b", "2f") or asm goto labels
 * ("%l[fail]"). AT&T syntax (the default; not -masm=intel). Example: a
 * load that fails instead of crashing:
 *
 *     static int load(const int *p, int *v)
 *     {
 *         __asm__ goto("1: movl (%[p]), %%eax\n\t"
 *                      "movl %%eax, (%[v])\n"
 *                      "2:\n\t"
 *                      TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[efault]")
 *                      : : [p] "r"(p), [v] "r"(v) : "rax", "memory"
 *                      : efault);
 *         return 0;
 *     efault:
 *         return -EFAULT;  // tether_seq_last_fault() says what happened
 *     }
 *
 * What the compiler must know: every register the range may leave
 * changed when the fixup or response runs is an output or a clobber, as
 * for any asm. A fixup or response outside the asm (an asm goto label)
 * runs with the registers as the compiler expects them at that label.
 * The records go into the section group of the function's own section
 * ("?"), so that a copy of an inline function the linker discards takes
 * its records with it; code of the sequence's own in another section
 * (an out-of-line fixup) must use "ax?" for the same reason.
 */
#define TETHER__SEQ_STR2(x) #x
#define TETHER__SEQ_STR(x) TETHER__SEQ_STR2(x)

/* The per-object constructor and destructor, once per object (see above). */
#define TETHER__SEQ_ASM_CTOR                                                        \
    ".ifndef tether__seq_object_ctor\n"                                            \
    ".pushsection .text.tether__seq_object_ctor,\"axG\",@progbits,"                \
    "tether__seq_object_ctor,comdat\n"                                             \
    ".weak tether__seq_object_ctor\n"                                              \
    ".hidden tether__seq_object_ctor\n"                                            \
    ".type tether__seq_object_ctor,@function\n"                                    \
    "tether__seq_object_ctor:\n\t"                                                 \
    "leaq __start_tether_seq(%%rip), %%rdi\n\t"                                    \
    "leaq __stop_tether_seq(%%rip), %%rsi\n\t"                                     \
    "jmp tether_seq_register_section@PLT\n"                                        \
    ".size tether__seq_object_ctor, .-tether__seq_object_ctor\n"                   \
    ".weak tether__seq_object_dtor\n"                                              \
    ".hidden tether__seq_object_dtor\n"                                            \
    ".type tether__seq_object_dtor,@function\n"                                    \
    "tether__seq_object_dtor:\n\t"                                                 \
    "leaq __start_tether_seq(%%rip), %%rdi\n\t"                                    \
    "jmp tether_seq_unregister_section@PLT\n"                                      \
    ".size tether__seq_object_dtor, .-tether__seq_object_dtor\n"                   \
    ".pushsection .init_array,\"awG\",@init_array,tether__seq_object_ctor,comdat\n" \
    ".balign 8\n.quad tether__seq_object_ctor\n.popsection\n"                      \
    ".pushsection .fini_array,\"awG\",@fini_array,tether__seq_object_ctor,comdat\n" \
    ".balign 8\n.quad tether__seq_object_dtor\n.popsection\n"                      \
    ".hidden __start_tether_seq\n"                                                 \
    ".hidden __stop_tether_seq\n"                                                  \
    ".popsection\n"                                                                \
    ".endif\n"

#ifdef TETHER_SEQ_NO_CONSTRUCTOR
#undef TETHER__SEQ_ASM_CTOR
#define TETHER__SEQ_ASM_CTOR ""
#endif

/* One record: strings for the labels, numbers for event and action. */
#define TETHER__SEQ_ASM_RECORD(start, end, response, event, action)              \
    ".pushsection tether_seq,\"a?\"\n"                                             \
    ".balign 4\n"                                                                  \
    ".long (" start ") - .\n"                                                      \
    ".long (" end ") - .\n"                                                        \
    ".long " response "\n"                                                         \
    ".byte " TETHER__SEQ_STR(event) ", " TETHER__SEQ_STR(action) "\n"              \
    ".short 0\n"                                                                   \
    ".popsection\n" TETHER__SEQ_ASM_CTOR

/* A fault in [start, end) continues at fixup. */
#define TETHER_SEQ_ASM_FAULT(start, end, fixup)                                     \
    TETHER__SEQ_ASM_RECORD(start, end, "(" fixup ") - .", TETHER__SEQ_FAULT,        \
                           TETHER__SEQ_RESPONSE)

/* A kill signal in [start, end) sends the pc back to start. */
#define TETHER_SEQ_ASM_INTERRUPT_RESTART(start, end)                                \
    TETHER__SEQ_ASM_RECORD(start, end, "0", TETHER__SEQ_INTERRUPT, TETHER__SEQ_RESTART)

/* A kill does not act in [start, end). */
#define TETHER_SEQ_ASM_INTERRUPT_DEFER(start, end)                                  \
    TETHER__SEQ_ASM_RECORD(start, end, "0", TETHER__SEQ_INTERRUPT, TETHER__SEQ_DEFER)

/* A kill signal in [start, end) continues at response; the kill stays pending. */
#define TETHER_SEQ_ASM_INTERRUPT_RESPONSE(start, end, response)                     \
    TETHER__SEQ_ASM_RECORD(start, end, "(" response ") - .", TETHER__SEQ_INTERRUPT, \
                           TETHER__SEQ_RESPONSE)

/*
 * PREEMPT sequences from C: one asm statement that starts with
 * TETHER_SEQ_ASM_RSEQ_BEGIN and ends with one of the _END macros, with
 * the body in between. The body's last instruction commits (a store):
 * the kernel may restart the sequence before it, never after. The body
 * may not make system calls nor change the operands BEGIN uses.
 *
 *   off  an input operand holding glibc's __rseq_offset (<sys/rseq.h>),
 *        in a register: [off] "r"(__rseq_offset), written "%[off]"
 *   tmp  a scratch register operand: [tmp] "=&r"(scratch), "%[tmp]"
 *
 * BEGIN lays down the restart point (after a 7-byte no-op that carries
 * the signature the kernel checks before an abort address), then the
 * one store that arms the sequence: a lea of its descriptor into tmp
 * and a store to the thread's rseq area. The labels are the asm's own
 * (%=), so several sequences may live in one function.
 *
 *     long tmp;
 *     __asm__ volatile(TETHER_SEQ_ASM_RSEQ_BEGIN("%[off]", "%[tmp]")
 *                      "movl %%fs:4(%[off]), %%eax\n\t"   // cpu_id
 *                      ...
 *                      "movq %%rcx, (%[slot])\n\t"        // commit
 *                      TETHER_SEQ_ASM_RSEQ_END_RESTART
 *                      : [tmp] "=&r"(tmp) : [off] "r"(__rseq_offset), ...
 *                      : "rax", "rcx", "memory");
 */
#define TETHER_SEQ_ASM_RSEQ_SIGNATURE                                               \
    ".byte 0x0f, 0x1f, 0x05\n.long " TETHER__SEQ_STR(TETHER__SEQ_RSEQ_SIG) "\n"

#define TETHER_SEQ_ASM_RSEQ_BEGIN(off, tmp)                                         \
    TETHER_SEQ_ASM_RSEQ_SIGNATURE                                                  \
    ".Ltether_rseq_restart%=:\n\t"                                                 \
    "leaq .Ltether_rseq_cs%=(%%rip), " tmp "\n\t"                                  \
    "movq " tmp ", %%fs:" TETHER__SEQ_STR(TETHER__SEQ_RSEQ_CS_OFFSET) "(" off ")\n" \
    ".Ltether_rseq_start%=:\n\t"

/* The rseq_cs descriptor the kernel reads: version, flags, start, length, abort. */
#define TETHER__SEQ_ASM_RSEQ_CS(abort)                                              \
    ".pushsection .data.rel.ro.tether_rseq_cs,\"aw?\"\n"                           \
    ".balign 32\n"                                                                 \
    ".Ltether_rseq_cs%=:\n"                                                        \
    ".long 0, 0\n"                                                                 \
    ".quad .Ltether_rseq_start%=\n"                                                \
    ".quad .Ltether_rseq_end%= - .Ltether_rseq_start%=\n"                          \
    ".quad " abort "\n"                                                            \
    ".popsection\n"

/* Ends the sequence: preempted inside, it starts again from BEGIN. */
#define TETHER_SEQ_ASM_RSEQ_END_RESTART                                             \
    "\n.Ltether_rseq_end%=:\n"                                                     \
    TETHER__SEQ_ASM_RSEQ_CS(".Ltether_rseq_restart%=")                             \
    TETHER__SEQ_ASM_RECORD(".Ltether_rseq_restart%=", ".Ltether_rseq_end%=", "0",  \
                           TETHER__SEQ_PREEMPT, TETHER__SEQ_RESTART)

/*
 * Ends the sequence: preempted inside, it continues at response, a label
 * that must come right after a TETHER_SEQ_ASM_RSEQ_SIGNATURE (the kernel
 * refuses an abort address without it, and kills the thread).
 */
#define TETHER_SEQ_ASM_RSEQ_END_RESPONSE(response)                                  \
    "\n.Ltether_rseq_end%=:\n"                                                     \
    TETHER__SEQ_ASM_RSEQ_CS(response)                                              \
    TETHER__SEQ_ASM_RECORD(".Ltether_rseq_restart%=", ".Ltether_rseq_end%=",       \
                           "(" response ") - .", TETHER__SEQ_PREEMPT,              \
                           TETHER__SEQ_RESPONSE)

#else /* __ASSEMBLER__ */

/*
 * Declaring sequences from assembly (.S files that include this header):
 * the same declarations as assembler macros, whose arguments are labels
 * or expressions.
 *
 *     1:  movq (%rsi), %rax
 *     2:  ret
 *     3:  movq $-14, %rax
 *         ret
 *         TETHER_SEQ_FAULT 1b, 2b, 3b
 */
        .macro TETHER__SEQ_CTOR
        .ifndef tether__seq_object_ctor
        .pushsection .text.tether__seq_object_ctor,"axG",@progbits,tether__seq_object_ctor,comdat
        .weak   tether__seq_object_ctor
        .hidden tether__seq_object_ctor
        .type   tether__seq_object_ctor,@function
tether__seq_object_ctor:
        leaq    __start_tether_seq(%rip), %rdi
        leaq    __stop_tether_seq(%rip), %rsi
        jmp     tether_seq_register_section@PLT
        .size   tether__seq_object_ctor, .-tether__seq_object_ctor
        .weak   tether__seq_object_dtor
        .hidden tether__seq_object_dtor
        .type   tether__seq_object_dtor,@function
tether__seq_object_dtor:
        leaq    __start_tether_seq(%rip), %rdi
        jmp     tether_seq_unregister_section@PLT
        .size   tether__seq_object_dtor, .-tether__seq_object_dtor
        .pushsection .init_array,"awG",@init_array,tether__seq_object_ctor,comdat
        .balign 8
        .quad   tether__seq_object_ctor
        .popsection
        .pushsection .fini_array,"awG",@fini_array,tether__seq_object_ctor,comdat
        .balign 8
        .quad   tether__seq_object_dtor
        .popsection
        .hidden __start_tether_seq
        .hidden __stop_tether_seq
        .popsection
        .endif
        .endm

        .macro TETHER__SEQ_RECORD start, end, event, action
        .pushsection tether_seq,"a?"
        .balign 4
        .long   (\start) - .
        .long   (\end) - .
        .long   0
        .byte   \event, \action
        .short  0
        .popsection
#ifndef TETHER_SEQ_NO_CONSTRUCTOR
        TETHER__SEQ_CTOR
#endif
        .endm

        .macro TETHER__SEQ_RECORD_TO start, end, response, event, action
        .pushsection tether_seq,"a?"
        .balign 4
        .long   (\start) - .
        .long   (\end) - .
        .long   (\response) - .
        .byte   \event, \action
        .short  0
        .popsection
#ifndef TETHER_SEQ_NO_CONSTRUCTOR
        TETHER__SEQ_CTOR
#endif
        .endm

        /* A fault in [start, end) continues at fixup. */
        .macro TETHER_SEQ_FAULT start, end, fixup
        TETHER__SEQ_RECORD_TO \start, \end, \fixup, TETHER__SEQ_FAULT, TETHER__SEQ_RESPONSE
        .endm

        /* A kill signal in [start, end) sends the pc back to start. */
        .macro TETHER_SEQ_INTERRUPT_RESTART start, end
        TETHER__SEQ_RECORD \start, \end, TETHER__SEQ_INTERRUPT, TETHER__SEQ_RESTART
        .endm

        /* A kill does not act in [start, end). */
        .macro TETHER_SEQ_INTERRUPT_DEFER start, end
        TETHER__SEQ_RECORD \start, \end, TETHER__SEQ_INTERRUPT, TETHER__SEQ_DEFER
        .endm

        /* A kill signal in [start, end) continues at response, still pending. */
        .macro TETHER_SEQ_INTERRUPT_RESPONSE start, end, response
        TETHER__SEQ_RECORD_TO \start, \end, \response, TETHER__SEQ_INTERRUPT, TETHER__SEQ_RESPONSE
        .endm

        /*
         * PREEMPT sequences (see the C macros above for the rules). The
         * signature goes right before the restart point or the response
         * label; ARM is the one store (desc: the descriptor's label, off:
         * a register holding __rseq_offset, tmp: a scratch register);
         * the descriptor names the labels:
         *
         *         TETHER_SEQ_RSEQ_SIGNATURE
         *     1:  movq    __rseq_offset@GOTPCREL(%rip), %rax
         *         movq    (%rax), %rax
         *         TETHER_SEQ_RSEQ_ARM 5f, %rax, %rcx
         *     2:  ...body, ending with the commit store...
         *     3:
         *         TETHER_SEQ_PREEMPT_RESTART 5, 1b, 2b, 3b
         *
         * (desc is a label number or name that the macro defines.)
         */
        .macro TETHER_SEQ_RSEQ_SIGNATURE
        .byte   0x0f, 0x1f, 0x05        /* nopl disp32(%rip): harmless if run */
        .long   TETHER__SEQ_RSEQ_SIG    /* the disp32, read by the kernel */
        .endm

        .macro TETHER_SEQ_RSEQ_ARM desc, off, tmp
        leaq    \desc(%rip), \tmp
        movq    \tmp, %fs:TETHER__SEQ_RSEQ_CS_OFFSET(\off)
        .endm

        .macro TETHER__SEQ_RSEQ_CS desc, start, end, abort
        .pushsection .data.rel.ro.tether_rseq_cs,"aw?"
        .balign 32
\desc:
        .long   0, 0                    /* version, flags */
        .quad   \start                  /* start_ip: after the arming store */
        .quad   (\end) - (\start)       /* post_commit_offset */
        .quad   \abort                  /* abort_ip, after a signature */
        .popsection
        .endm

        /* restart: the restart point, before ARM; start: after ARM. */
        .macro TETHER_SEQ_PREEMPT_RESTART desc, restart, start, end
        TETHER__SEQ_RSEQ_CS \desc, \start, \end, \restart
        TETHER__SEQ_RECORD \restart, \end, TETHER__SEQ_PREEMPT, TETHER__SEQ_RESTART
        .endm

        .macro TETHER_SEQ_PREEMPT_RESPONSE desc, restart, start, end, response
        TETHER__SEQ_RSEQ_CS \desc, \start, \end, \response
        TETHER__SEQ_RECORD_TO \restart, \end, \response, TETHER__SEQ_PREEMPT, TETHER__SEQ_RESPONSE
        .endm

#endif /* __ASSEMBLER__ */

#endif

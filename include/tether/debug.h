/*
 * For debuggers: where tether keeps its fibers and how to read them, so
 * that a debugger can list every fiber and show the backtrace of one that
 * is suspended or dead, from memory alone (a live process or a core
 * file), without calling into the program. tools/gdb/tether-gdb.py reads
 * it; programs have no use for it.
 *
 * Every fiber lives in a stack slot carved from a reservation ("chunk").
 * The chunks form a list from *chunks; slot i of a chunk starts at
 * base + i * slot_size, for i < carved. A slot's fiber object ends at the
 * slot's end (fiber_from_slot_end bytes before it), and is a live fiber
 * when the 64-bit word at fiber_magic equals fiber_magic_value. All
 * offsets are in bytes from the start of their object; all fields are
 * native-endian, pointers and sizes 8 bytes on x86_64.
 *
 * A suspended fiber (yielded, or ended at a checkpoint) keeps its stack
 * pointer at fiber_sp; it points at a block of saved_size bytes holding
 * the callee-saved registers and the resume address (saved_* offsets);
 * the fiber's frames continue at block + saved_size; frame_suspended
 * (below) reads it the way frame_signal reads a register block. A fiber stopped by a
 * signal (a fault, a kill) keeps its registers at fiber_regs instead
 * (fiber_stopped_by_signal nonzero), in tether_reg order (tether/fault.h),
 * the pc exact. frame_signal is the address of a stub whose unwind
 * information reads such a register block through rbx: a debugger that
 * makes a frame with pc = frame_signal + 1 and rbx = the block's address
 * has the stopped frame as that frame's caller, with the pc taken as
 * exact. A fiber's frames end at its bottom frame, whose code lies in
 * [trampoline, trampoline_end).
 *
 * version grows when a field changes meaning; fields are only ever added
 * at the end (size says how many there are).
 */
#ifndef TETHER_DEBUG_H
#define TETHER_DEBUG_H

#include <stdint.h>
#include <tether/common.h>

TETHER_BEGIN_DECLS

struct tether_debug_info {
    uint32_t version;            /* 1 */
    uint32_t size;               /* sizeof(struct tether_debug_info) */
    const void *chunks;          /* the address of the list's head pointer */
    uint32_t chunk_next, chunk_base, chunk_slot_size, chunk_carved;
    uint32_t fiber_from_slot_end;
    uint32_t fiber_magic;
    uint64_t fiber_magic_value;
    uint32_t fiber_state;        /* 8 bytes: a tether_state, and the running thread's id above */
    uint32_t fiber_id;           /* 8 bytes, never reused */
    uint32_t fiber_fn, fiber_arg, fiber_user_data;
    uint32_t fiber_has_frames;   /* 1 byte */
    uint32_t fiber_stopped_by_signal; /* 1 byte */
    uint32_t fiber_sp;
    uint32_t fiber_regs;         /* TETHER_NREGS x 8 bytes */
    uint32_t fiber_fault;        /* a tether_fault (tether/fault.h) */
    uint32_t fiber_parent;       /* the fiber hosting it while it runs, or 0 */
    uint32_t fiber_name;         /* a NUL-terminated name (TETHER_FIBER_NAME_MAX + 1 bytes at most), or UINT32_MAX if fibers have none */
    uint32_t saved_size;         /* the suspended block */
    uint32_t saved_rip, saved_rbp, saved_rbx, saved_r12, saved_r13, saved_r14, saved_r15;
    const void *frame_signal;
    const void *trampoline, *trampoline_end;
    /*
     * A stub whose unwind information reads a suspended fiber's saved
     * block through rbx: a frame with pc = frame_suspended + 1 and rbx =
     * the block has the suspended frame as its caller (pc exact, inside
     * the call that suspended it).
     */
    const void *frame_suspended;
};

TETHER_API extern const struct tether_debug_info tether_debug_info;

TETHER_END_DECLS

#endif

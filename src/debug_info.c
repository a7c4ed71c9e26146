/*
 * The description of tether's fibers that debuggers read (tether/debug.h,
 * tools/gdb/tether-gdb.py): where the chunks are, and the offsets of what
 * they need in each object. Data only; nothing here runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <tether/debug.h>

#include "arch.h"
#include "fiber_impl.h"
#include "stack.h"

#define OFF(type, field) ((uint32_t)offsetof(type, field))

/* The suspended block (asm/x86_64_sysv_elf.S): +56 rip, +48 rbp, +40 rbx, +32 r12 ... +8 r15. */
const struct tether_debug_info tether_debug_info = {
    .version = 1,
    .size = sizeof(struct tether_debug_info),
    .chunks = &tether__chunks,
    .chunk_next = OFF(struct tether_chunk, next),
    .chunk_base = OFF(struct tether_chunk, base),
    .chunk_slot_size = OFF(struct tether_chunk, slot_size),
    .chunk_carved = OFF(struct tether_chunk, carved),
    .fiber_from_slot_end = (sizeof(tether_fiber) + 63) & ~(size_t)63,
    .fiber_magic = OFF(tether_fiber, magic),
    .fiber_magic_value = TETHER_FIBER_MAGIC,
    .fiber_state = OFF(tether_fiber, claim.state),
    .fiber_id = OFF(tether_fiber, id),
    .fiber_fn = OFF(tether_fiber, fn),
    .fiber_arg = OFF(tether_fiber, arg),
    .fiber_user_data = OFF(tether_fiber, user_data),
    .fiber_has_frames = OFF(tether_fiber, has_frames),
    .fiber_stopped_by_signal = OFF(tether_fiber, stopped_by_signal),
    .fiber_sp = OFF(tether_fiber, sp),
    .fiber_regs = OFF(tether_fiber, dead_regs),
    .fiber_fault = OFF(tether_fiber, fault),
    .fiber_parent = OFF(tether_fiber, parent),
    .fiber_name = OFF(tether_fiber, name),
    .saved_size = 64,
    .saved_rip = 56,
    .saved_rbp = 48,
    .saved_rbx = 40,
    .saved_r12 = 32,
    .saved_r13 = 24,
    .saved_r14 = 16,
    .saved_r15 = 8,
    .frame_signal = (const void *)tether__frame_signal,
    .trampoline = (const void *)tether__fiber_trampoline,
    .trampoline_end = (const void *)tether__fiber_trampoline_end,
    .frame_suspended = (const void *)tether__frame_suspended,
};

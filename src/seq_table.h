/*
 * The registered sequences (seq_table.c): what the signal clients
 * (seq_signal.c) and the layers that ask about interrupt behaviour
 * (kill.c, fault.c) look up. The public side is tether/seq.h.
 */
#ifndef TETHER_SEQ_TABLE_H
#define TETHER_SEQ_TABLE_H

#include <stdint.h>
#include <tether/seq.h>

/* One range, decoded: absolute addresses. */
struct tether_seq_entry {
    uintptr_t start, end;
    uintptr_t response;  /* 0 for RESTART and DEFER */
    uint8_t event;       /* tether_seq_event */
    uint8_t action;      /* tether_seq_action */
    const void *owner;   /* the table it came from */
};

/*
 * The range of `event` holding pc: 1 and a copy in *out, or 0.
 * Async-signal-safe: no lock, no allocation, O(log n).
 */
int tether__seq_find(uintptr_t pc, int event, struct tether_seq_entry *out);

/*
 * Does a kill signal landing at pc have to wait (an INTERRUPT DEFER
 * range holds it)? Async-signal-safe.
 */
int tether__seq_defers(uintptr_t pc);

/*
 * The public registration functions (tether/seq.h) without the host-call
 * bracket that seq_api.c puts around them for callers on a fiber.
 */
int tether__seq_register(const tether_seq_range *ranges, size_t n, tether_seq_table **out);
int tether__seq_unregister(tether_seq_table *t);
int tether__seq_register_section(const tether_seq_record *start, const tether_seq_record *stop);
int tether__seq_unregister_section(const tether_seq_record *start);

#endif

/*
 * The sequences' client of the signal layer (seq_signal.c), and what it
 * tells the kill client about the kill signal being handled.
 */
#ifndef TETHER_SEQ_SIGNAL_H
#define TETHER_SEQ_SIGNAL_H

#include <stdint.h>

/*
 * May the kill signal being handled not act where it landed, at pc? It
 * may not inside an INTERRUPT DEFER range, nor when an INTERRUPT
 * RESPONSE range sent it to its response address (the kill stays
 * pending). Called by the kill client while it handles the signal.
 * Async-signal-safe.
 */
int tether__seq_holds_kill(uintptr_t pc);

/*
 * Makes sure tether's signal handlers are installed (probes check
 * tether__seq_ready first, with one load). Returns 0 or -EAGAIN.
 */
int tether__seq_prepare(void);
extern _Atomic int tether__seq_ready;

#endif

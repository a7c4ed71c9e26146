/*
 * A running fiber stopped from a signal handler (a fault, a kill): its
 * registers are kept for the unwind, and the handler's context is
 * rewritten so that the sigreturn lands in its host (asm/:
 * tether__host_finish), which finishes the stop on its own stack.
 * Async-signal-safe.
 */
#include "arch.h"
#include "fiber_impl.h"
#include "signals.h"

void tether__signal_stop_fiber(tether_fiber *f, void *uc, int stop, void *value)
{
    tether__arch_uc_regs(uc, f->dead_regs);
    f->dead_ctl = tether__arch_uc_ctl(uc);
    f->stopped_by_signal = 1;
    f->stop = stop;
    f->stop_value = value;
    tether__san_stop(&f->san); /* its frames run again only for their cleanups */
    tether__arch_uc_to_host(uc, f->record, f);
    tether__signals_to_host(uc);
}

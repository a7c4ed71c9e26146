/*
 * Sequences at work: a client of the signal layer (signals.h), asked
 * before every other about faults and kill signals.
 *
 *   a fault in a FAULT range      the thread continues at its fixup; the
 *                                 fault is recorded for the fixup to read
 *   a kill in an INTERRUPT range  RESTART: the pc goes back to the start;
 *                                 RESPONSE: the pc goes to the response
 *                                 and the kill may not act at this signal;
 *                                 DEFER: nothing moves and the kill may
 *                                 not act (kill.c asks, below). The signal
 *                                 always goes on to the next clients.
 *
 * Everything here runs in the signal handler: async-signal-safe, no
 * lock, no allocation (the dispatcher keeps errno).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "arch.h"
#include "kill_signal.h"
#include "seq_signal.h"
#include "seq_table.h"
#include "signals.h"

/* The thread's last fault that a FAULT range took (tether_seq_last_fault). */
static __thread tether_seq_fault last_fault __attribute__((tls_model("initial-exec")));

/*
 * Set while one kill signal is handled: it was sent to a RESPONSE. The
 * kill signal does not interrupt its own handler (no SA_NODEFER), and
 * this client runs first for each one, so the flag always belongs to
 * the signal being handled.
 */
static __thread int kill_held __attribute__((tls_model("initial-exec")));

_Atomic int tether__seq_ready;

static int seq_fault(int sig, siginfo_t *info, void *uc)
{
    uintptr_t pc = tether__arch_uc_pc(uc);
    struct tether_seq_entry e;
    tether_seq_fault *r = &last_fault;

    if (!tether__seq_find(pc, TETHER_SEQ_FAULT, &e))
        return 0;
    r->signo = sig;
    r->code = info->si_code;
    r->addr = info->si_addr;
    r->pc = (void *)pc;
    r->sp = (void *)tether__arch_uc_sp(uc);
    r->fixup = (void *)e.response;
    r->count++;
    tether__arch_uc_set_pc(uc, e.response);
    return 1;
}

static int seq_interrupt(siginfo_t *info, void *uc)
{
    uintptr_t pc = tether__arch_uc_pc(uc);
    struct tether_seq_entry e;
    uint64_t id;

    kill_held = 0;
    if (!tether__kill_signal_is_deadline(info) && !tether__kill_signal_id(info, &id))
        return 0; /* not one of tether's: no INTERRUPT event */
    if (!tether__seq_find(pc, TETHER_SEQ_INTERRUPT, &e))
        return 0;
    if (e.action == TETHER_SEQ_RESTART) {
        tether__arch_uc_set_pc(uc, e.start); /* the kill acts (or not) from there */
    } else if (e.action == TETHER_SEQ_RESPONSE) {
        tether__arch_uc_set_pc(uc, e.response);
        kill_held = 1;
    }
    return 0; /* the kill client decides what the kill does */
}

TETHER_SIGNAL_CLIENT(TETHER_SIGNAL_ORDER_SEQUENCE, seq_fault, seq_interrupt);

int tether__seq_holds_kill(uintptr_t pc)
{
    return kill_held || tether__seq_defers(pc);
}

const tether_seq_fault *tether_seq_last_fault(void)
{
    return &last_fault;
}

int tether__seq_prepare(void)
{
    int err = tether__signals_install();

    if (err == 0)
        atomic_store(&tether__seq_ready, 1);
    return err;
}

int tether_seq_install(void)
{
    return tether__seq_prepare();
}

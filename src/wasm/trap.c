/*
 * Traps: how a call that did not return is told to the host. A call
 * ended by a trap (trap_raise.c) hands out its kind's tag; a fault
 * arrives as a FAULTED fiber and is classified here, by its fault
 * record, after the fact.
 */
#include <signal.h>
#include <string.h>

#include "wasm_impl.h"

static int fault_kind(const tether_fault *f)
{
    switch (f->kind) {
    case TETHER_FAULT_STACK_OVERFLOW:
        return TETHER_WASM_TRAP_EXHAUSTION;
    case TETHER_FAULT_SEGV:
    case TETHER_FAULT_BUS:
        return tw__is_memory_addr(f->addr) ? TETHER_WASM_TRAP_OOB_MEMORY
                                           : TETHER_WASM_TRAP_HOST_FAULT;
    case TETHER_FAULT_FPE:
        if (f->code == FPE_INTDIV)
            return TETHER_WASM_TRAP_DIV_BY_ZERO;
        if (f->code == FPE_INTOVF)
            return TETHER_WASM_TRAP_INT_OVERFLOW;
        return TETHER_WASM_TRAP_HOST_FAULT;
    default:
        return TETHER_WASM_TRAP_HOST_FAULT;
    }
}

void tw__trap_record(tether_wasm_instance *I, int state, void *out)
{
    tether_wasm_trap_record *t = &I->trap;
    const char *tag = out;
    int kind;

    t->has_fault = 0;
    if (state == TETHER_FAULTED) {
        /*
         * Classified from the record alone; the backtrace is walked only
         * for a fault that is none of the wasm traps (host code's), where
         * it tells the host where to look.
         */
        memcpy(&t->fault, tether_fiber_fault_brief(I->fiber), sizeof t->fault);
        t->has_fault = 1;
        kind = fault_kind(&t->fault);
        if (kind == TETHER_WASM_TRAP_HOST_FAULT)
            memcpy(&t->fault, tether_fiber_fault(I->fiber), sizeof t->fault);
    } else if (tag >= tw__trap_tags && tag < tw__trap_tags + TW_TRAP_KINDS) {
        kind = (int)(tag - tw__trap_tags);
    } else if (out == TETHER_DEADLINE_EXCEEDED) {
        kind = TETHER_WASM_TRAP_TIMEOUT;
    } else if (out == TETHER_EXCEPTION_ESCAPED) {
        kind = TETHER_WASM_TRAP_HOST_EXCEPTION;
    } else {
        /* tether_terminate() called directly, with details of its own. */
        kind = TETHER_WASM_TRAP_TERMINATED;
        t->details = out;
    }
    if (kind != TETHER_WASM_TRAP_TERMINATED)
        t->details = NULL;
    t->kind = kind;
    t->message = tether_wasm_trap_message(kind);
}

const tether_wasm_trap_record *tether_wasm_trap_info(const tether_wasm_instance *I)
{
    return I ? &I->trap : NULL;
}

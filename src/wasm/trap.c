/*
 * Traps: how a call that did not return is told to the host.
 *
 * Code on the fiber ends a call with tether_terminate(), handing out the
 * address of one byte of tw__trap_tags: the byte's index is the trap's
 * kind. Faults arrive as a FAULTED fiber and are classified here, by
 * their fault record, after the fact.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_impl.h"

#define KINDS (TETHER_WASM_TRAP_HOST_EXCEPTION + 1)

const char tw__trap_tags[KINDS];
const char tw__yield_tag;

static const char *const messages[KINDS] = {
    [TETHER_WASM_TRAP_NONE] = "no trap",
    [TETHER_WASM_TRAP_OOB_MEMORY] = "out of bounds memory access",
    [TETHER_WASM_TRAP_OOB_TABLE] = "out of bounds table access",
    [TETHER_WASM_TRAP_OOB] = "out of bounds memory or table access",
    [TETHER_WASM_TRAP_DIV_BY_ZERO] = "integer divide by zero",
    [TETHER_WASM_TRAP_INT_OVERFLOW] = "integer overflow",
    [TETHER_WASM_TRAP_INVALID_CONVERSION] = "invalid conversion to integer",
    [TETHER_WASM_TRAP_UNREACHABLE] = "unreachable",
    [TETHER_WASM_TRAP_INDIRECT_CALL_TYPE] = "indirect call type mismatch",
    [TETHER_WASM_TRAP_UNDEFINED_ELEMENT] = "undefined element",
    [TETHER_WASM_TRAP_UNINITIALIZED_ELEMENT] = "uninitialized element",
    [TETHER_WASM_TRAP_CALL_INDIRECT] = "invalid indirect call",
    [TETHER_WASM_TRAP_UNCAUGHT_EXCEPTION] = "uncaught exception",
    [TETHER_WASM_TRAP_EXHAUSTION] = "call stack exhausted",
    [TETHER_WASM_TRAP_TIMEOUT] = "interrupt: time limit exceeded",
    [TETHER_WASM_TRAP_INTERRUPT] = "interrupt",
    [TETHER_WASM_TRAP_TERMINATED] = "terminated by a host function",
    [TETHER_WASM_TRAP_MEMORY_LIMIT] = "memory size exceeds the limit",
    [TETHER_WASM_TRAP_HOST_FAULT] = "host fault",
    [TETHER_WASM_TRAP_HOST_EXCEPTION] = "uncaught host exception",
};

const char *tether_wasm_trap_message(int kind)
{
    if (kind < 0 || kind >= KINDS)
        return "unknown trap";
    return messages[kind];
}

_Noreturn void tw__trap_raise(int kind)
{
    tether_terminate((void *)&tw__trap_tags[kind]);
    /* Not on a fiber (or one being unwound): nobody to return to. */
    fprintf(stderr, "wasm trap outside an instance: %s\n",
            tether_wasm_trap_message(kind));
    abort();
}

_Noreturn void tether_wasm_trap(int kind)
{
    if (kind <= TETHER_WASM_TRAP_NONE || kind >= KINDS)
        kind = TETHER_WASM_TRAP_UNREACHABLE;
    tw__trap_raise(kind);
}

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
    } else if (tag >= tw__trap_tags && tag < tw__trap_tags + KINDS) {
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
    t->message = messages[kind];
}

const tether_wasm_trap_record *tether_wasm_trap_info(const tether_wasm_instance *I)
{
    return I ? &I->trap : NULL;
}

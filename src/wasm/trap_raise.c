/*
 * Raising traps: code on an instance's fiber ends its call with
 * tether_terminate(), handing out the address of one byte of
 * tw__trap_tags, whose index is the trap's kind; and each kind's
 * message. How a stopped call is classified as a trap is trap.c's.
 */
#include <stdio.h>
#include <stdlib.h>

#include "wasm_impl.h"

const char tw__trap_tags[TW_TRAP_KINDS];
const char tw__yield_tag;

static const char *const messages[TW_TRAP_KINDS] = {
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
    if (kind < 0 || kind >= TW_TRAP_KINDS)
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
    if (kind <= TETHER_WASM_TRAP_NONE || kind >= TW_TRAP_KINDS)
        kind = TETHER_WASM_TRAP_UNREACHABLE;
    tw__trap_raise(kind);
}

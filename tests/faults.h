/*
 * Real faults for the tests, one function per kind: a NULL dereference,
 * a read past the end of a truncated file mapping (setup_bus() makes
 * it), ud2, an integer division by zero, a runaway recursion. Each test
 * program includes this once; the functions are not static, so that a
 * program linked with -export-dynamic can have them named in reports.
 */
#ifndef TETHER_TEST_FAULTS_H
#define TETHER_TEST_FAULTS_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testlib.h"

volatile int zero = 0;
volatile char *volatile null_ptr = NULL;
volatile char *bus_page; /* a page past the end of an empty file */

OPAQUE int fault_segv(void)
{
    return *null_ptr;
}

OPAQUE int fault_bus(void)
{
    return bus_page[0];
}

OPAQUE int fault_ill(void)
{
    __asm__ volatile("ud2");
    return 0;
}

OPAQUE int fault_fpe(void)
{
    return divide_by_zero() + zero;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion" /* on purpose */
/* Its pad on the real stack under ASan too: the overflow is in this function. */
REAL_STACK_LOCALS OPAQUE unsigned fault_overflow(unsigned n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n == UINT32_MAX) /* never: the guard stops it first */
        return 0;
    return fault_overflow(n + 1) + pad[0];
}
#pragma GCC diagnostic pop

#define KINDS 5 /* a loop test's index + 1 is the tether_fault_kind */

static int (*const faults[])(void) = {
    [TETHER_FAULT_SEGV] = fault_segv,
    [TETHER_FAULT_BUS] = fault_bus,
    [TETHER_FAULT_ILL] = fault_ill,
    [TETHER_FAULT_FPE] = fault_fpe,
};

static inline int expected_signal(int kind)
{
    switch (kind) {
    case TETHER_FAULT_BUS: return SIGBUS;
    case TETHER_FAULT_ILL: return SIGILL;
    case TETHER_FAULT_FPE: return SIGFPE;
    default: return SIGSEGV;
    }
}

/* Maps bus_page: a page of a file that has none, so reading it is SIGBUS. */
static inline void setup_bus(void)
{
    int fd = memfd_create("tether-bus", 0);
    void *p = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("tether-bus mapping");
        exit(EXIT_FAILURE);
    }
    bus_page = p;
    close(fd); /* the mapping keeps the (empty) file */
}

#endif

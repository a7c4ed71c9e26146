/*
 * The floor for a fault that a host survives: a SIGSEGV delivered by
 * the kernel, a handler that moves the saved pc to a recovery point,
 * and sigreturn, which resumes there. This is all any fault-catching
 * runtime must pay; tether does it too, and more (it finds the fiber,
 * records the fault, and lands in the host that resumed the fiber).
 *
 *   floor_fault           the handler runs on the faulting stack
 *   floor_fault_altstack  the same, on an alternate signal stack
 *                         (SA_ONSTACK), as tether's handler must run:
 *                         a fiber that overflowed has no stack left
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "bench.h"

#define BATCH 20000

/*
 * bench_fault_store(p) stores to *p and returns 0; when the store
 * faults, the handler resumes at bench_fault_recover, which returns 1.
 */
int bench_fault_store(int *p);
extern const char bench_fault_insn[], bench_fault_recover[];

__asm__(".text\n"
        ".p2align 4\n"
        ".globl bench_fault_store\n"
        ".type bench_fault_store, @function\n"
        "bench_fault_store:\n"
        ".globl bench_fault_insn\n"
        "bench_fault_insn:\n"
        "    movl $1, (%rdi)\n"
        "    xorl %eax, %eax\n"
        "    ret\n"
        ".globl bench_fault_recover\n"
        "bench_fault_recover:\n"
        "    movl $1, %eax\n"
        "    ret\n"
        ".size bench_fault_store, .-bench_fault_store\n"
        ".section .note.GNU-stack,\"\",@progbits\n"
        ".text\n");

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig;
    (void)si;
    if (uc->uc_mcontext.gregs[REG_RIP] != (greg_t)(uintptr_t)bench_fault_insn)
        abort(); /* not ours: a real bug in this program */
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)bench_fault_recover;
}

static void install(int flags)
{
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | flags;
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        bench_fail("sigaction failed");
}

static double batch(void)
{
    int *volatile target = NULL;
    int caught = 0;
    double t0 = bench_now_ns();
    for (int i = 0; i < BATCH; i++)
        caught += bench_fault_store(target);
    double ns = (bench_now_ns() - t0) / BATCH;
    if (caught != BATCH)
        bench_fail("a store did not fault");
    return ns;
}

int main(void)
{
    int samples = bench_samples();
    stack_t ss;

    ss.ss_size = 64 * 1024;
    ss.ss_flags = 0;
    ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ss.ss_sp == MAP_FAILED || sigaltstack(&ss, NULL) != 0)
        bench_fail("cannot set up an alternate signal stack");

    install(0);
    batch(); /* warm */
    for (int s = 0; s < samples; s++) {
        install(0);
        bench_result("floor_fault", batch());
        install(SA_ONSTACK);
        bench_result("floor_fault_altstack", batch());
    }
    return 0;
}

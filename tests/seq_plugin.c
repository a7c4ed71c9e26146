/*
 * A plugin with sequences of its own (test_seq dlopens it): its table
 * is registered by the constructor the macros emit when it is loaded,
 * and removed by the destructor when it is closed.
 */
#include <errno.h>
#include <tether/seq.h>

/* *p, or -EFAULT: declared from C. */
int plugin_c_load(const int *p, int *v)
{
    __asm__ goto("1: movl (%[p]), %%eax\n\t"
                 "movl %%eax, (%[v])\n"
                 "2:\n\t"
                 TETHER_SEQ_ASM_FAULT("1b", "2b", "%l[efault]")
                 : : [p] "r"(p), [v] "r"(v) : "rax", "memory" : efault);
    return 0;
efault:
    return -EFAULT;
}

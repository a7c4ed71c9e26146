/*
 * The assembly half of the plugin test_seq dlopens and dlcloses: a
 * load whose fault is fixed up while the plugin is loaded. The code is
 * position-independent and self-contained between plugin_asm_load and
 * plugin_asm_end, so that a test can copy it and run the same bytes at
 * the same address after the plugin is gone.
 */
#include <tether/seq.h>

        .text
        .globl  plugin_asm_load
        .globl  plugin_asm_end
        .type   plugin_asm_load, @function
        .p2align 4
plugin_asm_load:
1:      movq    (%rdi), %rax
2:      ret
3:      movq    $-14, %rax
        ret
plugin_asm_end:
        .size   plugin_asm_load, . - plugin_asm_load
        TETHER_SEQ_FAULT 1b, 2b, 3b

        .section .note.GNU-stack, "", @progbits

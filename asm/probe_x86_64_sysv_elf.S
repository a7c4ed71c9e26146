/*
 * Safe memory probes: x86_64, System V ABI, ELF.
 *
 *   int tether_probe_copy(void *dst, const void *src, size_t n, size_t *done)
 *   int tether_probe_read(...), tether_probe_write(...)   (the same code)
 *   int tether_probe_strnlen(const char *s, size_t max, size_t *len)
 *
 * Every instruction that touches the caller's memory lies in a FAULT
 * sequence (tether/seq.h): a fault there continues at the sequence's
 * fixup, with every register as it was at the fault. Nothing is added
 * to the path that does not fault.
 *
 * Copies. The fast paths move as much as they can and keep, in r8, a
 * count of bytes certainly copied. Their fixups hand that count to a
 * byte-by-byte loop, which copies on from there until the first byte
 * that cannot be read or written: that byte's offset is the exact count
 * of bytes done. (A wide access that straddles a bad page faults as a
 * whole, and rep movsb may stop short of the bad byte, so the fast paths
 * alone cannot say exactly how far one can go.) Bytes are copied in
 * order, so on -EFAULT the first `done` bytes of dst hold src's; what
 * lies after them in dst may have been written too. Overlapping dst and
 * src are not supported (as with memcpy).
 *
 *   n < 16          two overlapping loads, then two stores, of the
 *                   widest size that fits (8, 4, or bytes 0, n/2, n-1)
 *   16 <= n < 2048  64 bytes a round through SSE registers, then 16 at a
 *                   time, then the last 16 (overlapping)
 *   n >= 2048       rep movsb (fast on processors with ERMS/FSRM; measured
 *                   here, slower than the loop below 2 KiB)
 *
 * Before anything, the first probe of a process installs tether's
 * signal handlers (tether__seq_prepare, a C function): one load and a
 * branch on every later call.
 */
#define TETHER_SEQ_NO_CONSTRUCTOR /* this library registers its own table */
#include <tether/seq.h>

#define EFAULT 14
#define REP_MIN 2048

        .text

        .globl  tether_probe_copy
        .type   tether_probe_copy, @function
        .globl  tether_probe_read
        .type   tether_probe_read, @function
        .globl  tether_probe_write
        .type   tether_probe_write, @function
        .p2align 5
tether_probe_copy:
tether_probe_read:
tether_probe_write:
        .cfi_startproc
        cmpl    $0, tether__seq_ready(%rip)     /* handlers installed? */
        je      .Lcopy_prepare
.Lcopy_go:
        movq    %rcx, %r9               /* done: the 4th argument, kept */
        xorl    %r8d, %r8d              /* bytes certainly copied */
        cmpq    $16, %rdx
        jae     .Lcopy_16
        cmpq    $8, %rdx
        jb      .Lcopy_lt8

        /* 8 .. 15 bytes: [0, 8) and [n-8, n), loaded before storing. */
.Ls8:   movq    (%rsi), %r10
        movq    -8(%rsi,%rdx), %r11
        movq    %r10, (%rdi)
        movq    %r11, -8(%rdi,%rdx)
.Ls8_end:
        testq   %r9, %r9
        jz      1f
        movq    %rdx, (%r9)             /* *done = n */
1:      xorl    %eax, %eax
        ret

.Lcopy_lt8:
        cmpq    $4, %rdx
        jb      .Lcopy_lt4
        /* 4 .. 7 bytes: [0, 4) and [n-4, n). */
.Ls4:   movl    (%rsi), %r10d
        movl    -4(%rsi,%rdx), %r11d
        movl    %r10d, (%rdi)
        movl    %r11d, -4(%rdi,%rdx)
.Ls4_end:
        jmp     .Lcopy_ok

.Lcopy_lt4:
        testq   %rdx, %rdx
        jz      .Lcopy_ok
        /* 1 .. 3 bytes: bytes 0, n/2 and n-1 cover them all. */
        movq    %rdx, %rcx
        shrq    $1, %rcx
.Ls1:   movzbl  (%rsi), %r10d
        movzbl  (%rsi,%rcx), %r11d
        movzbl  -1(%rsi,%rdx), %eax
        movb    %r10b, (%rdi)
        movb    %r11b, (%rdi,%rcx)
        movb    %al, -1(%rdi,%rdx)
.Ls1_end:
        jmp     .Lcopy_ok

.Lcopy_16:
        cmpq    $REP_MIN, %rdx
        jae     .Lcopy_rep
        /* 16 .. 2047 bytes. r10 = n - 64: rounds of 64 while r8 <= r10 (signed: n may be < 64). */
        leaq    -64(%rdx), %r10
.Lm:    cmpq    %r10, %r8
        jg      .Lm_tail
        movdqu  (%rsi,%r8), %xmm0
        movdqu  16(%rsi,%r8), %xmm1
        movdqu  32(%rsi,%r8), %xmm2
        movdqu  48(%rsi,%r8), %xmm3
        movdqu  %xmm0, (%rdi,%r8)
        movdqu  %xmm1, 16(%rdi,%r8)
        movdqu  %xmm2, 32(%rdi,%r8)
        movdqu  %xmm3, 48(%rdi,%r8)
        addq    $64, %r8                /* only now: these 64 are done */
        jmp     .Lm
.Lm_tail:
        /* Fewer than 64 left. r10 = n - 16 (>= 0): 16 at a time while r8 < r10. */
        leaq    -16(%rdx), %r10
.Lm16:  cmpq    %r10, %r8
        jge     .Lm_last
        movdqu  (%rsi,%r8), %xmm0
        movdqu  %xmm0, (%rdi,%r8)
        addq    $16, %r8
        jmp     .Lm16
.Lm_last:
        /* The last 16 bytes, [n-16, n), over some already copied. */
        movdqu  (%rsi,%r10), %xmm0
        movdqu  %xmm0, (%rdi,%r10)
.Lm_end:
        jmp     .Lcopy_ok

.Lcopy_rep:
        movq    %rdi, %r10              /* the bases, for the fixup */
        movq    %rsi, %r11
        movq    %rdx, %rcx
.Lrep:  rep movsb                       /* rcx counts down what is left */
.Lrep_end:
        jmp     .Lcopy_ok
.Lrep_fault:
        /* rcx bytes were not copied: n - rcx were. */
        movq    %rdx, %r8
        subq    %rcx, %r8
        movq    %r10, %rdi
        movq    %r11, %rsi
        /* fall through */

        /* From r8 on, one byte at a time, until n or the first fault. */
.Lcopy_bytes:
        cmpq    %rdx, %r8
        jae     .Lcopy_ok
.Lb:    movzbl  (%rsi,%r8), %ecx
        movb    %cl, (%rdi,%r8)
.Lb_end:
        incq    %r8
        jmp     .Lcopy_bytes
.Lb_fault:
        /* Byte r8 cannot be read or written: r8 bytes were copied. */
        testq   %r9, %r9
        jz      1f
        movq    %r8, (%r9)
1:      movl    $-EFAULT, %eax
        ret

.Lcopy_ok:
        testq   %r9, %r9
        jz      1f
        movq    %rdx, (%r9)             /* *done = n */
1:      xorl    %eax, %eax
        ret

.Lcopy_prepare:
        /* Install the handlers (C), keeping the four arguments. */
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp                /* 16-aligned at the call */
        .cfi_adjust_cfa_offset 8
        call    tether__seq_prepare
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        testl   %eax, %eax
        jz      .Lcopy_go
        ret                             /* -EAGAIN */
        .cfi_endproc
        .size   tether_probe_copy, . - tether_probe_copy
        .size   tether_probe_read, . - tether_probe_read
        .size   tether_probe_write, . - tether_probe_write

        /* Every fast path hands its count (r8) to the byte loop. */
        TETHER_SEQ_FAULT .Ls8, .Ls8_end, .Lcopy_bytes
        TETHER_SEQ_FAULT .Ls4, .Ls4_end, .Lcopy_bytes
        TETHER_SEQ_FAULT .Ls1, .Ls1_end, .Lcopy_bytes
        TETHER_SEQ_FAULT .Lm, .Lm_end, .Lcopy_bytes
        TETHER_SEQ_FAULT .Lrep, .Lrep_end, .Lrep_fault
        TETHER_SEQ_FAULT .Lb, .Lb_end, .Lb_fault

/*
 * int tether_probe_strnlen(const char *s, size_t max, size_t *len)
 *
 * Reads 16-byte blocks aligned on 16 (movdqa), from the one holding s:
 * an aligned block never straddles a page, so a block that faults means
 * its first byte cannot be read, and every byte before it was (and was
 * not 0). The count is exact without a retry. Bytes of the first block
 * before s, and of the last one past the 0 or past s + max, are read but
 * lie in pages that hold bytes that had to be read anyway.
 */
        .globl  tether_probe_strnlen
        .type   tether_probe_strnlen, @function
        .p2align 5
tether_probe_strnlen:
        .cfi_startproc
        cmpl    $0, tether__seq_ready(%rip)
        je      .Lstr_prepare
.Lstr_go:
        movq    %rdx, %r9               /* len, kept */
        xorl    %eax, %eax
        testq   %rsi, %rsi
        jz      .Lstr_done              /* max 0: length 0, nothing read */
        movq    %rdi, %r8
        andq    $-16, %r8               /* the aligned block holding s */
        movl    %edi, %ecx
        andl    $15, %ecx               /* s's place in it */
        pxor    %xmm1, %xmm1            /* sixteen zero bytes to compare with */
.Lsf:   movdqa  (%r8), %xmm0
.Lsf_end:
        pcmpeqb %xmm1, %xmm0            /* 0xff where a byte is 0 */
        pmovmskb %xmm0, %eax            /* one bit per byte */
        shrl    %cl, %eax               /* forget the bytes before s */
        testl   %eax, %eax
        jnz     .Lstr_first
        addq    $16, %r8
.Lstr_loop:
        movq    %r8, %rax
        subq    %rdi, %rax              /* bytes before this block: none is 0 */
        cmpq    %rsi, %rax
        jae     .Lstr_max
.Lsl:   movdqa  (%r8), %xmm0
.Lsl_end:
        pcmpeqb %xmm1, %xmm0
        pmovmskb %xmm0, %ecx
        testl   %ecx, %ecx
        jnz     .Lstr_found
        addq    $16, %r8
        jmp     .Lstr_loop
.Lstr_first:
        bsfl    %eax, %eax              /* the first 0's index from s */
        jmp     .Lstr_cap
.Lstr_found:
        bsfl    %ecx, %ecx
        addq    %rcx, %rax
.Lstr_cap:
        cmpq    %rsi, %rax
        cmova   %rsi, %rax              /* a 0 past max: the length is max */
        jmp     .Lstr_done
.Lstr_max:
        movq    %rsi, %rax
.Lstr_done:
        testq   %r9, %r9
        jz      1f
        movq    %rax, (%r9)
1:      xorl    %eax, %eax
        ret
.Lsf_fault:
        xorl    %eax, %eax              /* s itself cannot be read */
.Lsl_fault:
        /* rax = r8 - s: the bytes before the block that faulted. */
        testq   %r9, %r9
        jz      1f
        movq    %rax, (%r9)
1:      movl    $-EFAULT, %eax
        ret
.Lstr_prepare:
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        call    tether__seq_prepare     /* 3 pushes + return address: aligned */
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        testl   %eax, %eax
        jz      .Lstr_go
        ret
        .cfi_endproc
        .size   tether_probe_strnlen, . - tether_probe_strnlen

        TETHER_SEQ_FAULT .Lsf, .Lsf_end, .Lsf_fault
        TETHER_SEQ_FAULT .Lsl, .Lsl_end, .Lsl_fault

        .section .note.GNU-stack, "", @progbits

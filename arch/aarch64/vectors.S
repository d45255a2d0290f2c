/* EL1 exception vector table: build a full trap frame, call a64_trap(), restore and eret. */
#include "arch/aarch64/trapframe.h"

/*
 * VBAR_EL1 points at a 2 KiB-aligned table of 16 slots, 0x80 bytes each,
 * in four groups (current EL on SP_EL0, current EL on SP_ELx, lower EL
 * AArch64, lower EL AArch32) of sync / IRQ / FIQ / SError.  Every slot but
 * two does the same thing: make room for the frame, free two registers,
 * and jump to the common path with its slot number.  The two are EL0's
 * sync and IRQ slots (user_slot below), which end a user run (uentry.S).
 * a64_trap() in trap.c decides what each other slot means, so unexpected
 * ones still produce a full report.
 *
 * The hardware has already masked D, A, I and F, so nothing nests unless a
 * handler itself faults; such a fault gets its own frame below this one.
 */
.macro vector_slot vec
	.balign 0x80
	sub	sp, sp, #TF_SIZE
	stp	x0, x1, [sp, #TF_X(0)]
	mov	x0, #\vec
	b	a64_trap_common
.endm

/*
 * Sync exceptions and IRQs from AArch64 EL0 can only come from a user
 * run by arch_user_run: they end it (uentry.S), leaving x1 = the reason
 * (A64_USER_SYNC / A64_USER_IRQ in user.c) and the user's x0/x1 pushed.
 */
.macro user_slot reason
	.balign 0x80
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\reason
	b	a64_user_exit
.endm

	.section .text.vectors, "ax"
	.balign 2048
	.globl	a64_vectors
a64_vectors:
	vector_slot VEC_CUR_SP0_SYNC
	vector_slot VEC_CUR_SP0_IRQ
	vector_slot VEC_CUR_SP0_FIQ
	vector_slot VEC_CUR_SP0_SERR
	vector_slot VEC_CUR_SPX_SYNC
	/* IRQ from EL1: as vector_slot, to a path that first asks whether
	 * the IRQ ended arch_idle_wait. */
	.balign 0x80
	sub	sp, sp, #TF_SIZE
	stp	x0, x1, [sp, #TF_X(0)]
	mov	x0, #VEC_CUR_SPX_IRQ
	b	a64_irq_el1
	vector_slot VEC_CUR_SPX_FIQ
	vector_slot VEC_CUR_SPX_SERR
	user_slot 0
	user_slot 1
	vector_slot VEC_LOW64_FIQ
	vector_slot VEC_LOW64_SERR
	vector_slot VEC_LOW32_SYNC
	vector_slot VEC_LOW32_IRQ
	vector_slot VEC_LOW32_FIQ
	vector_slot VEC_LOW32_SERR

/* x0 = slot number; x0/x1 already saved; sp points at the new frame. */
a64_trap_common:
#ifdef TRAP_STAMP
	/* The test kernel's interrupt-latency probe: the instruction
	 * counter (event counter 0, arch_instret), four instructions after
	 * the vector's first (sub, stp, mov, b). */
	mrs	x1, pmevcntr0_el0
	str	x1, [sp, #TF_STAMP]
#endif
a64_trap_saved:
	stp	x2, x3, [sp, #TF_X(2)]
	stp	x4, x5, [sp, #TF_X(4)]
	stp	x6, x7, [sp, #TF_X(6)]
	stp	x8, x9, [sp, #TF_X(8)]
	stp	x10, x11, [sp, #TF_X(10)]
	stp	x12, x13, [sp, #TF_X(12)]
	stp	x14, x15, [sp, #TF_X(14)]
	stp	x16, x17, [sp, #TF_X(16)]
	stp	x18, x19, [sp, #TF_X(18)]
	stp	x20, x21, [sp, #TF_X(20)]
	stp	x22, x23, [sp, #TF_X(22)]
	stp	x24, x25, [sp, #TF_X(24)]
	stp	x26, x27, [sp, #TF_X(26)]
	stp	x28, x29, [sp, #TF_X(28)]
	mov	x1, x0

	/* The interrupted stack pointer: a trap from EL1 on SP_EL1 left it
	 * just above this frame; one from EL0 (or from EL1 running on SP_EL0)
	 * left it in SP_EL0. */
	add	x2, sp, #TF_SIZE
	cmp	x1, #VEC_CUR_SPX_SYNC
	b.lo	1f
	cmp	x1, #VEC_LOW64_SYNC
	b.lo	2f
1:	mrs	x2, sp_el0
2:	stp	x30, x2, [sp, #TF_X(30)]

	mrs	x2, elr_el1
	mrs	x3, spsr_el1
	stp	x2, x3, [sp, #TF_ELR]
	mrs	x2, esr_el1
	mrs	x3, far_el1
	stp	x2, x3, [sp, #TF_ESR]
	mrs	x2, fpcr
	mrs	x3, fpsr
	stp	x2, x3, [sp, #TF_FPCR]

	stp	q0, q1, [sp, #TF_Q(0)]
	stp	q2, q3, [sp, #TF_Q(2)]
	stp	q4, q5, [sp, #TF_Q(4)]
	stp	q6, q7, [sp, #TF_Q(6)]
	stp	q8, q9, [sp, #TF_Q(8)]
	stp	q10, q11, [sp, #TF_Q(10)]
	stp	q12, q13, [sp, #TF_Q(12)]
	stp	q14, q15, [sp, #TF_Q(14)]
	stp	q16, q17, [sp, #TF_Q(16)]
	stp	q18, q19, [sp, #TF_Q(18)]
	stp	q20, q21, [sp, #TF_Q(20)]
	stp	q22, q23, [sp, #TF_Q(22)]
	stp	q24, q25, [sp, #TF_Q(24)]
	stp	q26, q27, [sp, #TF_Q(26)]
	stp	q28, q29, [sp, #TF_Q(28)]
	stp	q30, q31, [sp, #TF_Q(30)]

	mov	x0, sp
	bl	a64_trap

	ldp	q0, q1, [sp, #TF_Q(0)]
	ldp	q2, q3, [sp, #TF_Q(2)]
	ldp	q4, q5, [sp, #TF_Q(4)]
	ldp	q6, q7, [sp, #TF_Q(6)]
	ldp	q8, q9, [sp, #TF_Q(8)]
	ldp	q10, q11, [sp, #TF_Q(10)]
	ldp	q12, q13, [sp, #TF_Q(12)]
	ldp	q14, q15, [sp, #TF_Q(14)]
	ldp	q16, q17, [sp, #TF_Q(16)]
	ldp	q18, q19, [sp, #TF_Q(18)]
	ldp	q20, q21, [sp, #TF_Q(20)]
	ldp	q22, q23, [sp, #TF_Q(22)]
	ldp	q24, q25, [sp, #TF_Q(24)]
	ldp	q26, q27, [sp, #TF_Q(26)]
	ldp	q28, q29, [sp, #TF_Q(28)]
	ldp	q30, q31, [sp, #TF_Q(30)]

	ldp	x2, x3, [sp, #TF_FPCR]
	msr	fpcr, x2
	msr	fpsr, x3
	ldp	x2, x3, [sp, #TF_ELR]
	msr	elr_el1, x2
	msr	spsr_el1, x3
	/* Returning to EL0: its stack pointer comes back from the frame. */
	tst	x3, #0xf
	b.ne	3f
	ldr	x2, [sp, #TF_SP]
	msr	sp_el0, x2
3:
	ldp	x0, x1, [sp, #TF_X(0)]
	ldp	x2, x3, [sp, #TF_X(2)]
	ldp	x4, x5, [sp, #TF_X(4)]
	ldp	x6, x7, [sp, #TF_X(6)]
	ldp	x8, x9, [sp, #TF_X(8)]
	ldp	x10, x11, [sp, #TF_X(10)]
	ldp	x12, x13, [sp, #TF_X(12)]
	ldp	x14, x15, [sp, #TF_X(14)]
	ldp	x16, x17, [sp, #TF_X(16)]
	ldp	x18, x19, [sp, #TF_X(18)]
	ldp	x20, x21, [sp, #TF_X(20)]
	ldp	x22, x23, [sp, #TF_X(22)]
	ldp	x24, x25, [sp, #TF_X(24)]
	ldp	x26, x27, [sp, #TF_X(26)]
	ldp	x28, x29, [sp, #TF_X(28)]
	ldr	x30, [sp, #TF_X(30)]
	add	sp, sp, #TF_SIZE
	eret

/*
 * void arch_idle_wait(void) (arch.h): called with PSTATE.I set.  Clears
 * I and waits; the IRQ that ends the wait is taken inside this function,
 * where (at a call boundary) only x19..x29, sp and x30 are live, and
 * the handlers are C, which keeps x19..x29 (and the low halves of
 * v8..v15).  So a64_irq_el1's short path saves x30 and the two registers
 * a report would print, runs the IRQ's handlers, and erets straight to
 * our caller with I set again: no frame of 800 bytes to fill and empty.
 */
	.section .text
	.balign	4
	.globl	arch_idle_wait
arch_idle_wait:
	dsb	sy
	msr	daifclr, #2		/* the IRQ may come from here on */
	wfi
	msr	daifset, #2		/* ended without an IRQ (spurious) */
	ret
a64_idle_end:
#define A64_IDLE_LEN 20
	.if	a64_idle_end - arch_idle_wait - A64_IDLE_LEN
	.error	"A64_IDLE_LEN is not arch_idle_wait's size"
	.endif

/* x0 = VEC_CUR_SPX_IRQ; x0/x1 saved; sp points at the new frame. */
a64_irq_el1:
#ifdef TRAP_STAMP
	/* As a64_trap_common's: four instructions after the vector's first. */
	mrs	x1, pmevcntr0_el0
	str	x1, [sp, #TF_STAMP]
#endif
	mrs	x1, elr_el1
	adr	x0, arch_idle_wait
	sub	x0, x1, x0
	cmp	x0, #A64_IDLE_LEN
	mov	x0, #VEC_CUR_SPX_IRQ
	b.hs	a64_trap_saved		/* anywhere else: the full frame */
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #TF_ELR]
	str	x30, [sp, #TF_X(30)]
	mov	x0, sp
	bl	a64_idle_irq
	ldr	x30, [sp, #TF_X(30)]
	ldr	x2, [sp, #TF_SPSR]
	orr	x2, x2, #(1 << 7)	/* PSTATE.I, as our caller had it */
	msr	spsr_el1, x2
	msr	elr_el1, x30		/* return from arch_idle_wait */
	add	sp, sp, #TF_SIZE
	eret

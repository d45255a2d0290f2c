/* EL0 entry and exit: the assembly half of arch_user_run, eret into the user and back on its next exception. */
#include "arch/aarch64/sysreg.h"
#include "arch_uregs.h"

/*
 * The stackless kernel runs a process by calling arch_user_run on the
 * hart's one kernel stack; the user's exception later "returns" from that
 * call.  While the user runs, SP_EL1 points at this kernel frame, and
 * nothing else happens on the kernel stack (an exception from EL0 starts
 * on SP_EL1 exactly here), so the frame is the hart's per-run area (no
 * TPIDR_EL1 lookup needed):
 *
 *     0   u          the struct user_regs being run
 *     8   info       arch_user_run's struct trap_info *
 *    16   tpidr      the kernel's TPIDR_EL0 (its per-hart TLS block)
 *    24   daif       the caller's interrupt mask, restored on return
 *    32   x19..x30   the kernel's callee-saved registers, fp and lr
 *   128   end (a multiple of 16: SP_EL1 stays aligned)
 *
 * Everything else a C caller expects to survive a call is x19..x30 and
 * sp; the kernel holds no FP values across calls (-mgeneral-regs-only,
 * and picolibc never calls back into code that runs a user).  But the
 * kernel's picolibc (memcpy, printf) does use the vector registers, so a
 * user's FP/SIMD state cannot stay in the registers while the kernel
 * runs: it is in memory whenever the user is not running.
 *
 * FP/SIMD is lazy (arch.h).  A context without an FP area (u->fp NULL)
 * runs with CPACR_EL1.FPEN = 0b01: EL0 FP/SIMD access traps (EC 0x07,
 * reported as USER_EXIT_FP), EL1 does not, and nothing of FP is loaded
 * or saved: a syscall round trip moves no vector register.  A context
 * with an area runs with FPEN = 0b11; its q0..q31, FPCR and FPSR are
 * restored from u->fp / u before the eret and saved on every exit, and
 * the kernel's FPCR is reset to 0 (picolibc's default) after.  CPACR is
 * written on every entry, so each hart's setting is the one of the
 * context it is entering, wherever that context ran last; the eret is
 * the context synchronization the write needs (no isb).
 */
#define KF_U      0
#define KF_INFO   8
#define KF_TPIDR  16
#define KF_DAIF   24
#define KF_X19    32
#define KF_SIZE   128

/* enum user_exit (arch.h) and the vector slots' reasons (vectors.S). */
#define USER_EXIT_SYSCALL 0
#define A64_USER_SYNC     0
#define A64_USER_IRQ      1

/* SPSR bits the user never gets to choose: M[4:0] (EL0t, AArch64) and
 * DAIF (EL0 runs with every interrupt enabled). */
#define SPSR_M_BITS    0x1f
#define SPSR_DAIF_BITS 0x3c0

	.section .text, "ax"

/*
 * enum user_exit arch_user_run(struct user_regs *u, struct trap_info *info)
 * (contract in arch.h).  IRQs are masked from here to the eret, so no
 * kernel interrupt can clobber ELR/SPSR once they are loaded; the user
 * runs with IRQs on (its SPSR), and an IRQ there ends the run.
 */
	.globl	arch_user_run
	.type	arch_user_run, %function
arch_user_run:
	sub	sp, sp, #KF_SIZE
	mrs	x2, tpidr_el0
	mrs	x3, daif
	msr	daifset, #2
	stp	x0, x1, [sp, #KF_U]
	stp	x2, x3, [sp, #KF_TPIDR]
	stp	x19, x20, [sp, #KF_X19]
	stp	x21, x22, [sp, #KF_X19 + 16]
	stp	x23, x24, [sp, #KF_X19 + 32]
	stp	x25, x26, [sp, #KF_X19 + 48]
	stp	x27, x28, [sp, #KF_X19 + 64]
	stp	x29, x30, [sp, #KF_X19 + 80]

	ldp	x1, x2, [x0, #UR_SP]          /* sp, pc */
	ldp	x3, x4, [x0, #UR_PSTATE]      /* pstate, tpidr */
	bic	x3, x3, #SPSR_M_BITS
	bic	x3, x3, #SPSR_DAIF_BITS
	msr	sp_el0, x1
	msr	elr_el1, x2
	msr	spsr_el1, x3
	msr	tpidr_el0, x4

	/* FP/SIMD: trapped at EL0 without an area, restored with one. */
	ldr	x7, [x0, #UR_FP]
	mov	x8, #CPACR_FPEN_EL1
	cbz	x7, 1f
	mov	x8, #CPACR_FPEN_ALL
	ldp	x5, x6, [x0, #UR_FPCR]        /* fpcr, fpsr */
	msr	fpcr, x5
	msr	fpsr, x6
	ldp	q0, q1, [x7, #FPR_Q(0)]
	ldp	q2, q3, [x7, #FPR_Q(2)]
	ldp	q4, q5, [x7, #FPR_Q(4)]
	ldp	q6, q7, [x7, #FPR_Q(6)]
	ldp	q8, q9, [x7, #FPR_Q(8)]
	ldp	q10, q11, [x7, #FPR_Q(10)]
	ldp	q12, q13, [x7, #FPR_Q(12)]
	ldp	q14, q15, [x7, #FPR_Q(14)]
	ldp	q16, q17, [x7, #FPR_Q(16)]
	ldp	q18, q19, [x7, #FPR_Q(18)]
	ldp	q20, q21, [x7, #FPR_Q(20)]
	ldp	q22, q23, [x7, #FPR_Q(22)]
	ldp	q24, q25, [x7, #FPR_Q(24)]
	ldp	q26, q27, [x7, #FPR_Q(26)]
	ldp	q28, q29, [x7, #FPR_Q(28)]
	ldp	q30, q31, [x7, #FPR_Q(30)]
1:	msr	cpacr_el1, x8                 /* in effect from the eret on */

	ldp	x2, x3, [x0, #UR_X(2)]
	ldp	x4, x5, [x0, #UR_X(4)]
	ldp	x6, x7, [x0, #UR_X(6)]
	ldp	x8, x9, [x0, #UR_X(8)]
	ldp	x10, x11, [x0, #UR_X(10)]
	ldp	x12, x13, [x0, #UR_X(12)]
	ldp	x14, x15, [x0, #UR_X(14)]
	ldp	x16, x17, [x0, #UR_X(16)]
	ldp	x18, x19, [x0, #UR_X(18)]
	ldp	x20, x21, [x0, #UR_X(20)]
	ldp	x22, x23, [x0, #UR_X(22)]
	ldp	x24, x25, [x0, #UR_X(24)]
	ldp	x26, x27, [x0, #UR_X(26)]
	ldp	x28, x29, [x0, #UR_X(28)]
	ldr	x30, [x0, #UR_X(30)]
	ldp	x0, x1, [x0, #UR_X(0)]
	eret
	.size	arch_user_run, . - arch_user_run

/*
 * The "lower EL, AArch64" sync and IRQ vector slots (vectors.S) push the
 * user's x0/x1 below the kernel frame, put the reason in x1 and come
 * here.  Save the user state into u and put the kernel's back.  A syscall
 * returns from arch_user_run right here (the fast path); anything else
 * goes on to a64_user_exit_slow (user.c) as a tail call, which returns
 * to arch_user_run's caller in its place.
 */
	.globl	a64_user_exit
	.type	a64_user_exit, %function
a64_user_exit:
	ldr	x0, [sp, #16 + KF_U]
	stp	x2, x3, [x0, #UR_X(2)]
	stp	x4, x5, [x0, #UR_X(4)]
	stp	x6, x7, [x0, #UR_X(6)]
	stp	x8, x9, [x0, #UR_X(8)]
	stp	x10, x11, [x0, #UR_X(10)]
	stp	x12, x13, [x0, #UR_X(12)]
	stp	x14, x15, [x0, #UR_X(14)]
	stp	x16, x17, [x0, #UR_X(16)]
	stp	x18, x19, [x0, #UR_X(18)]
	stp	x20, x21, [x0, #UR_X(20)]
	stp	x22, x23, [x0, #UR_X(22)]
	stp	x24, x25, [x0, #UR_X(24)]
	stp	x26, x27, [x0, #UR_X(26)]
	stp	x28, x29, [x0, #UR_X(28)]
	mrs	x2, sp_el0
	stp	x30, x2, [x0, #UR_X(30)]      /* x30, sp */
	mrs	x10, elr_el1
	mrs	x4, spsr_el1
	stp	x10, x4, [x0, #UR_PC]         /* pc, pstate */
	mrs	x5, tpidr_el0
	str	x5, [x0, #UR_TPIDR]

	/* FP/SIMD only for a context with an area (without one, EL0 could
	 * not have changed any of it). */
	ldr	x7, [x0, #UR_FP]
	cbz	x7, 2f
	mrs	x5, fpcr
	mrs	x6, fpsr
	stp	x5, x6, [x0, #UR_FPCR]
	stp	q0, q1, [x7, #FPR_Q(0)]
	stp	q2, q3, [x7, #FPR_Q(2)]
	stp	q4, q5, [x7, #FPR_Q(4)]
	stp	q6, q7, [x7, #FPR_Q(6)]
	stp	q8, q9, [x7, #FPR_Q(8)]
	stp	q10, q11, [x7, #FPR_Q(10)]
	stp	q12, q13, [x7, #FPR_Q(12)]
	stp	q14, q15, [x7, #FPR_Q(14)]
	stp	q16, q17, [x7, #FPR_Q(16)]
	stp	q18, q19, [x7, #FPR_Q(18)]
	stp	q20, q21, [x7, #FPR_Q(20)]
	stp	q22, q23, [x7, #FPR_Q(22)]
	stp	q24, q25, [x7, #FPR_Q(24)]
	stp	q26, q27, [x7, #FPR_Q(26)]
	stp	q28, q29, [x7, #FPR_Q(28)]
	stp	q30, q31, [x7, #FPR_Q(30)]
	msr	fpcr, xzr                     /* the kernel's */
2:
	mov	x9, x1                        /* the reason */
	ldp	x2, x3, [sp], #16             /* the user's x0, x1 */
	stp	x2, x3, [x0, #UR_X(0)]

	ldp	x1, x3, [sp, #KF_TPIDR]       /* kernel tpidr, caller's daif */
	msr	tpidr_el0, x1
	ldp	x19, x20, [sp, #KF_X19]
	ldp	x21, x22, [sp, #KF_X19 + 16]
	ldp	x23, x24, [sp, #KF_X19 + 32]
	ldp	x25, x26, [sp, #KF_X19 + 48]
	ldp	x27, x28, [sp, #KF_X19 + 64]
	ldp	x29, x30, [sp, #KF_X19 + 80]
	ldr	x1, [sp, #KF_INFO]
	add	sp, sp, #KF_SIZE

	/* x0 = u, x1 = info, x3 = daif, x9 = reason, x10 = ELR. */
	cbnz	x9, 1f
	mrs	x2, esr_el1
	lsr	x4, x2, #26                   /* EC */
	cmp	x4, #EC_SVC64
	b.ne	1f
	/* A syscall: pc names the svc, as on riscv (arch_syscall_return
	 * steps over it; not returning re-executes the call). */
	sub	x10, x10, #4
	str	x10, [x0, #UR_PC]
	msr	daif, x3
	mov	x0, #USER_EXIT_SYSCALL
	ret
1:	mov	x2, x9
	b	a64_user_exit_slow
	.size	a64_user_exit, . - a64_user_exit

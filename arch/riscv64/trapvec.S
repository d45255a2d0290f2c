/* riscv64 trap vector: kernel traps via rv_trap(tf); user traps return from rv_user_enter. */
#include "arch/riscv64/trapframe.h"
#include "arch/riscv64/uarea.h"

/*
 * sscratch says where a trap came from (arch/riscv64/uarea.h): 0 while
 * the kernel runs, the hart's struct rv_uarea while user code runs.
 *
 * From the kernel: the trap arrives on the current kernel stack.  The
 * frame is built below the interrupted sp; tf->x[1] records that sp.
 * rv_trap may change any field (sepc to skip an instruction, registers to
 * return values); everything is reloaded from the frame.
 *
 * From user mode: rv_user_trap saves the user registers into the struct
 * user_regs being run and returns from rv_user_enter with scause, on the
 * kernel stack and with the kernel registers rv_user_enter saved.  The
 * hardware has cleared sstatus.SIE, so the kernel continues masked.
 */
	.section .text
/*
 * void arch_idle_wait(void) (arch.h): called with sstatus.SIE clear.
 * Sets SIE and waits; the interrupt that ends the wait is taken inside
 * this function, where (at a call boundary) only the callee-saved
 * registers, sp and ra are live.  So the vector's short path saves ra,
 * records the CSRs a report would print, runs the handler (C keeps the
 * callee-saved registers) and returns to our caller with plain `ret`:
 * the trap cleared SIE, which is how the caller gave it to us.  No
 * sret is needed; a riscv hart keeps no trap-nesting state.  The
 * vector enters rv_idle_trap with sp lowered by TF_SIZE, x5/x6 saved.
 */
	.option	push
	.option	norvc			/* a fixed size: RV_IDLE_LEN */
	.globl	arch_idle_wait
arch_idle_wait:
	csrsi	sstatus, 2		/* SSTATUS_SIE: the interrupt may come here */
	wfi
	csrci	sstatus, 2		/* ended without a trap (a spurious wake-up) */
	ret
rv_idle_end:
	.option	pop
#define RV_IDLE_LEN 16
	.if	rv_idle_end - arch_idle_wait - RV_IDLE_LEN
	.error	"RV_IDLE_LEN is not arch_idle_wait's size"
	.endif

	.balign 4
	.globl rv_trap_vector
rv_trap_vector:
	csrrw	sp, sscratch, sp
	bnez	sp, rv_user_trap
	csrrw	sp, sscratch, sp	/* kernel: sp back, sscratch 0 again */
	addi	sp, sp, -TF_SIZE
	sd	x5, 4*8(sp)
#ifdef TRAP_STAMP
	/* The test kernel's interrupt-latency probe: the instruction
	 * counter, five instructions after the vector's first
	 * (csrrw, bnez, csrrw, addi, sd: arch_trap_stamp). */
	csrr	t0, instret
	sd	t0, TF_STAMP(sp)
#endif
	/* An interrupt that ends arch_idle_wait: the short path below. */
	sd	x6, 5*8(sp)
	csrr	t0, sepc
	la	t1, arch_idle_wait
	sub	t0, t0, t1
	sltiu	t0, t0, RV_IDLE_LEN
	bnez	t0, rv_idle_trap
	sd	x1, 0*8(sp)
	sd	x3, 2*8(sp)
	sd	x4, 3*8(sp)
	sd	x7, 6*8(sp)
	sd	x8, 7*8(sp)
	sd	x9, 8*8(sp)
	sd	x10, 9*8(sp)
	sd	x11, 10*8(sp)
	sd	x12, 11*8(sp)
	sd	x13, 12*8(sp)
	sd	x14, 13*8(sp)
	sd	x15, 14*8(sp)
	sd	x16, 15*8(sp)
	sd	x17, 16*8(sp)
	sd	x18, 17*8(sp)
	sd	x19, 18*8(sp)
	sd	x20, 19*8(sp)
	sd	x21, 20*8(sp)
	sd	x22, 21*8(sp)
	sd	x23, 22*8(sp)
	sd	x24, 23*8(sp)
	sd	x25, 24*8(sp)
	sd	x26, 25*8(sp)
	sd	x27, 26*8(sp)
	sd	x28, 27*8(sp)
	sd	x29, 28*8(sp)
	sd	x30, 29*8(sp)
	sd	x31, 30*8(sp)
	addi	t0, sp, TF_SIZE
	sd	t0, 1*8(sp)		/* interrupted sp */
	csrr	t0, sepc
	sd	t0, TF_SEPC(sp)
	csrr	t0, sstatus
	sd	t0, TF_SSTATUS(sp)
	csrr	t0, scause
	sd	t0, TF_SCAUSE(sp)
	csrr	t0, stval
	sd	t0, TF_STVAL(sp)

	mv	a0, sp
	call	rv_trap

	ld	t0, TF_SEPC(sp)
	csrw	sepc, t0
	ld	t0, TF_SSTATUS(sp)
	csrw	sstatus, t0
	ld	x1, 0*8(sp)
	ld	x3, 2*8(sp)
	ld	x4, 3*8(sp)
	ld	x5, 4*8(sp)
	ld	x6, 5*8(sp)
	ld	x7, 6*8(sp)
	ld	x8, 7*8(sp)
	ld	x9, 8*8(sp)
	ld	x10, 9*8(sp)
	ld	x11, 10*8(sp)
	ld	x12, 11*8(sp)
	ld	x13, 12*8(sp)
	ld	x14, 13*8(sp)
	ld	x15, 14*8(sp)
	ld	x16, 15*8(sp)
	ld	x17, 16*8(sp)
	ld	x18, 17*8(sp)
	ld	x19, 18*8(sp)
	ld	x20, 19*8(sp)
	ld	x21, 20*8(sp)
	ld	x22, 21*8(sp)
	ld	x23, 22*8(sp)
	ld	x24, 23*8(sp)
	ld	x25, 24*8(sp)
	ld	x26, 25*8(sp)
	ld	x27, 26*8(sp)
	ld	x28, 27*8(sp)
	ld	x29, 28*8(sp)
	ld	x30, 29*8(sp)
	ld	x31, 30*8(sp)
	ld	x2, 1*8(sp)		/* sp last */
	sret

rv_idle_trap:
	sd	ra, 0*8(sp)
	csrr	a0, scause
	sd	a0, TF_SCAUSE(sp)
	csrr	t0, sepc
	sd	t0, TF_SEPC(sp)
	csrr	t0, sstatus
	sd	t0, TF_SSTATUS(sp)
	mv	a1, sp
	bgez	a0, 1f			/* not an interrupt: the full report */
	call	rv_idle_trap_irq	/* rv_trap_irq, after a stamp (cpu.c) */
	beqz	a0, 1f			/* an interrupt nobody expects: report it */
	ld	ra, 0*8(sp)
	addi	sp, sp, TF_SIZE
	ret
1:	csrr	t0, stval
	sd	t0, TF_STVAL(sp)
	mv	a0, sp
	call	rv_trap			/* reports (or, say, skips an ebreak) */
	ld	t0, TF_SEPC(sp)		/* and resume where the trap was */
	csrw	sepc, t0
	ld	t0, TF_SSTATUS(sp)
	csrw	sstatus, t0
	ld	ra, 0*8(sp)
	addi	sp, sp, TF_SIZE
	sret

/*
 * uint64_t rv_user_enter(struct user_regs *u, struct rv_uarea *area)
 * Called with sstatus.SIE clear.  Saves the kernel's callee-saved
 * registers in area, loads u and srets to U-mode with interrupts enabled
 * (SPP = 0, SPIE = 1).  "Returns" through rv_user_trap.
 */
	.globl rv_user_enter
rv_user_enter:
	sd	ra, UA_RA(a1)
	sd	sp, UA_SP(a1)
	sd	gp, UA_GP(a1)
	sd	tp, UA_TP(a1)
	sd	s0, UA_S0+0*8(a1)
	sd	s1, UA_S0+1*8(a1)
	sd	s2, UA_S0+2*8(a1)
	sd	s3, UA_S0+3*8(a1)
	sd	s4, UA_S0+4*8(a1)
	sd	s5, UA_S0+5*8(a1)
	sd	s6, UA_S0+6*8(a1)
	sd	s7, UA_S0+7*8(a1)
	sd	s8, UA_S0+8*8(a1)
	sd	s9, UA_S0+9*8(a1)
	sd	s10, UA_S0+10*8(a1)
	sd	s11, UA_S0+11*8(a1)
	sd	a0, UA_CUR(a1)
	li	t0, 0x100		/* SSTATUS_SPP: return to U-mode */
	csrc	sstatus, t0
	li	t0, 0x20		/* SSTATUS_SPIE: with interrupts on */
	csrs	sstatus, t0
	ld	t0, UR_PC(a0)
	csrw	sepc, t0
	csrw	sscratch, a1
	ld	x1, 0*8(a0)
	ld	x2, 1*8(a0)
	ld	x3, 2*8(a0)
	ld	x4, 3*8(a0)
	ld	x5, 4*8(a0)
	ld	x6, 5*8(a0)
	ld	x7, 6*8(a0)
	ld	x8, 7*8(a0)
	ld	x9, 8*8(a0)
	ld	x11, 10*8(a0)
	ld	x12, 11*8(a0)
	ld	x13, 12*8(a0)
	ld	x14, 13*8(a0)
	ld	x15, 14*8(a0)
	ld	x16, 15*8(a0)
	ld	x17, 16*8(a0)
	ld	x18, 17*8(a0)
	ld	x19, 18*8(a0)
	ld	x20, 19*8(a0)
	ld	x21, 20*8(a0)
	ld	x22, 21*8(a0)
	ld	x23, 22*8(a0)
	ld	x24, 23*8(a0)
	ld	x25, 24*8(a0)
	ld	x26, 25*8(a0)
	ld	x27, 26*8(a0)
	ld	x28, 27*8(a0)
	ld	x29, 28*8(a0)
	ld	x30, 29*8(a0)
	ld	x31, 30*8(a0)
	ld	x10, 9*8(a0)		/* a0 last */
	sret

/* A trap from U-mode: sp = the hart's rv_uarea, sscratch = the user's sp. */
rv_user_trap:
	sd	t0, UA_T0(sp)
	ld	t0, UA_CUR(sp)
	sd	x1, 0*8(t0)
	sd	x3, 2*8(t0)
	sd	x4, 3*8(t0)
	sd	x6, 5*8(t0)
	sd	x7, 6*8(t0)
	sd	x8, 7*8(t0)
	sd	x9, 8*8(t0)
	sd	x10, 9*8(t0)
	sd	x11, 10*8(t0)
	sd	x12, 11*8(t0)
	sd	x13, 12*8(t0)
	sd	x14, 13*8(t0)
	sd	x15, 14*8(t0)
	sd	x16, 15*8(t0)
	sd	x17, 16*8(t0)
	sd	x18, 17*8(t0)
	sd	x19, 18*8(t0)
	sd	x20, 19*8(t0)
	sd	x21, 20*8(t0)
	sd	x22, 21*8(t0)
	sd	x23, 22*8(t0)
	sd	x24, 23*8(t0)
	sd	x25, 24*8(t0)
	sd	x26, 25*8(t0)
	sd	x27, 26*8(t0)
	sd	x28, 27*8(t0)
	sd	x29, 28*8(t0)
	sd	x30, 29*8(t0)
	sd	x31, 30*8(t0)
	ld	t1, UA_T0(sp)
	sd	t1, 4*8(t0)		/* user t0 */
	csrr	t1, sscratch
	sd	t1, 1*8(t0)		/* user sp */
	csrr	t1, sepc
	sd	t1, UR_PC(t0)
	csrw	sscratch, zero		/* back in the kernel */
	ld	ra, UA_RA(sp)
	ld	gp, UA_GP(sp)
	ld	tp, UA_TP(sp)
	ld	s0, UA_S0+0*8(sp)
	ld	s1, UA_S0+1*8(sp)
	ld	s2, UA_S0+2*8(sp)
	ld	s3, UA_S0+3*8(sp)
	ld	s4, UA_S0+4*8(sp)
	ld	s5, UA_S0+5*8(sp)
	ld	s6, UA_S0+6*8(sp)
	ld	s7, UA_S0+7*8(sp)
	ld	s8, UA_S0+8*8(sp)
	ld	s9, UA_S0+9*8(sp)
	ld	s10, UA_S0+10*8(sp)
	ld	s11, UA_S0+11*8(sp)
	csrr	a0, scause
	ld	sp, UA_SP(sp)		/* sp last */
	ret

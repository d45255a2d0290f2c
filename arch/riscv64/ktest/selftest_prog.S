/* riscv64 user-mode self-test program: position-independent machine code, copied into a user page. */

/*
 * Entered at offset 0 with a0 = arg0, a1 = arg1 (arch/arch.h,
 * struct arch_selftest_prog).  Uncompressed, so every ecall and the
 * faulting store sit at fixed 4-byte offsets.
 */
	.section .rodata
	.option push
	.option norvc
	.balign 4
	.globl rv_selftest_code, rv_selftest_end
	.globl rv_selftest_spin, rv_selftest_illegal, rv_selftest_loop
rv_selftest_code:
	mv	s1, a1			/* keep arg1 for step 3 */
	addi	a0, a0, 1		/* 1. syscall 100(arg0 + 1, arg1 * 2) */
	slli	a1, a1, 1
	li	a7, 100
	ecall
	li	a7, 101			/* 2. syscall 101(its result), a0 as is */
	ecall
	sw	zero, 0(s1)		/* 3. store to arg1: must fault */
	/* If the store did not fault, fall into the illegal instruction:
	 * the test then sees the wrong fault kind. */
rv_selftest_illegal:
	.word	0			/* all-zero: defined illegal */
rv_selftest_spin:
	j	rv_selftest_spin
rv_selftest_loop:
	li	a7, 100			/* syscall 100 forever (benchmark) */
	ecall
	j	rv_selftest_loop
rv_selftest_end:
	.option pop

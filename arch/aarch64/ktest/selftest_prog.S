/* The user-mode self-test program (arch_selftest_user_prog): position-independent EL0 machine code. */

/*
 * Entered at offset 0 with x0 = arg0, x1 = arg1 (see arch.h).  Only data
 * here: kernel/ktest/vm.c copies the bytes into a user page.
 */
	.section .rodata, "a"
	.balign	4
	.globl	a64_selftest_prog, a64_selftest_prog_end
	.globl	a64_selftest_spin, a64_selftest_illegal, a64_selftest_loop
a64_selftest_prog:
	mov	x19, x1            /* arg1: the page to store to at the end */
	add	x0, x0, #1         /* syscall 100(arg0 + 1, arg1 * 2) */
	lsl	x1, x1, #1
	mov	x8, #100
	svc	#0
	mov	x8, #101           /* syscall 101(result of 100) */
	svc	#0
	str	w0, [x19]          /* a store to arg1: the test makes it fault */
	/* If the store did not fault (a writable page), fall into the
	 * illegal instruction: the test sees which translation was used. */
a64_selftest_illegal:
	udf	#0                 /* permanently undefined */
a64_selftest_spin:
	b	a64_selftest_spin  /* loop forever (interrupts end the run) */
a64_selftest_loop:
	mov	x8, #100           /* syscall 100 forever: the null-syscall benchmark */
	svc	#0
	b	a64_selftest_loop
a64_selftest_prog_end:

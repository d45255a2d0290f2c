/* riscv64 user entry: the kernel starts here with sp, a0 = argc, a1 = argv. */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	/* Zero ra and the frame pointer so backtraces end here; keep sp
	 * 16-byte aligned (the kernel already does; this costs nothing). */
	li	ra, 0
	li	s0, 0
	andi	sp, sp, -16
	tail	__px_start
	.size _start, . - _start

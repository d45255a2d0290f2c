/* aarch64 user entry: the kernel starts here with sp, x0 = argc, x1 = argv. */
	.section .text.start, "ax"
	.globl _start
	.type _start, %function
_start:
	/* Zero the link register and frame pointer so backtraces end here;
	 * keep sp 16-byte aligned (the kernel already does). */
	mov	x29, xzr
	mov	x30, xzr
	mov	x9, sp
	and	x9, x9, #~15
	mov	sp, x9
	b	__px_start
	.size _start, . - _start

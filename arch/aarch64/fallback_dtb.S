/* QEMU virt's own device tree for aarch64, embedded for boots that pass none (docs/boot.md). */

	/* FDT readers expect 8-byte alignment of the blob (its header is
	 * big-endian 32-bit words, the reserve map 64-bit pairs). */
	.section .rodata.fallback_dtb, "a"
	.balign	8
	.globl	a64_fallback_dtb_start
a64_fallback_dtb_start:
	.incbin	FALLBACK_DTB
	.globl	a64_fallback_dtb_end
a64_fallback_dtb_end:

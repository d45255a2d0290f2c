/* QEMU virt's device tree, embedded for boots that hand over none. */
	.section .rodata
	.balign 8
	.globl rv_fallback_dtb
rv_fallback_dtb:
	.incbin FALLBACK_DTB
	.balign 8

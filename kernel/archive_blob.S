/* The user-program archive (build/<arch>/user/archive.bin), embedded in the kernel image. */
	.section .rodata.archive, "a"
	.balign 8
	.globl archive_blob
archive_blob:
	.incbin ARCHIVE_BIN
archive_blob_end:
	.balign 8
	.globl archive_blob_size
archive_blob_size:
	.quad archive_blob_end - archive_blob

/* ELF64 program loader: validate a static executable completely, then map its segments. */
#ifndef KERNEL_ELF_H
#define KERNEL_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/uapi/pollux.h"

struct vm_root;

/* The subset of ELF64 the loader reads (System V gABI). */
#define ELF_EM_AARCH64 183
#define ELF_EM_RISCV   243

struct elf64_ehdr {
	unsigned char e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

#define ELF_ET_EXEC 2
#define ELF_PT_LOAD 1
#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u
#define ELF_PHNUM_MAX 16    /* more program headers than this: refused */

/*
 * Segments must lie in [ELF_USER_LO, ELF_USER_HI): from PX_USER_BASE up to
 * the ring area (PX_RING_BASE), which is itself below the stack and its
 * guard page, so the heap, the rings and the stack all keep their room.
 */
#define ELF_USER_LO PX_USER_BASE
#define ELF_USER_HI PX_RING_BASE

/*
 * Load the static ELF64 executable image[0, size) into address space root.
 *
 * Everything is validated before anything is mapped: the ELF header
 * (magic, 64-bit class, little-endian, version 1, ET_EXEC, e_machine ==
 * machine, e_ehsize, e_phentsize), the program-header table in bounds,
 * 1..ELF_PHNUM_MAX entries, and each PT_LOAD segment: file bytes within
 * the image, p_filesz <= p_memsz, the memory range inside
 * [ELF_USER_LO, ELF_USER_HI) without wrapping, p_vaddr and p_offset
 * congruent modulo the page size, readable (PF_R), not writable and
 * executable at once (W^X), and no two segments touching the same page.
 * The entry point must lie inside an executable segment.  Other segment
 * types (PT_TLS, PT_NOTE, ...) are ignored.
 *
 * Then each segment's pages get fresh frames (kpage_alloc), the file
 * bytes are copied in, the rest stays zero (.bss), and the page is mapped
 * user-accessible with the segment's permissions (VM_R/W/X | VM_U).
 *
 * On success returns 0 and sets *entry, *brk (page-aligned end of the
 * highest segment: the initial program break) and *pages (frames mapped).
 * On failure nothing stays mapped or allocated: -PX_ENOEXEC for a bad
 * image, -PX_ENOMEM when frames or table pages run out, or the error
 * arch_vm_map returned.  `image` needs no particular alignment.
 */
int elf_load(struct vm_root *root, const void *image, size_t size, unsigned machine,
	     uint64_t *entry, uint64_t *brk, size_t *pages);

/* The same for an image held in pages: byte i is image[i / PAGE_SIZE]
 * [i % PAGE_SIZE] (a program read from the disk, kernel/fsys.c). */
int elf_load_pages(struct vm_root *root, const void *const *image, size_t size,
		   unsigned machine, uint64_t *entry, uint64_t *brk, size_t *pages);

#endif /* KERNEL_ELF_H */

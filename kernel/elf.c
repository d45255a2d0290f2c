/* ELF64 loader: check every header and segment of a static executable, then map it. */
#include <string.h>

#include "arch/arch.h"
#include "kernel/elf.h"
#include "lib/uapi/pollux.h"

/* The image: one flat buffer, or a list of pages (a file read from the
 * disk: the kernel has no contiguous allocation above a page). */
struct img {
	const unsigned char *flat;
	const unsigned char *const *pages;
	size_t size;
};

/* Bytes [off, off + n) of the image, already checked to lie inside it. */
static void img_read(const struct img *im, void *dst, size_t off, size_t n)
{
	unsigned char *d = dst;
	if (im->flat) {
		memcpy(d, im->flat + off, n);
		return;
	}
	while (n > 0) {
		size_t in = off % PAGE_SIZE, chunk = PAGE_SIZE - in < n ? PAGE_SIZE - in : n;
		memcpy(d, im->pages[off / PAGE_SIZE] + in, chunk);
		d += chunk;
		off += chunk;
		n -= chunk;
	}
}

/* A PT_LOAD segment that passed validation. */
struct seg {
	uint64_t vaddr, memsz;   /* memory image */
	uint64_t offset, filesz; /* file bytes copied to vaddr */
	uint64_t lo, hi;         /* page-aligned [lo, hi) covering the memory image */
	unsigned perm;           /* VM_R/W/X */
};

static uint64_t page_down(uint64_t a)
{
	return a & ~(uint64_t)(PAGE_SIZE - 1);
}

static uint64_t page_up(uint64_t a)
{
	return page_down(a + PAGE_SIZE - 1);
}

static int check_ehdr(const struct elf64_ehdr *eh, size_t size, unsigned machine)
{
	static const unsigned char ident[7] = { 0x7f, 'E', 'L', 'F',
						2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */,
						1 /* EV_CURRENT */ };

	if (memcmp(eh->e_ident, ident, sizeof(ident)) != 0)
		return -PX_ENOEXEC;
	if (eh->e_type != ELF_ET_EXEC || eh->e_machine != machine || eh->e_version != 1)
		return -PX_ENOEXEC;
	if (eh->e_ehsize != sizeof(struct elf64_ehdr) ||
	    eh->e_phentsize != sizeof(struct elf64_phdr))
		return -PX_ENOEXEC;
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_PHNUM_MAX)
		return -PX_ENOEXEC;
	/* phoff + phnum * phentsize <= size, written so nothing can overflow. */
	if (eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(struct elf64_phdr) < eh->e_phnum)
		return -PX_ENOEXEC;
	return 0;
}

/* Validate one PT_LOAD header against the image and the segments so far. */
static int check_load(const struct elf64_phdr *ph, size_t size,
		      const struct seg *segs, unsigned n, struct seg *out)
{
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return -PX_ENOEXEC;
	if (ph->p_filesz > ph->p_memsz)
		return -PX_ENOEXEC;
	if (ph->p_vaddr < ELF_USER_LO || ph->p_vaddr >= ELF_USER_HI ||
	    ph->p_memsz > ELF_USER_HI - ph->p_vaddr)
		return -PX_ENOEXEC;
	if (ph->p_vaddr % PAGE_SIZE != ph->p_offset % PAGE_SIZE)
		return -PX_ENOEXEC;
	if (!(ph->p_flags & ELF_PF_R))
		return -PX_ENOEXEC;
	if ((ph->p_flags & ELF_PF_W) && (ph->p_flags & ELF_PF_X))
		return -PX_ENOEXEC; /* W^X */

	out->vaddr = ph->p_vaddr;
	out->memsz = ph->p_memsz;
	out->offset = ph->p_offset;
	out->filesz = ph->p_filesz;
	/* Below ELF_USER_HI, so neither can wrap. */
	out->lo = page_down(ph->p_vaddr);
	out->hi = page_up(ph->p_vaddr + ph->p_memsz);
	out->perm = VM_R;
	if (ph->p_flags & ELF_PF_W)
		out->perm |= VM_W;
	if (ph->p_flags & ELF_PF_X)
		out->perm |= VM_X;

	/* Pages carry one permission each: segments may not share one. */
	if (ph->p_memsz == 0)
		return 0; /* maps nothing */
	for (unsigned i = 0; i < n; i++)
		if (out->lo < segs[i].hi && segs[i].lo < out->hi)
			return -PX_ENOEXEC;
	return 0;
}

static int validate(const struct img *img, unsigned machine, struct seg *segs, unsigned *nseg,
		    uint64_t *entry)
{
	size_t size = img->size;
	struct elf64_ehdr eh;
	struct elf64_phdr ph;
	unsigned n = 0;
	bool entry_ok = false;
	int err;

	if ((img->flat == NULL && img->pages == NULL) || size < sizeof(eh))
		return -PX_ENOEXEC;
	img_read(img, &eh, 0, sizeof(eh)); /* the image need not be aligned */
	err = check_ehdr(&eh, size, machine);
	if (err)
		return err;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		img_read(img, &ph, eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		err = check_load(&ph, size, segs, n, &segs[n]);
		if (err)
			return err;
		if (segs[n].memsz == 0)
			continue; /* nothing to map */
		if ((segs[n].perm & VM_X) && eh.e_entry >= segs[n].vaddr &&
		    eh.e_entry - segs[n].vaddr < segs[n].memsz)
			entry_ok = true;
		n++;
	}
	if (n == 0 || !entry_ok)
		return -PX_ENOEXEC;
	*nseg = n;
	*entry = eh.e_entry;
	return 0;
}

/* Unmap and free the first `count` pages that map_segs mapped. */
static void unmap_pages(struct vm_root *root, const struct seg *segs, unsigned n, size_t count)
{
	for (unsigned i = 0; i < n && count > 0; i++) {
		for (uint64_t va = segs[i].lo; va < segs[i].hi && count > 0; va += PAGE_SIZE) {
			uint64_t pa = arch_vm_unmap(root, va);

			if (pa)
				kpage_free((void *)(uintptr_t)pa);
			count--;
		}
	}
}

/* Map one page of segment s at va with a fresh frame holding its bytes. */
static int map_page(struct vm_root *root, const struct img *img, const struct seg *s, uint64_t va)
{
	unsigned char *page = kpage_alloc(); /* zeroed: the .bss part stays 0 */
	uint64_t lo, hi;
	int err;

	if (page == NULL)
		return -PX_ENOMEM;
	/* File bytes [vaddr, vaddr + filesz) that fall in [va, va + PAGE_SIZE). */
	lo = va > s->vaddr ? va : s->vaddr;
	hi = s->vaddr + s->filesz;
	if (hi > va + PAGE_SIZE)
		hi = va + PAGE_SIZE;
	if (lo < hi)
		img_read(img, page + (lo - va), s->offset + (lo - s->vaddr), (size_t)(hi - lo));
	err = arch_vm_map(root, va, (uint64_t)(uintptr_t)page, s->perm | VM_U);
	if (err) {
		kpage_free(page);
		return err;
	}
	return 0;
}

static int load(struct vm_root *root, const struct img *img, unsigned machine, uint64_t *entry,
		uint64_t *brk, size_t *pages)
{
	struct seg segs[ELF_PHNUM_MAX];
	unsigned n;
	uint64_t top = 0, start;
	size_t mapped = 0;
	int err;

	err = validate(img, machine, segs, &n, &start);
	if (err)
		return err;

	for (unsigned i = 0; i < n; i++) {
		for (uint64_t va = segs[i].lo; va < segs[i].hi; va += PAGE_SIZE) {
			err = map_page(root, img, &segs[i], va);
			if (err) {
				unmap_pages(root, segs, n, mapped);
				return err;
			}
			mapped++;
		}
		if (segs[i].hi > top)
			top = segs[i].hi;
	}
	*entry = start;
	*brk = top;
	*pages = mapped;
	return 0;
}

int elf_load(struct vm_root *root, const void *image, size_t size, unsigned machine,
	     uint64_t *entry, uint64_t *brk, size_t *pages)
{
	struct img im = { .flat = image, .size = size };
	return load(root, &im, machine, entry, brk, pages);
}

int elf_load_pages(struct vm_root *root, const void *const *image, size_t size,
		   unsigned machine, uint64_t *entry, uint64_t *brk, size_t *pages)
{
	struct img im = { .pages = (const unsigned char *const *)image, .size = size };
	return load(root, &im, machine, entry, brk, pages);
}

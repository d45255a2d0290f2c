/* Host tests of the ELF loader and the program archive, with a recording fake page table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/archive.h"
#include "kernel/elf.h"
#include "kernel/hosttest/check.h"
#include "lib/uapi/pollux.h"

/* ---- fake frame allocator and page table ---------------------------------*/

#define MAP_MAX 4096

static struct mapping {
	uint64_t va, pa;
	unsigned perm;
} maps[MAP_MAX];
static size_t nmaps;
static long live_pages;          /* frames allocated and not freed */
static int alloc_fail_at = -1;   /* fail the n-th kpage_alloc from now */
static int map_fail_at = -1;     /* fail the n-th arch_vm_map from now */
static int bad_map;              /* a map request the real arch would refuse */

void *kpage_alloc(void)
{
	void *p;

	if (alloc_fail_at >= 0 && alloc_fail_at-- == 0)
		return NULL;
	p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (p == NULL)
		abort();
	memset(p, 0, PAGE_SIZE);
	live_pages++;
	return p;
}

void kpage_free(void *page)
{
	free(page);
	live_pages--;
}

static struct mapping *find_map(uint64_t va)
{
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i].va == va)
			return &maps[i];
	return NULL;
}

int arch_vm_map(struct vm_root *r, uint64_t va, uint64_t pa, unsigned perm)
{
	(void)r;
	if (map_fail_at >= 0 && map_fail_at-- == 0)
		return -PX_ENOMEM;
	if (va % PAGE_SIZE || pa % PAGE_SIZE || va < PX_USER_BASE || va >= PX_USER_TOP ||
	    !(perm & VM_U) || !(perm & VM_R) || ((perm & VM_W) && (perm & VM_X))) {
		bad_map++;
		return -PX_EINVAL;
	}
	if (find_map(va))
		return -PX_EINVAL;
	if (nmaps == MAP_MAX)
		abort();
	maps[nmaps++] = (struct mapping){ va, pa, perm };
	return 0;
}

uint64_t arch_vm_unmap(struct vm_root *r, uint64_t va)
{
	struct mapping *m = find_map(va);
	uint64_t pa;

	(void)r;
	if (m == NULL)
		return 0;
	pa = m->pa;
	*m = maps[--nmaps];
	return pa;
}

/* Unmap and free everything (what process teardown will do). */
static void unload_all(void)
{
	while (nmaps > 0)
		kpage_free((void *)(uintptr_t)maps[--nmaps].pa);
}

static void reset_fakes(void)
{
	unload_all();
	alloc_fail_at = map_fail_at = -1;
	bad_map = 0;
}

static struct vm_root *const ROOT = (struct vm_root *)(uintptr_t)0x1000; /* never dereferenced */

/* ---- test machinery -------------------------------------------------------*/


/* ---- a small valid ELF, built in memory ----------------------------------*/

#define B PX_USER_BASE
#define IMG_SIZE 0x3100
#define MACH ELF_EM_RISCV

static _Alignas(16) unsigned char img[IMG_SIZE];

static struct elf64_ehdr *eh(void)
{
	return (struct elf64_ehdr *)(void *)img;
}

static struct elf64_phdr *ph(unsigned i)
{
	return (struct elf64_phdr *)(void *)(img + sizeof(struct elf64_ehdr) + i * sizeof(struct elf64_phdr));
}

static void set_ph(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t va,
		   uint64_t filesz, uint64_t memsz)
{
	*ph(i) = (struct elf64_phdr){ type, flags, off, va, va, filesz, memsz, PAGE_SIZE };
}

/*
 * Three PT_LOAD segments plus a PT_TLS:
 *   text   file 0x1000..0x2800  -> B+0x0000, 2 pages, R X, entry B+0x10
 *   rodata file 0x2000..0x2080  -> B+0x2000, 1 page,  R
 *   data   file 0x3000..0x3100  -> B+0x3000, memsz 0x2100 (bss): 3 pages, R W
 * Text and rodata file ranges overlap (legal: only memory may not).
 */
static void build_elf(void)
{
	memset(img, 0, sizeof(img));
	for (size_t i = 0x1000; i < IMG_SIZE; i++)
		img[i] = (unsigned char)(i * 7 + 3);
	memcpy(eh()->e_ident, "\177ELF\2\1\1", 7);
	eh()->e_type = ELF_ET_EXEC;
	eh()->e_machine = MACH;
	eh()->e_version = 1;
	eh()->e_entry = B + 0x10;
	eh()->e_phoff = sizeof(struct elf64_ehdr);
	eh()->e_ehsize = sizeof(struct elf64_ehdr);
	eh()->e_phentsize = sizeof(struct elf64_phdr);
	eh()->e_phnum = 4;
	set_ph(0, ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, 0x1000, B, 0x1800, 0x1800);
	set_ph(1, ELF_PT_LOAD, ELF_PF_R, 0x2000, B + 0x2000, 0x80, 0x80);
	set_ph(2, ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, 0x3000, B + 0x3000, 0x100, 0x2100);
	set_ph(3, 7 /* PT_TLS */, ELF_PF_R, 0x3000, B + 0x3000, 0x10, 0x20);
}

static int load(size_t size, uint64_t *entry, uint64_t *brk, size_t *pages)
{
	return elf_load(ROOT, img, size, MACH, entry, brk, pages);
}

/* The image as it is now must be refused with err, leaving nothing behind. */
static void expect_reject(int err)
{
	uint64_t entry = 0xdead, brk = 0xdead;
	size_t pages = 0xdead;
	int r = load(IMG_SIZE, &entry, &brk, &pages);

	CHECK(r == err);
	if (r != err)
		printf("    got %d, want %d\n", r, err);
	CHECK(nmaps == 0);
	CHECK(live_pages == 0);
	CHECK(entry == 0xdead && brk == 0xdead && pages == 0xdead);
	reset_fakes();
	build_elf();
}

static void check_page(uint64_t va, unsigned perm, const unsigned char *want, size_t n)
{
	struct mapping *m = find_map(va);
	const unsigned char *p;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(m->perm == (perm | VM_U));
	p = (const unsigned char *)(uintptr_t)m->pa;
	CHECK(memcmp(p, want, n) == 0);
	for (size_t i = n; i < PAGE_SIZE; i++)
		if (p[i] != 0) {
			CHECK(p[i] == 0);
			break;
		}
}

/* ---- tests: valid images --------------------------------------------------*/

static void test_valid(void)
{
	uint64_t entry, brk;
	size_t pages;

	build_elf();
	CHECK(load(IMG_SIZE, &entry, &brk, &pages) == 0);
	CHECK(entry == B + 0x10);
	CHECK(brk == B + 0x6000);
	CHECK(pages == 6 && nmaps == 6 && live_pages == 6);
	CHECK(bad_map == 0);
	check_page(B, VM_R | VM_X, img + 0x1000, PAGE_SIZE);
	check_page(B + 0x1000, VM_R | VM_X, img + 0x2000, 0x800);
	check_page(B + 0x2000, VM_R, img + 0x2000, 0x80);
	check_page(B + 0x3000, VM_R | VM_W, img + 0x3000, 0x100);
	check_page(B + 0x4000, VM_R | VM_W, img, 0);
	check_page(B + 0x5000, VM_R | VM_W, img, 0);
	reset_fakes();
}

/* The loader copies with memcpy: any alignment of the image works. */
static void test_unaligned_image(void)
{
	static unsigned char buf[IMG_SIZE + 1];
	uint64_t entry, brk;
	size_t pages;

	build_elf();
	memcpy(buf + 1, img, IMG_SIZE);
	CHECK(elf_load(ROOT, buf + 1, IMG_SIZE, MACH, &entry, &brk, &pages) == 0);
	CHECK(pages == 6);
	check_page(B + 0x3000, VM_R | VM_W, img + 0x3000, 0x100);
	reset_fakes();
}

/* A segment starting mid-page: the page's head stays zero. */
static void test_unaligned_vaddr(void)
{
	uint64_t entry, brk;
	size_t pages;
	unsigned char want[0x110] = { 0 };

	build_elf();
	set_ph(2, ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, 0x3010, B + 0x3010, 0xf0, 0x100);
	memcpy(want + 0x10, img + 0x3010, 0xf0);
	CHECK(load(IMG_SIZE, &entry, &brk, &pages) == 0);
	CHECK(pages == 4 && brk == B + 0x4000);
	check_page(B + 0x3000, VM_R | VM_W, want, sizeof(want));
	reset_fakes();
}

/* Empty PT_LOADs and other segment types are skipped. */
static void test_ignored_segments(void)
{
	uint64_t entry, brk;
	size_t pages;

	build_elf();
	set_ph(1, ELF_PT_LOAD, ELF_PF_R, 0x2800, B + 0x1800, 0, 0); /* inside text's page: ignored */
	set_ph(3, 4 /* PT_NOTE */, ELF_PF_R | ELF_PF_W | ELF_PF_X, 0x10000, 0, 0, 0);
	CHECK(load(IMG_SIZE, &entry, &brk, &pages) == 0);
	CHECK(pages == 5 && nmaps == 5);
	reset_fakes();
}

/* ---- tests: bad headers ----------------------------------------------------*/

static void test_bad_ident(void)
{
	build_elf();
	for (int i = 0; i < 7; i++) {
		img[i] ^= 0x40;
		expect_reject(-PX_ENOEXEC);
	}
	img[4] = 1; /* ELFCLASS32 */
	expect_reject(-PX_ENOEXEC);
	img[5] = 2; /* big-endian */
	expect_reject(-PX_ENOEXEC);
	img[6] = 0;
	expect_reject(-PX_ENOEXEC);
	eh()->e_version = 0;
	expect_reject(-PX_ENOEXEC);
}

static void test_bad_type_machine(void)
{
	build_elf();
	eh()->e_type = 3; /* ET_DYN */
	expect_reject(-PX_ENOEXEC);
	eh()->e_type = 1; /* ET_REL */
	expect_reject(-PX_ENOEXEC);
	eh()->e_machine = ELF_EM_AARCH64;
	expect_reject(-PX_ENOEXEC);
	eh()->e_machine = 62; /* x86-64 */
	expect_reject(-PX_ENOEXEC);
	eh()->e_ehsize = 52;
	expect_reject(-PX_ENOEXEC);
	eh()->e_phentsize = 32;
	expect_reject(-PX_ENOEXEC);
}

static void test_bad_phdr_table(void)
{
	build_elf();
	eh()->e_phnum = 0;
	expect_reject(-PX_ENOEXEC);
	eh()->e_phnum = ELF_PHNUM_MAX + 1;
	expect_reject(-PX_ENOEXEC);
	eh()->e_phnum = 0xffff;
	expect_reject(-PX_ENOEXEC);
	eh()->e_phoff = IMG_SIZE;
	expect_reject(-PX_ENOEXEC);
	eh()->e_phoff = IMG_SIZE - 4 * sizeof(struct elf64_phdr) + 1; /* one byte short */
	expect_reject(-PX_ENOEXEC);
	eh()->e_phoff = UINT64_MAX - 10;
	expect_reject(-PX_ENOEXEC);
	eh()->e_phoff = UINT64_MAX - 4 * sizeof(struct elf64_phdr) + 1; /* wraps to 0 */
	expect_reject(-PX_ENOEXEC);
	/* No loadable segment at all. */
	for (unsigned i = 0; i < 4; i++)
		ph(i)->p_type = 4;
	expect_reject(-PX_ENOEXEC);
}

/* Every truncation of the image is refused (the last segment ends at its end). */
static void test_truncated(void)
{
	uint64_t entry, brk;
	size_t pages;
	int bad = 0;

	build_elf();
	for (size_t n = 0; n < IMG_SIZE; n++) {
		unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */

		memcpy(copy, img, n);
		if (elf_load(ROOT, copy, n, MACH, &entry, &brk, &pages) != -PX_ENOEXEC ||
		    nmaps != 0 || live_pages != 0)
			bad++;
		free(copy);
		reset_fakes();
	}
	CHECK(bad == 0);
	CHECK(elf_load(ROOT, NULL, 0, MACH, &entry, &brk, &pages) == -PX_ENOEXEC);
}

/* ---- tests: bad segments ---------------------------------------------------*/

static void test_segment_beyond_file(void)
{
	build_elf();
	ph(2)->p_offset = IMG_SIZE + 0x1000; /* congruent, past the end */
	ph(2)->p_vaddr = B + 0x5000;
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_filesz = 0x101;
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_filesz = UINT64_MAX; /* offset + filesz wraps */
	ph(2)->p_memsz = UINT64_MAX;
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_offset = UINT64_MAX - 0xfff; /* far past the end */
	expect_reject(-PX_ENOEXEC);
}

static void test_memsz_below_filesz(void)
{
	build_elf();
	ph(2)->p_memsz = 0xff;
	expect_reject(-PX_ENOEXEC);
	ph(0)->p_memsz = 0;
	expect_reject(-PX_ENOEXEC);
}

static void test_vaddr_range(void)
{
	build_elf();
	ph(2)->p_vaddr = 0x3000; /* below the user range */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = 0x80003000; /* the kernel's RAM */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = B - 0x1000; /* starting below the base, ending inside */
	ph(2)->p_offset = 0x3000;
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = ELF_USER_HI - 0x1000; /* runs into the ring area */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = ELF_USER_HI; /* starts there */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = PX_STACK_TOP - 0x1000; /* the stack */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = UINT64_MAX - 0xfff; /* vaddr + memsz wraps */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_memsz = UINT64_MAX - 0x1000; /* huge */
	expect_reject(-PX_ENOEXEC);
	/* Ends exactly at the limit: accepted (vaddr + memsz == ELF_USER_HI). */
	{
		uint64_t entry, brk;
		size_t pages;

		ph(2)->p_vaddr = ELF_USER_HI - 0x3000; /* congruent with offset 0x3000 */
		ph(2)->p_memsz = 0x3000;
		CHECK(load(IMG_SIZE, &entry, &brk, &pages) == 0);
		CHECK(brk == ELF_USER_HI && pages == 6);
		reset_fakes();
		build_elf();
	}
}

static void test_overlap(void)
{
	build_elf();
	ph(1)->p_vaddr = B + 0x1000; /* rodata on text's second page */
	ph(1)->p_offset = 0x2000;
	expect_reject(-PX_ENOEXEC);
	ph(1)->p_vaddr = B + 0x1800; /* same page, different bytes */
	ph(1)->p_offset = 0x2800;
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_vaddr = B; /* data on text */
	ph(2)->p_offset = 0x3000;
	expect_reject(-PX_ENOEXEC);
	*ph(1) = *ph(0); /* a duplicate */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_memsz = 0x4000; /* bss runs over ... */
	ph(1)->p_vaddr = B + 0x6000; /* ... a later segment */
	ph(1)->p_offset = 0x2000;
	expect_reject(-PX_ENOEXEC);
}

static void test_perms(void)
{
	build_elf();
	ph(0)->p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X; /* W^X */
	expect_reject(-PX_ENOEXEC);
	ph(2)->p_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X;
	expect_reject(-PX_ENOEXEC);
	ph(1)->p_flags = ELF_PF_W | ELF_PF_X;
	expect_reject(-PX_ENOEXEC);
	ph(1)->p_flags = ELF_PF_W; /* W without R */
	expect_reject(-PX_ENOEXEC);
	ph(0)->p_flags = ELF_PF_X; /* execute-only: refused too */
	expect_reject(-PX_ENOEXEC);
}

static void test_entry(void)
{
	build_elf();
	eh()->e_entry = B + 0x3000; /* in data */
	expect_reject(-PX_ENOEXEC);
	eh()->e_entry = B + 0x2000; /* in rodata */
	expect_reject(-PX_ENOEXEC);
	eh()->e_entry = B + 0x1800; /* one past text */
	expect_reject(-PX_ENOEXEC);
	eh()->e_entry = 0;
	expect_reject(-PX_ENOEXEC);
	eh()->e_entry = B - 1;
	expect_reject(-PX_ENOEXEC);
	{
		uint64_t entry, brk;
		size_t pages;

		eh()->e_entry = B + 0x17ff; /* the last text byte: fine */
		CHECK(load(IMG_SIZE, &entry, &brk, &pages) == 0 && entry == B + 0x17ff);
		reset_fakes();
		build_elf();
	}
}

static void test_misaligned_offset(void)
{
	build_elf();
	ph(2)->p_offset = 0x3008;
	ph(2)->p_filesz = 0xf8;
	expect_reject(-PX_ENOEXEC);
	ph(0)->p_vaddr = B + 4;
	ph(0)->p_memsz = 0x1700;
	expect_reject(-PX_ENOEXEC);
}

/* ---- tests: running out of memory ------------------------------------------*/

static void test_alloc_failure(void)
{
	uint64_t entry, brk;
	size_t pages;
	int bad = 0;

	build_elf();
	for (int k = 0; k < 6; k++) {
		alloc_fail_at = k;
		if (load(IMG_SIZE, &entry, &brk, &pages) != -PX_ENOMEM || nmaps || live_pages)
			bad++;
		reset_fakes();
		map_fail_at = k;
		if (load(IMG_SIZE, &entry, &brk, &pages) != -PX_ENOMEM || nmaps || live_pages)
			bad++;
		reset_fakes();
	}
	CHECK(bad == 0);
	alloc_fail_at = 6; /* the 7th allocation would fail; 6 are enough */
	CHECK(load(IMG_SIZE, &entry, &brk, &pages) == 0);
	reset_fakes();
}

/* A page already mapped (arch_vm_map refuses it): the loader undoes its
 * own pages and leaves the other mapping alone. */
static void test_existing_mapping(void)
{
	uint64_t entry, brk;
	size_t pages;
	void *mine = kpage_alloc();

	build_elf();
	CHECK(arch_vm_map(ROOT, B + 0x4000, (uintptr_t)mine, VM_R | VM_U) == 0);
	CHECK(load(IMG_SIZE, &entry, &brk, &pages) == -PX_EINVAL);
	CHECK(nmaps == 1 && find_map(B + 0x4000) && find_map(B + 0x4000)->pa == (uintptr_t)mine);
	CHECK(live_pages == 1);
	reset_fakes();
}

/* ---- tests: archive ---------------------------------------------------------*/

/* The archive_init() blob: an empty archive. */
_Alignas(8) const unsigned char archive_blob[16] = "PXARCHV1\0\0\0\0\x10\0\0\0";
const uint64_t archive_blob_size = sizeof(archive_blob);

static _Alignas(8) unsigned char arc[16 + 2 * 48 + 8 + 16]; /* 136 bytes */

static struct archive_rec *arec(unsigned i)
{
	return (struct archive_rec *)(void *)(arc + 16 + i * 48);
}

/* Two programs: "alpha" (5 bytes at 112) and "beta" (16 bytes at 120). */
static void build_archive(void)
{
	struct archive_header h = { "PXARCHV1", 2, sizeof(arc) };

	memset(arc, 0, sizeof(arc));
	memcpy(arc, &h, sizeof(h));
	*arec(0) = (struct archive_rec){ "alpha", 112, 5 };
	*arec(1) = (struct archive_rec){ "beta", 120, 16 };
	memcpy(arc + 112, "AAAAA", 5);
	memcpy(arc + 120, "BBBBBBBBBBBBBBBB", 16);
}

static void arc_reject(void)
{
	CHECK(archive_load(arc, sizeof(arc)) == -PX_ENOEXEC);
	CHECK(archive_count() == 0);
	build_archive();
}

static void test_archive(void)
{
	const void *data;
	const char *name;
	size_t size;

	CHECK(archive_init() == 0 && archive_count() == 0);
	CHECK(archive_find("init", &data, &size) == -PX_ENOENT);

	build_archive();
	CHECK(archive_load(arc, sizeof(arc)) == 0 && archive_count() == 2);
	CHECK(archive_find("beta", &data, &size) == 0 && data == arc + 120 && size == 16);
	CHECK(archive_find("alpha", &data, &size) == 0 && data == arc + 112 && size == 5);
	CHECK(archive_find("alph", &data, &size) == -PX_ENOENT);
	CHECK(archive_find("alphabet", &data, &size) == -PX_ENOENT);
	CHECK(archive_find("", &data, &size) == -PX_ENOENT);
	CHECK(archive_entry(1, &name, &size) == 0 && strcmp(name, "beta") == 0 && size == 16);
	CHECK(archive_entry(2, &name, &size) == -PX_ENOENT);
	CHECK(archive_load(arc, sizeof(arc) - 8) == -PX_ENOEXEC); /* a short blob */

	build_archive();
	arc[0] = 'X';
	arc_reject();
	memcpy(arc + 8, &(uint32_t){ 3 }, 4); /* a third entry over the data */
	arc_reject();
	memcpy(arc + 8, &(uint32_t){ ARCHIVE_COUNT_MAX + 1 }, 4);
	arc_reject();
	memcpy(arc + 12, &(uint32_t){ sizeof(arc) + 8 }, 4); /* claims more than it has */
	arc_reject();
	memset(arec(1)->name, 'n', ARCHIVE_NAME_MAX); /* no NUL */
	arc_reject();
	arec(1)->name[0] = '\0'; /* empty */
	arc_reject();
	strcpy(arec(1)->name, "alpha"); /* duplicate */
	arc_reject();
	arec(1)->offset = 121; /* misaligned */
	arc_reject();
	arec(1)->offset = 104; /* inside the table */
	arc_reject();
	arec(1)->size = 17; /* one past the end */
	arc_reject();
	arec(1)->offset = sizeof(arc) + 8;
	arec(1)->size = 0;
	arc_reject();
	arec(1)->size = UINT64_MAX - 100; /* offset + size wraps */
	arc_reject();
	CHECK(archive_load(arc + 1, sizeof(arc) - 1) == -PX_ENOEXEC); /* misaligned blob */
	CHECK(archive_load(NULL, 0) == -PX_ENOEXEC);
	for (size_t n = 0; n < sizeof(arc); n++) /* every truncation */
		CHECK(archive_load(arc, n) == -PX_ENOEXEC);
}

/* ---- real programs: build/<arch>/user/archive.bin ---------------------------*/

static int check_real(const char *path, unsigned machine)
{
	FILE *f = fopen(path, "rb");
	unsigned char *blob;
	long len;
	int fails = failed_checks;

	if (f == NULL) {
		printf("    %s: cannot open\n", path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	blob = aligned_alloc(8, ((size_t)len + 7) & ~(size_t)7);
	CHECK(blob && fread(blob, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	CHECK(archive_load(blob, (size_t)len) == 0);
	CHECK(archive_count() >= 5);
	for (unsigned i = 0; i < archive_count(); i++) {
		const char *name;
		const void *data, *data2;
		size_t size, size2, pages;
		uint64_t entry, brk;
		unsigned xpages = 0;

		CHECK(archive_entry(i, &name, &size) == 0);
		CHECK(archive_find(name, &data2, &size2) == 0 && size2 == size);
		data = data2;
		CHECK(elf_load(ROOT, data, size, machine, &entry, &brk, &pages) == 0);
		CHECK(nmaps == pages && (long)pages == live_pages && pages > 0);
		CHECK(entry >= PX_USER_BASE && brk > entry && brk % PAGE_SIZE == 0);
		CHECK(bad_map == 0);
		for (size_t m = 0; m < nmaps; m++)
			xpages += !!(maps[m].perm & VM_X);
		CHECK(xpages > 0 && xpages < pages);
		printf("    %s %-6s %6zu bytes: %2zu pages (%u X), entry %#llx, brk %#llx\n",
		       machine == ELF_EM_RISCV ? "riscv64" : "aarch64", name, size, pages, xpages,
		       (unsigned long long)entry, (unsigned long long)brk);
		reset_fakes();
		/* The other arch's loader refuses it. */
		CHECK(elf_load(ROOT, data, size, machine == ELF_EM_RISCV ? ELF_EM_AARCH64 : ELF_EM_RISCV,
			       &entry, &brk, &pages) == -PX_ENOEXEC);
		CHECK(nmaps == 0 && live_pages == 0);
	}
	archive_load(NULL, 0);
	free(blob);
	return failed_checks != fails;
}

/* ---- runner -------------------------------------------------------------------*/

static const struct {
	void (*fn)(void);
	const char *name;
} tests[] = {
	{ test_valid, "valid image maps 6 pages with the right bytes and perms" },
	{ test_unaligned_image, "image at an odd address" },
	{ test_unaligned_vaddr, "segment starting mid-page" },
	{ test_ignored_segments, "empty PT_LOAD and PT_NOTE ignored" },
	{ test_bad_ident, "bad magic, class, data, version" },
	{ test_bad_type_machine, "bad type, machine, header sizes" },
	{ test_bad_phdr_table, "program headers out of range or overflowing" },
	{ test_truncated, "truncated at every length" },
	{ test_segment_beyond_file, "segment beyond the file" },
	{ test_memsz_below_filesz, "memsz < filesz" },
	{ test_vaddr_range, "vaddr outside the user range or wrapping" },
	{ test_overlap, "overlapping segments" },
	{ test_perms, "W+X and unreadable segments" },
	{ test_entry, "entry outside every X segment" },
	{ test_misaligned_offset, "vaddr and offset not page-congruent" },
	{ test_alloc_failure, "out of frames / table pages at every page" },
	{ test_existing_mapping, "existing mapping: undo only our own pages" },
	{ test_archive, "archive lookups and every corruption" },
};

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int before = failed_checks;

		tests[i].fn();
		reset_fakes();
		if (live_pages != 0) {
			printf("    leaked %ld pages\n", live_pages);
			failed_checks++;
			live_pages = 0;
		}
		if (failed_checks == before) {
			printf("elf: %s: OK\n", tests[i].name);
			passed++;
		} else {
			printf("elf: %s: FAILED\n", tests[i].name);
			failed++;
		}
	}
	/* Arguments: archive.bin:machine for each built arch. */
	for (int i = 1; i < argc; i++) {
		char path[4096];
		char *colon;
		unsigned machine;

		snprintf(path, sizeof(path), "%s", argv[i]);
		colon = strrchr(path, ':');
		if (colon == NULL) {
			printf("usage: %s [archive.bin:machine]...\n", argv[0]);
			return 2;
		}
		*colon = '\0';
		machine = (unsigned)strtoul(colon + 1, NULL, 0);
		if (check_real(path, machine) == 0) {
			printf("elf: every program in %s loads: OK\n", path);
			passed++;
		} else {
			printf("elf: every program in %s loads: FAILED\n", path);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

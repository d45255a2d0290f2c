/* Physical memory: frames by bump-then-free-list, and size-class kernel heap. */
#include <string.h>

#include "arch/arch.h"
#include "executor/spin.h"
#include "kernel/kalloc.h"
#include "kernel/platform.h"

extern char __kernel_end[];

/*
 * Frames come from up to MAX_RANGES free ranges of RAM, handed out by
 * moving a cursor (so boot does no per-page work), and from a free list
 * threaded through returned pages.  One spin lock covers both.
 */
#define MAX_RANGES 4

struct range {
	uintptr_t next, end;
};

static struct {
	struct spin lock;
	struct range r[MAX_RANGES];
	unsigned nr;
	void *free_list;
	size_t total, nfree;
	unsigned fail_next;
} mem = { .lock = SPIN_INIT };

static uintptr_t page_up(uintptr_t a)
{
	return (a + PAGE_SIZE - 1) & ~(uintptr_t)(PAGE_SIZE - 1);
}

static uintptr_t page_down(uintptr_t a)
{
	return a & ~(uintptr_t)(PAGE_SIZE - 1);
}

static void add_range(uintptr_t lo, uintptr_t hi)
{
	lo = page_up(lo);
	hi = page_down(hi);
	if (lo >= hi || mem.nr == MAX_RANGES)
		return;
	mem.r[mem.nr++] = (struct range){ lo, hi };
	mem.total += (hi - lo) / PAGE_SIZE;
	mem.nfree += (hi - lo) / PAGE_SIZE;
}

void kalloc_init(const struct platform *plat, const void *dtb, size_t dtb_size)
{
	uintptr_t lo = (uintptr_t)__kernel_end;
	uintptr_t hi = (uintptr_t)(plat->mem_base + plat->mem_size);
	uintptr_t d0 = page_down((uintptr_t)dtb), d1 = page_up((uintptr_t)dtb + dtb_size);

	if (lo < plat->mem_base)
		lo = (uintptr_t)plat->mem_base;
	if (dtb && d0 < hi && d1 > lo) {
		/* The blob sits inside free RAM (QEMU puts it there): skip it. */
		add_range(lo, d0 > lo ? d0 : lo);
		add_range(d1 < hi ? d1 : hi, hi);
	} else {
		add_range(lo, hi);
	}
}

void kalloc_fail_next(unsigned n)
{
	unsigned long f = spin_lock(&mem.lock);
	mem.fail_next = n;
	spin_unlock(&mem.lock, f);
}

void *kpage_alloc(void)
{
	void *p = NULL;
	unsigned long f = spin_lock(&mem.lock);
	if (mem.fail_next) {
		mem.fail_next--;
	} else if (mem.free_list) {
		p = mem.free_list;
		mem.free_list = *(void **)p;
	} else {
		for (unsigned i = 0; i < mem.nr; i++)
			if (mem.r[i].next < mem.r[i].end) {
				p = (void *)mem.r[i].next;
				mem.r[i].next += PAGE_SIZE;
				break;
			}
	}
	if (p)
		mem.nfree--;
	spin_unlock(&mem.lock, f);
	if (p)
		memset(p, 0, PAGE_SIZE);
	return p;
}

void kpage_free(void *page)
{
	if (!page)
		return;
	unsigned long f = spin_lock(&mem.lock);
	*(void **)page = mem.free_list;
	mem.free_list = page;
	mem.nfree++;
	spin_unlock(&mem.lock, f);
}

/* ---- Heap: power-of-two size classes, 32 .. KMALLOC_MAX bytes ------------*/

#define NCLASS 7 /* 32 64 128 256 512 1024 2048 */

static struct {
	struct spin lock;
	void *free[NCLASS];
	size_t bytes;
} heap = { .lock = SPIN_INIT };

static int size_class(size_t size)
{
	size_t c = 32;
	for (int i = 0; i < NCLASS; i++, c <<= 1)
		if (size <= c)
			return i;
	return -1;
}

void *kmalloc(size_t size)
{
	int c = size_class(size ? size : 1);
	size_t csize;
	void *p;

	if (c < 0)
		return NULL;
	csize = (size_t)32 << c;
	unsigned long f = spin_lock(&heap.lock);
	if (!heap.free[c]) {
		/* Carve a fresh page into blocks of this class. */
		spin_unlock(&heap.lock, f);
		char *page = kpage_alloc();
		if (!page)
			return NULL;
		f = spin_lock(&heap.lock);
		for (size_t off = 0; off + csize <= PAGE_SIZE; off += csize) {
			*(void **)(void *)(page + off) = heap.free[c];
			heap.free[c] = page + off;
		}
	}
	p = heap.free[c];
	heap.free[c] = *(void **)p;
	heap.bytes += csize;
	spin_unlock(&heap.lock, f);
	memset(p, 0, csize);
	return p;
}

size_t kmalloc_size(size_t size)
{
	int c = size_class(size ? size : 1);
	return c < 0 ? 0 : (size_t)32 << c;
}

void kfree(void *p, size_t size)
{
	int c = size_class(size ? size : 1);
	if (!p || c < 0)
		return;
	unsigned long f = spin_lock(&heap.lock);
	*(void **)p = heap.free[c];
	heap.free[c] = p;
	heap.bytes -= (size_t)32 << c;
	spin_unlock(&heap.lock, f);
}

void kalloc_stats(struct kalloc_stats *out)
{
	unsigned long f = spin_lock(&mem.lock);
	out->pages_total = mem.total;
	out->pages_free = mem.nfree;
	spin_unlock(&mem.lock, f);
	f = spin_lock(&heap.lock);
	out->heap_bytes = heap.bytes;
	spin_unlock(&heap.lock, f);
}

/* Physical memory: frames by bump-then-free-list, and the kernel heap's object caches. */
#include <string.h>

#include "arch/arch.h"
#include "executor/spin.h"
#include "kernel/kalloc.h"
#include "kernel/machine.h"
#include "kernel/panic.h"

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

void kalloc_init(const struct machine *mach, const void *dtb, size_t dtb_size)
{
	uintptr_t lo = (uintptr_t)__kernel_end;
	uintptr_t hi = (uintptr_t)(mach->mem_base + mach->mem_size);
	uintptr_t d0 = page_down((uintptr_t)dtb), d1 = page_up((uintptr_t)dtb + dtb_size);

	if (lo < mach->mem_base)
		lo = (uintptr_t)mach->mem_base;
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
	void *p = kpage_alloc_raw();
	if (p)
		memset(p, 0, PAGE_SIZE);
	return p;
}

void *kpage_alloc_raw(void)
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

/* ---- Heap: caches of one object size; kmalloc's power-of-two classes ------*/

/* One lock for every cache: allocations are rare next to page use. */
static struct {
	struct spin lock;
	size_t bytes;
} heap = { .lock = SPIN_INIT };

/* An object of c's size, not zeroed. */
static void *cache_take(struct kcache *c)
{
	void *p;

	if (c->size < sizeof(void *) || c->size > PAGE_SIZE)
		panic("kcache_alloc: object size %zu (cache not initialised?)", c->size);
	unsigned long f = spin_lock(&heap.lock);
	if (!c->free) {
		/* Carve a fresh page into objects of this size. */
		spin_unlock(&heap.lock, f);
		char *page = kpage_alloc();
		if (!page)
			return NULL;
		f = spin_lock(&heap.lock);
		for (size_t off = 0; off + c->size <= PAGE_SIZE; off += c->size) {
			*(void **)(void *)(page + off) = c->free;
			c->free = page + off;
		}
	}
	p = c->free;
	c->free = *(void **)p;
	heap.bytes += c->size;
	spin_unlock(&heap.lock, f);
	return p;
}

void *kcache_alloc(struct kcache *c)
{
	void *p = cache_take(c);
	if (p)
		memset(p, 0, c->size);
	return p;
}

void kcache_free(struct kcache *c, void *p)
{
	if (!p)
		return;
	unsigned long f = spin_lock(&heap.lock);
	*(void **)p = c->free;
	c->free = p;
	heap.bytes -= c->size;
	spin_unlock(&heap.lock, f);
}

#define NCLASS 7 /* 32 64 128 256 512 1024 2048 */

static struct kcache classes[NCLASS] = {
	KCACHE_INIT(32), KCACHE_INIT(64), KCACHE_INIT(128), KCACHE_INIT(256),
	KCACHE_INIT(512), KCACHE_INIT(1024), KCACHE_INIT(2048),
};

static int size_class(size_t size)
{
	size_t c = 32;
	for (int i = 0; i < NCLASS; i++, c <<= 1)
		if (size <= c)
			return i;
	return -1;
}

void *kmalloc_raw(size_t size)
{
	int c = size_class(size ? size : 1);
	return c < 0 ? NULL : cache_take(&classes[c]);
}

void *kmalloc(size_t size)
{
	void *p = kmalloc_raw(size);
	/* The bytes asked for, not the class: the rest is never read (a
	 * 1,352-byte fs_call would otherwise clear 2,048 per file operation). */
	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p, size_t size)
{
	int c = size_class(size ? size : 1);
	if (c >= 0)
		kcache_free(&classes[c], p);
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

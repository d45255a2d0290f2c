/* Physical memory: 4 KiB frames, and a small-object heap for kernel structures. */
#ifndef KERNEL_KALLOC_H
#define KERNEL_KALLOC_H

#include <stddef.h>
#include <stdint.h>

struct machine;

/* Hand every RAM page the device tree reports to the allocator, except
 * the firmware and kernel image below __kernel_end and the device-tree
 * blob [dtb, dtb + dtb_size). */
void kalloc_init(const struct machine *mach, const void *dtb, size_t dtb_size);

/* kpage_alloc / kpage_free are declared in arch/arch.h (the page-table
 * code uses them too): zeroed 4 KiB frames, addressed physically. */

struct kalloc_stats {
	size_t pages_total;   /* frames the allocator manages */
	size_t pages_free;
	size_t heap_bytes;    /* bytes handed out by kmalloc and not freed */
};
void kalloc_stats(struct kalloc_stats *out);

/* A 4 KiB frame as kpage_alloc gives it, not zeroed (the caller writes
 * every byte it reads); freed with kpage_free. */
void *kpage_alloc_raw(void);

/* Kernel heap for objects up to KMALLOC_MAX bytes (size classes of powers
 * of two from 32), its `size` bytes zeroed.  NULL when memory is exhausted.  kfree(NULL)
 * does nothing; the size is needed to find the class (callers know it). */
#define KMALLOC_MAX 2048
void *kmalloc(size_t size);
/* The same, not zeroed (the caller writes every byte it reads). */
void *kmalloc_raw(size_t size);
void kfree(void *p, size_t size);

/*
 * A cache of objects of one size with pages of its own, for a subsystem
 * whose objects should not share blocks with anyone else's: the heap
 * keeps every page it carves, so in a shared size class one user's peak
 * takes pages that another's then never needs (and a page count taken
 * around the other's work moves).  size: a multiple of 16, at most
 * PAGE_SIZE (a page holds PAGE_SIZE / size objects).  kcache_alloc
 * returns a zeroed object, NULL when memory is exhausted; kcache_free(c,
 * NULL) does nothing.  Counted in kalloc_stats' heap_bytes.
 */
struct kcache {
	size_t size;
	void *free;    /* free objects, linked through their first word */
};
#define KCACHE_INIT(objsize) { .size = (objsize), .free = NULL }
void *kcache_alloc(struct kcache *c);
void kcache_free(struct kcache *c, void *p);

/* Fault injection, a debug feature of every build (one test of a counter
 * on the page-allocation path, under the lock it takes anyway): make the
 * next n kpage_alloc calls fail as if memory were exhausted; 0 stops it.
 * The in-kernel tests use it to prove that every caller copes. */
void kalloc_fail_next(unsigned n);

#endif /* KERNEL_KALLOC_H */

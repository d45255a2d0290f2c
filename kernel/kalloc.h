/* Physical memory: 4 KiB frames, and a small-object heap for kernel structures. */
#ifndef KERNEL_KALLOC_H
#define KERNEL_KALLOC_H

#include <stddef.h>
#include <stdint.h>

struct platform;

/* Hand every RAM page the device tree reports to the allocator, except
 * the firmware and kernel image below __kernel_end and the device-tree
 * blob [dtb, dtb + dtb_size). */
void kalloc_init(const struct platform *plat, const void *dtb, size_t dtb_size);

/* kpage_alloc / kpage_free are declared in arch/arch.h (the page-table
 * code uses them too): zeroed 4 KiB frames, addressed physically. */

struct kalloc_stats {
	size_t pages_total;   /* frames the allocator manages */
	size_t pages_free;
	size_t heap_bytes;    /* bytes handed out by kmalloc and not freed */
};
void kalloc_stats(struct kalloc_stats *out);

/* Kernel heap for objects up to KMALLOC_MAX bytes (size classes of powers
 * of two from 32), zeroed.  NULL when memory is exhausted.  kfree(NULL)
 * does nothing; the size is needed to find the class (callers know it). */
#define KMALLOC_MAX 2048
void *kmalloc(size_t size);
void kfree(void *p, size_t size);
/* Bytes kmalloc(size) really takes: its size class (0 if too big). */
size_t kmalloc_size(size_t size);

/* Fault injection for tests (KTEST builds): make the next n page
 * allocations fail. */
void kalloc_fail_next(unsigned n);

#endif /* KERNEL_KALLOC_H */

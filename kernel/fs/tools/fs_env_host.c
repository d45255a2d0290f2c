/* The file-system core's environment on the host: malloc, memcpy, stderr (tools and tests). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/fs_env.h"
#include "lib/uapi/pollux.h"

/*
 * vm is ignored and va is a host pointer.  fs_env_quiet silences the
 * messages (the fuzzer meets damage on every input); fs_env_fail_allocs
 * makes the next n allocations fail and fs_env_fail_in = k the one after
 * the next k, for the tests; fs_env_fault_at plays memory unmapped while
 * a write copies it.  An allocation the
 * kernel could not make (over 2048 bytes) aborts.
 */
int fs_env_quiet;
unsigned fs_env_fail_allocs;
_Atomic unsigned long fs_env_live_allocs; /* atomic: fs_stress allocates on 4 threads */
long fs_env_fail_in = -1;    /* >= 0: the allocation after this many fails */
uintptr_t fs_env_fault_at;   /* nonzero: copyin copies up to this address, then fails */

static int fail_now(void)
{
	if (fs_env_fail_in >= 0 && fs_env_fail_in-- == 0)
		return 1;
	if (fs_env_fail_allocs) {
		fs_env_fail_allocs--;
		return 1;
	}
	return 0;
}

void *fs_env_alloc(size_t n)
{
	if (n > 2048)
		abort(); /* the kernel's kmalloc could not give it */
	if (fail_now())
		return NULL;
	void *p = calloc(1, n);
	if (p)
		fs_env_live_allocs++;
	return p;
}

void *fs_env_alloc_head(size_t n, size_t zeroed)
{
	unsigned char *p = fs_env_alloc(n);
	if (p && zeroed < n)
		memset(p + zeroed, 0xa5, n - zeroed);
	return p;
}

void fs_env_free(void *p, size_t n)
{
	(void)n;
	if (p)
		fs_env_live_allocs--;
	free(p);
}

void *fs_env_page_alloc(void)
{
	if (fail_now())
		return NULL;
	fs_env_live_allocs++;
	return calloc(1, 4096);
}

void fs_env_page_free(void *p)
{
	if (p)
		fs_env_live_allocs--;
	free(p);
}

int fs_env_copyout(const void *vm, uint64_t va, const void *src, size_t n)
{
	(void)vm;
	if (!va)
		return -PX_EFAULT;
	memcpy((void *)(uintptr_t)va, src, n);
	return 0;
}

int fs_env_copyin(const void *vm, void *dst, uint64_t va, size_t n)
{
	(void)vm;
	if (!va)
		return -PX_EFAULT;
	if (fs_env_fault_at && va + n > fs_env_fault_at) {
		/* memory unmapped from fs_env_fault_at on: a partial copy */
		if (va < fs_env_fault_at)
			memcpy(dst, (const void *)(uintptr_t)va, fs_env_fault_at - va);
		return -PX_EFAULT;
	}
	memcpy(dst, (const void *)(uintptr_t)va, n);
	return 0;
}

void fs_env_say(const char *fmt, ...)
{
	if (fs_env_quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

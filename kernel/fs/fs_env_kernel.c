/* The file-system core's environment in the kernel: kmalloc, kpage_alloc, copyin/copyout, printf. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/fs/fs_env.h"
#include "kernel/fsys.h"
#include "kernel/kalloc.h"
#include "kernel/uaccess.h"

/*
 * vm is the program's address space (a struct vm_root), va a user
 * address: the copies check the page table at the moment they copy, as
 * every future that touches user memory must (docs/kernel.md, "User
 * memory").  A kernel caller (the boot code reading /bin) passes vm ==
 * NULL and a kernel address in va.
 */

void *fs_env_alloc(size_t n)
{
	return kmalloc(n);
}

void *fs_env_alloc_head(size_t n, size_t zeroed)
{
	unsigned char *p = kmalloc_raw(n);
	if (p)
		memset(p, 0, zeroed < n ? zeroed : n);
	return p;
}

void fs_env_free(void *p, size_t n)
{
	kfree(p, n);
}

void *fs_env_page_alloc(void)
{
	return kpage_alloc();
}

void fs_env_page_free(void *p)
{
	kpage_free(p);
}

int fs_env_copyout(const void *vm, uint64_t va, const void *src, size_t n)
{
	if (!vm) {
		memcpy((void *)(uintptr_t)va, src, n);
		return 0;
	}
	return copyout(vm, va, src, n);
}

int fs_env_copyin(const void *vm, void *dst, uint64_t va, size_t n)
{
	if (!vm) {
		memcpy(dst, (const void *)(uintptr_t)va, n);
		return 0;
	}
	return copyin(vm, dst, va, n);
}

bool fs_env_kernel_boot_mount, fs_env_kernel_said;

void fs_env_say(const char *fmt, ...)
{
	static const char refused[] = "fs: not mounting";
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fs_env_kernel_boot_mount && strncmp(fmt, refused, sizeof(refused) - 1) == 0) {
		fs_env_kernel_said = true;
		printf("; programs come from the kernel's archive");
	}
	putchar('\n');
}

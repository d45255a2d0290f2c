/* What the file-system core needs from its environment: memory, user memory, messages. */
#ifndef KERNEL_FS_FS_ENV_H
#define KERNEL_FS_FS_ENV_H

#include <stddef.h>
#include <stdint.h>

/*
 * The core (the .c files of kernel/fs) runs in the kernel and on the host.  Each
 * environment implements these once: the kernel in kernel/fs/fs_env_kernel.c
 * (kmalloc, kpage_alloc, copyin/copyout, printf), the host in
 * kernel/fs/tools/fs_env_host.c (malloc, memcpy, stderr).  Every function
 * may be called from task context only, never from a trap handler.
 */

/* Zeroed memory of n bytes (n <= 2048), or NULL. */
void *fs_env_alloc(size_t n);
/* The same with only its first `zeroed` bytes zeroed: for an object whose
 * tail the caller writes before it reads (the host fills it with 0xa5, so
 * a test that reads it first goes wrong).  Freed with fs_env_free. */
void *fs_env_alloc_head(size_t n, size_t zeroed);
void fs_env_free(void *p, size_t n);
/* A zeroed 4 KiB page, or NULL. */
void *fs_env_page_alloc(void);
void fs_env_page_free(void *p);

/* A table of n bytes: from fs_env_alloc up to 2048, a page up to 4096
 * (the kernel has no bigger contiguous allocation); NULL beyond. */
static inline void *fs_env_table_alloc(size_t n)
{
	return n <= 2048 ? fs_env_alloc(n) : n <= 4096 ? fs_env_page_alloc() : NULL;
}

static inline void fs_env_table_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n <= 2048)
		fs_env_free(p, n);
	else
		fs_env_page_free(p);
}

/* Move bytes between a kernel buffer and the memory a read or write names
 * (`vm` and `va` as the caller gave them: a program's address space in
 * the kernel, a plain pointer on the host).  0 or -PX_EFAULT. */
int fs_env_copyout(const void *vm, uint64_t va, const void *src, size_t n);
int fs_env_copyin(const void *vm, void *dst, uint64_t va, size_t n);

/* One line for the console (the kernel) or stderr (the host): what the
 * mount found, an I/O error, damage met on the disk. */
void fs_env_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A place where a change made by another thread would do harm if it could
 * land: the stress test (kernel/fs/hosttest/fs_stress.c, built with
 * FS_RACE_POINTS) stalls there now and then, so a lock that stopped
 * covering it shows.  Elsewhere it is nothing. */
#ifdef FS_RACE_POINTS
void fs_env_race_point(void);
#else
static inline void fs_env_race_point(void)
{
}
#endif

#endif /* KERNEL_FS_FS_ENV_H */

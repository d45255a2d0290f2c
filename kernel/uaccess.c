/* Copying to and from user memory: page by page, through checked translations. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

int uaccess_range_ok(uint64_t va, uint64_t n)
{
	/* LAB 6 BEGIN */
	/* Written so that nothing can wrap: va + n is never computed. */
	return va >= PX_USER_BASE && va <= PX_USER_TOP && n <= PX_USER_TOP - va;
	/* LAB 6 STUB
	// LAB 6: accept [va, va+n) only inside [PX_USER_BASE, PX_USER_TOP),
	// without overflow (docs/labs/lab6.md).  Until then every range passes.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 6: implement uaccess_range_ok (kernel/uaccess.c)\n");
	}
	(void)va;
	(void)n;
	return 1;
	   LAB 6 END */
}

/* Kernel pointer to the byte at va if its page allows `need`; else NULL. */
static char *user_ptr(const struct vm_root *vm, uint64_t va, unsigned need)
{
	uint64_t pa;
	unsigned perm;
	/* LAB 6 BEGIN */
	if (!arch_vm_lookup(vm, va & ~(uint64_t)(PAGE_SIZE - 1), &pa, &perm))
		return NULL;
	if (!(perm & VM_U) || (perm & need) != need)
		return NULL;
	return (char *)(uintptr_t)(pa + (va & (PAGE_SIZE - 1)));
	/* LAB 6 STUB
	// LAB 6: refuse a page that is not mapped, not user-accessible or
	// lacks `need` (docs/labs/lab6.md).  Until then any mapped user page
	// will do, read-only text included (kernel pages are refused, so a
	// bad pointer cannot make the kernel overwrite itself meanwhile).
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 6: implement user_ptr (kernel/uaccess.c)\n");
	}
	(void)need;
	if (!arch_vm_lookup(vm, va & ~(uint64_t)(PAGE_SIZE - 1), &pa, &perm) ||
	    !(perm & VM_U))
		return NULL;
	return (char *)(uintptr_t)(pa + (va & (PAGE_SIZE - 1)));
	   LAB 6 END */
}

/*
 * Which address space each hart is copying from or to right now (NULL:
 * none).  Another process's task (a pipe reader, a ring operation) may
 * copy from a process's memory on one hart while the process itself frees
 * that memory on another (sbrk shrinking, exit).  The freeing side unmaps
 * a page, then waits in uaccess_quiesce until no hart is inside a copy of
 * that address space, and only then frees the frame: a copy that started
 * before the unmap finishes with the old frame, one that starts after it
 * finds no mapping (-PX_EFAULT).  Both sides put a full fence between
 * their store and their load (Dekker), so one of them always sees the
 * other.  Copies never wait inside (polls do not), so the wait is short.
 */
static const struct vm_root *_Atomic copying[SMP_MAX];

void uaccess_quiesce(const struct vm_root *vm)
{
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned h = 0; h < SMP_MAX; h++)
		while (atomic_load_explicit(&copying[h], memory_order_acquire) == vm)
			;
}

/* Copy n bytes between kernel memory k and user memory va, in page-sized
 * chunks; to_user says which way. */
static int copy(const struct vm_root *vm, void *k, uint64_t va, size_t n, int to_user)
{
	char *kp = k;
	int err = 0;
	if (!uaccess_range_ok(va, n))
		return -PX_EFAULT;
	_Atomic(const struct vm_root *) *mine = &copying[arch_hart_id()];
	atomic_store_explicit(mine, vm, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	while (n > 0) {
		size_t chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (chunk > n)
			chunk = n;
		char *u = user_ptr(vm, va, to_user ? VM_W : VM_R);
		if (!u) {
			err = -PX_EFAULT;
			break;
		}
		if (to_user)
			memcpy(u, kp, chunk);
		else
			memcpy(kp, u, chunk);
		kp += chunk;
		va += chunk;
		n -= chunk;
	}
	/* Release: our accesses to the frame are done before the freer
	 * may reuse it. */
	atomic_store_explicit(mine, NULL, memory_order_release);
	return err;
}

int copyin(const struct vm_root *vm, void *dst, uint64_t src_va, size_t n)
{
	return copy(vm, dst, src_va, n, 0);
}

int copyout(const struct vm_root *vm, uint64_t dst_va, const void *src, size_t n)
{
	return copy(vm, (void *)(uintptr_t)src, dst_va, n, 1);
}

int copyinstr(const struct vm_root *vm, char *dst, uint64_t src_va, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		if (!uaccess_range_ok(src_va + i, 1))
			return -PX_EFAULT;
		const char *u = user_ptr(vm, src_va + i, VM_R);
		if (!u)
			return -PX_EFAULT;
		/* The rest of this page can be scanned without another lookup. */
		size_t room = PAGE_SIZE - ((src_va + i) & (PAGE_SIZE - 1));
		for (size_t j = 0; j < room && i < max; j++, i++) {
			dst[i] = u[j];
			if (u[j] == '\0')
				return (int)i;
		}
		i--; /* the outer loop's i++ */
	}
	return -PX_E2BIG;
}

void *uaccess_kptr(const struct vm_root *vm, uint64_t va, size_t n, unsigned need,
		   size_t *chunk)
{
	size_t room = PAGE_SIZE - (va & (PAGE_SIZE - 1));
	if (!uaccess_range_ok(va, n ? n : 1))
		return NULL;
	*chunk = n < room ? n : room;
	return user_ptr(vm, va, need);
}

int uaccess_ok(const struct vm_root *vm, uint64_t va, size_t n, unsigned need)
{
	/* LAB 6 BEGIN */
	if (!uaccess_range_ok(va, n))
		return 0;
	/* In range, so va + n does not wrap; every page the range touches. */
	for (uint64_t pg = va & ~(uint64_t)(PAGE_SIZE - 1); pg < va + n; pg += PAGE_SIZE)
		if (!user_ptr(vm, pg, need))
			return 0;
	return 1;
	/* LAB 6 STUB
	// LAB 6: check every page of [va, va+n), not just the first
	// (docs/labs/lab6.md).
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 6: implement uaccess_ok (kernel/uaccess.c)\n");
	}
	return n == 0 || user_ptr(vm, va, need) != NULL;
	   LAB 6 END */
}

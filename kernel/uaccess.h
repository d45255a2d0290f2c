/* Copying to and from user memory, with every address checked first. */
#ifndef KERNEL_UACCESS_H
#define KERNEL_UACCESS_H

#include <stddef.h>
#include <stdint.h>

struct vm_root;

/*
 * The kernel never dereferences a user pointer.  Each function walks the
 * address space page by page (arch_vm_lookup), requires the page to be
 * user-accessible with the right permission, and copies through the
 * page's physical address (the kernel maps all RAM at its physical
 * address).  A range that wraps, leaves the user region or touches an
 * unmapped or wrong-permission page gives -PX_EFAULT and copies nothing
 * further; no fault is ever taken.
 */

/* True if [va, va+n) lies inside the user region without wrapping. */
int uaccess_range_ok(uint64_t va, uint64_t n);

int copyin(const struct vm_root *vm, void *dst, uint64_t src_va, size_t n);
int copyout(const struct vm_root *vm, uint64_t dst_va, const void *src, size_t n);
/* Copy a NUL-terminated string of at most max-1 characters; -PX_E2BIG if
 * no NUL within max bytes.  Returns its length. */
int copyinstr(const struct vm_root *vm, char *dst, uint64_t src_va, size_t max);

/* A kernel pointer to user memory at va, valid for *chunk bytes (at most
 * n, never past va's page), if that page allows `need` (VM_R or VM_W).
 * NULL for a bad address.  For I/O that fills user memory in place. */
void *uaccess_kptr(const struct vm_root *vm, uint64_t va, size_t n, unsigned need,
		   size_t *chunk);

/* Wait until no hart is inside a copyin/copyout of vm.  Call it after
 * unmapping a user page and before freeing its frame (the copy of
 * another task may still be using the frame it looked up). */
void uaccess_quiesce(const struct vm_root *vm);

/* True if all of [va, va+n) is mapped user memory allowing `need`. */
int uaccess_ok(const struct vm_root *vm, uint64_t va, size_t n, unsigned need);

#endif /* KERNEL_UACCESS_H */

/* Open files: reference counts, and the one place an operation is checked and started. */
#include <stddef.h>

#include "arch/arch.h"
#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/* Every field is written here: nothing to zero first. */
struct file *file_alloc(const struct file_ops *ops, void *obj)
{
	struct file *f = kmalloc_raw(sizeof(*f));
	if (f)
		*f = (struct file){ .ops = ops, .refs = 1, .obj = obj };
	return f;
}

struct file *file_alloc_with(const struct file_ops *ops, size_t objsize)
{
	if (objsize > KMALLOC_MAX - sizeof(struct file))
		return NULL;
	struct file *f = kmalloc_raw(sizeof(*f) + objsize);
	if (f)
		*f = (struct file){ .ops = ops, .refs = 1, .objsize = (uint32_t)objsize,
				    .obj = f + 1 };
	return f;
}

struct file *file_dup(struct file *f)
{
	if (f)
		atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void file_put(struct file *f)
{
	if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (f->ops->release)
		f->ops->release(f);
	kfree(f, sizeof(*f) + f->objsize);
}

int64_t file_start(enum io_op op, const struct io_req *rq, union io_slot *slot)
{
	const struct file_ops *ops = rq->file->ops;
	io_start_fn *start = ops->start[op];
	if (!start)
		return op == IO_FSYNC ? -PX_EINVAL : -PX_EBADF;
	switch (op) {
	case IO_READ:
	case IO_WRITE:
		if (rq->off != PX_OFF_CUR && !ops->seekable)
			return -PX_ESPIPE;
		if (rq->len == 0)
			return 0;
		if (!uaccess_ok(rq->vm, rq->va, rq->len, op == IO_READ ? VM_W : VM_R))
			return -PX_EFAULT;
		break;
	case IO_STAT:
		if (!uaccess_ok(rq->vm, rq->va, sizeof(struct px_stat), VM_W))
			return -PX_EFAULT;
		break;
	default:
		break;
	}
	return start(rq, slot);
}

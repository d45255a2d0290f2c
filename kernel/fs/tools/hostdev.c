/* What the file system's block devices on the host share: the request record and the flag waker. */
#include "kernel/fs/tools/hostdev.h"

void hostdev_start(struct fs_req *r, const struct future_vtable *vt, struct fs_dev *dev,
		   uint32_t block, const void *buf, bool write)
{
	struct hostdev_req *q = hostdev_req(r);
	r->base.vtable = vt;
	r->result = 0;
	q->dev = dev->ctx;
	q->block = block;
	q->write = write;
	q->buf = (void *)(uintptr_t)buf;
}

static struct raw_waker flag_clone(const void *data);
static void flag_wake(const void *data)
{
	*(bool *)(uintptr_t)data = true;
}
static void flag_drop(const void *data)
{
	(void)data;
}
static const struct raw_waker_vtable flag_vtable = { flag_clone, flag_wake, flag_wake, flag_drop };
static struct raw_waker flag_clone(const void *data)
{
	return (struct raw_waker){ data, &flag_vtable };
}

struct waker flag_waker(bool *flag)
{
	return (struct waker){ { flag, &flag_vtable } };
}

/* What the file system's block devices on the host share: the request they keep in fs_req.priv, and a waker that sets a flag. */
#ifndef KERNEL_FS_TOOLS_HOSTDEV_H
#define KERNEL_FS_TOOLS_HOSTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "executor/future.h"
#include "kernel/fs/fs_dev.h"

/*
 * Two devices use these: the image file of the tools (filedev.c, each
 * request done at its first poll) and the tests' fake disk in memory
 * (hosttest/fakedisk.c, requests completed later in any order).  Each
 * keeps a struct hostdev_req first in its own request state.
 */
struct hostdev_req {
	void *dev;          /* the fs_dev's ctx */
	uint32_t block;
	bool write;
	void *buf;          /* a write's buffer is only read */
};
_Static_assert(sizeof(struct hostdev_req) <= sizeof(((struct fs_req *)0)->priv), "fits");

static inline struct hostdev_req *hostdev_req(struct fs_req *r)
{
	return (struct hostdev_req *)(void *)r->priv;
}

/* Start r as a request of dev for block, polled through vt; result 0. */
void hostdev_start(struct fs_req *r, const struct future_vtable *vt, struct fs_dev *dev,
		   uint32_t block, const void *buf, bool write);

/* A waker whose wake sets *flag (clone and drop do nothing): for runners
 * that poll whichever future was woken.  *flag must outlive its clones. */
struct waker flag_waker(bool *flag);

#endif /* KERNEL_FS_TOOLS_HOSTDEV_H */

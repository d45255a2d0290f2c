/* The block device under the file system: one 4 KiB block per request, each request a future. */
#ifndef KERNEL_FS_FS_DEV_H
#define KERNEL_FS_FS_DEV_H

#include <stdint.h>

#include "executor/future.h"

/*
 * A request has the shape of the virtio-blk driver's struct blk_req
 * (kernel/virtio_blk.h): the device's read/write fills it in, nothing
 * happens until the first poll, poll drives it to Ready (result 0 or
 * -PX_E*), and the device wakes the waker of the last poll when it
 * completes.  The buffer (one 4 KiB block) and the request stay put
 * until Ready.  The file system never drops a request in flight: every
 * request it starts is polled to Ready (kernel/fs/fs_cache.c, fs_log.c).
 *
 * Devices: kernel/fs/fs_virtio.c (a struct blk_req inside priv),
 * kernel/fs/tools/filedev.c (a file, synchronous), the tests' fake disk
 * (kernel/fs/hosttest/fakedisk.c: completes in any order, fails,
 * crashes).
 */
#define FS_REQ_PRIV_WORDS 12

struct fs_req {
	struct future base;                 /* the device's poll and drop */
	int result;                         /* once Ready: 0 or -PX_E* */
	uint64_t priv[FS_REQ_PRIV_WORDS];   /* the device's own state */
};

struct fs_dev;

struct fs_dev_ops {
	void (*read)(struct fs_dev *d, struct fs_req *r, uint32_t block, void *buf);
	void (*write)(struct fs_dev *d, struct fs_req *r, uint32_t block, const void *buf);
	/* Optional (NULL: read): a read nobody waits for (read-ahead), which
	 * the device may refuse at once with -PX_EAGAIN when it is busy. */
	void (*read_ahead)(struct fs_dev *d, struct fs_req *r, uint32_t block, void *buf);
};

struct fs_dev {
	const struct fs_dev_ops *ops;
	uint64_t nblocks;                   /* 4 KiB blocks */
	void *ctx;                          /* the device's own */
};

#endif /* KERNEL_FS_FS_DEV_H */

/* An image file as the file system's block device (synchronous), and a runner for one operation. */
#ifndef KERNEL_FS_TOOLS_FILEDEV_H
#define KERNEL_FS_TOOLS_FILEDEV_H

#include <stdint.h>

#include "kernel/fs/fs.h"
#include "kernel/fs/fs_dev.h"

/*
 * Each request is done at its first poll: pread, or pwrite then
 * fdatasync, so a write that is Ready is on the host's disk and the log's
 * order (blocks, header, home locations) is the order they reach it.  A
 * tool that dies part way leaves the image as a power cut would: the
 * next mount (or fsck -r) finishes or forgets the last transaction.
 */
struct filedev {
	struct fs_dev dev;
	int fd;
	uint64_t reads, writes;
};

/* Open path (read-write) as a device: 0, or -1 with errno. */
int filedev_open(struct filedev *d, const char *path);
/* fsync and close: 0, or -1 with errno. */
int filedev_close(struct filedev *d);
/* One operation: started with its result or IO_STARTED, then polled to
 * Ready.  Returns io.result (-PX_EIO if it waits for nothing: the
 * caller must stop, the operation may hold resources). */
int64_t filedev_run1(union io_slot *slot, int64_t started);

#endif /* KERNEL_FS_TOOLS_FILEDEV_H */

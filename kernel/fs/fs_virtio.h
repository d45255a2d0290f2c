/* The file system's block device on virtio-blk. */
#ifndef KERNEL_FS_FS_VIRTIO_H
#define KERNEL_FS_FS_VIRTIO_H

#include "kernel/fs/fs_dev.h"

/* Fill *d for the disk blk_init found: 4 KiB blocks, each request one
 * struct blk_req of 8 sectors.  nblocks is 0 without a disk. */
void fs_virtio_dev(struct fs_dev *d);

#endif /* KERNEL_FS_FS_VIRTIO_H */

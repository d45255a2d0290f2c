/* The checker behind fsck, as a library: the fsck tool and the host tests call it. */
#ifndef KERNEL_FS_TOOLS_FSCK_CHECK_H
#define KERNEL_FS_TOOLS_FSCK_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * It reads the image only through these callbacks (a file for the tool,
 * a fake disk's memory for the tests) and knows nothing of the kernel's
 * file-system code: only kernel/fs/fs_format.h.  Each problem is one line
 * on `out` starting "fsck: error:" and naming the block, inode or entry;
 * facts that are not errors (a committed transaction waiting in the log)
 * start "fsck: note:".
 */
typedef int fsck_read_fn(void *ctx, uint32_t block, void *buf);        /* 0: ok */
typedef int fsck_write_fn(void *ctx, uint32_t block, const void *buf); /* 0: ok */

struct fsck_result {
	unsigned errors;
	unsigned notes;
	uint32_t files, dirs;       /* allocated inodes of each type */
	uint32_t used_blocks;       /* set in the block bitmap */
	bool replayed;              /* the log's transaction was written home */
};

/*
 * Check the image of disk_blocks blocks.  A committed transaction in the
 * log is checked as if replayed (the mount would replay it); with
 * wr != NULL it is replayed into the image and the log header cleared.
 * Returns the number of errors (also in res->errors).
 */
unsigned fsck_check(fsck_read_fn *rd, fsck_write_fn *wr, void *ctx, uint64_t disk_blocks,
		    FILE *out, struct fsck_result *res);

#endif /* KERNEL_FS_TOOLS_FSCK_CHECK_H */

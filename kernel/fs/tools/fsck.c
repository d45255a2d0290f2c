/* fsck: check a Pollux file-system image; exit 0 if consistent, 1 if not, 2 on usage errors. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fs/fs_format.h"
#include "kernel/fs/tools/fsck_check.h"

/*
 * usage: fsck [-r] IMAGE
 *
 * Checks the image as the kernel's mount would see it: a committed
 * transaction still in the log is checked as replayed.  With -r it is
 * replayed into the image (what the mount's recovery does) before the
 * check.  Every problem is one line naming the block, inode or entry.
 */

static int rd(void *ctx, uint32_t b, void *buf)
{
	int fd = *(int *)ctx;
	return pread(fd, buf, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) == FS_BLOCK_SIZE ? 0 : -1;
}

static int wr(void *ctx, uint32_t b, const void *buf)
{
	int fd = *(int *)ctx;
	return pwrite(fd, buf, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) == FS_BLOCK_SIZE ? 0 : -1;
}

int main(int argc, char **argv)
{
	int replay = 0, opt;
	while ((opt = getopt(argc, argv, "r")) != -1) {
		if (opt != 'r') {
			fprintf(stderr, "usage: fsck [-r] IMAGE\n");
			return 2;
		}
		replay = 1;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: fsck [-r] IMAGE\n");
		return 2;
	}
	int fd = open(argv[optind], replay ? O_RDWR : O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror("fsck");
		return 2;
	}
	struct fsck_result res;
	unsigned errors = fsck_check(rd, replay ? wr : NULL, &fd, (uint64_t)st.st_size / FS_BLOCK_SIZE,
				     stdout, &res);
	if (replay && fsync(fd) != 0) {
		perror("fsck");
		return 2;
	}
	close(fd);
	return errors ? 1 : 0;
}

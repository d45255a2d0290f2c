/* df: the file system's size, and the blocks and inodes still free. */
#include <stdio.h>

#include "px.h"
#include "pxutil.h"

int main(int argc, char **argv)
{
	struct px_statfs s;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: df  (the file system mounted at /)\n");
		return 2;
	}
	long r = px_statfs(&s);
	if (r < 0) {
		fprintf(stderr, "df: %s\n", r == -PX_ENODEV ? "no file system mounted"
			: errstr(px_errno(-r)));
		return 1;
	}
	unsigned long long kib = s.block_size / 1024;
	printf("%10s %10s %10s %8s %8s\n", "KiB", "used", "free", "inodes", "ifree");
	printf("%10llu %10llu %10llu %8llu %8llu\n", s.blocks * kib,
	       (s.blocks - s.blocks_free) * kib, s.blocks_free * kib, s.inodes, s.inodes_free);
	return 0;
}

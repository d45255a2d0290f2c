/* sync: make sure everything written so far is on the disk. */
#include <stdio.h>

#include "px.h"
#include "pxutil.h"

/*
 * Every operation that changes the disk is durable once it returns (its
 * transaction is committed: docs/fs.md, "The log"), so the sync syscall
 * has nothing left to write; the program exists because people type it.
 */
int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: sync\n");
		return 2;
	}
	long r = px_sync();
	if (r < 0) {
		fprintf(stderr, "sync: %s\n", errstr(px_errno(-r)));
		return 1;
	}
	return 0;
}

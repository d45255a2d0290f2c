/* ls: list the programs in the kernel's embedded archive, with their sizes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "px.h"

int main(void)
{
	char name[PX_PATH_MAX];

	for (unsigned i = 0;; i++) {
		long size = progs(i, name, sizeof(name));

		if (size < 0) {
			if (errno == ENOENT)
				return 0; /* past the last one */
			fprintf(stderr, "ls: %s\n", strerror(errno));
			return 1;
		}
		printf("%-16s %8ld\n", name, size);
	}
}

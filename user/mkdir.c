/* mkdir: make directories. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "px.h"
#include "pxutil.h"

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: mkdir DIR...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (mkdir(argv[i], 0777) < 0) {
			fprintf(stderr, "mkdir: %s: %s\n", argv[i], errstr(errno));
			status = 1;
		}
	}
	return status;
}

/* touch: create each file that does not exist (there are no timestamps to update). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "px.h"
#include "pxutil.h"

int main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: touch FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_WRONLY | O_CREAT, 0666);
		if (fd < 0) {
			fprintf(stderr, "touch: %s: %s\n", argv[i], errstr(errno));
			status = 1;
			continue;
		}
		close(fd);
	}
	return status;
}

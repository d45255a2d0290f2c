/* cat: copy each file (or standard input) to standard output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "pxutil.h"

/* Copy fd to stdout; name is for messages.  0, or 1 after an error. */
static int copy(int fd, const char *name)
{
	static char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0)
			return 0;
		if (n < 0) {
			fprintf(stderr, "cat: %s: %s\n", name, errstr(errno));
			return 1;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(1, buf + done, (size_t)(n - done));

			if (w <= 0) {
				fprintf(stderr, "cat: write: %s\n", w < 0 ? errstr(errno) : "no progress");
				return 1;
			}
			done += w;
		}
	}
}

int main(int argc, char **argv)
{
	int status = 0;

	if (argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0') {
		fprintf(stderr, "usage: cat [FILE...]  (no FILE or -: standard input)\n");
		return 2;
	}
	if (argc == 1)
		return copy(0, "stdin");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			status |= copy(0, "stdin");
			continue;
		}
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "cat: %s: %s\n", argv[i], errstr(errno));
			status = 1;
			continue;
		}
		status |= copy(fd, argv[i]);
		close(fd);
	}
	return status;
}

/* cat: copy standard input to standard output until end of input. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "px.h"

/* There is no file system yet: cat reads fd 0 only (a pipe or the console). */
int main(int argc, char **argv)
{
	char buf[512];

	if (argc > 1) {
		fprintf(stderr, "usage: %s  (copies stdin to stdout; no files yet)\n", argv[0]);
		return 2;
	}
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n == 0)
			return 0;
		if (n < 0) {
			fprintf(stderr, "cat: read: %s\n", strerror(errno));
			return 1;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(1, buf + done, (size_t)(n - done));

			if (w <= 0) {
				fprintf(stderr, "cat: write: %s\n", w < 0 ? strerror(errno) : "no progress");
				return 1;
			}
			done += w;
		}
	}
}

/* grep: print the lines that contain a fixed string. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "pxutil.h"

/*
 *   grep [-v] [-c] STRING [FILE...]
 *
 * Lines longer than LINE_MAX are looked at in LINE_MAX pieces.  With more
 * than one FILE each line printed starts with "FILE:".  Exit status 0 if
 * a line was selected, 1 if none, 2 after an error.
 */
#define LINE_MAX 1024

static int invert, count_only, prefix;
static const char *needle;

/* Lines of fd matching; -1 after an error (printed). */
static long grep_fd(int fd, const char *name)
{
	static char buf[4096], line[LINE_MAX + 1];
	size_t len = 0;
	long hits = 0;
	int end = 0;

	while (!end) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			fprintf(stderr, "grep: %s: %s\n", name, errstr(errno));
			return -1;
		}
		if (n == 0) {
			end = 1;
			if (len == 0)
				break;
		}
		for (ssize_t i = 0; i < n || (end && len > 0); i++) {
			int eol = end || buf[i] == '\n';
			if (!eol)
				line[len++] = buf[i];
			if (!eol && len < LINE_MAX)
				continue;
			line[len] = '\0';
			if ((strstr(line, needle) != NULL) != invert) {
				hits++;
				if (!count_only)
					printf("%s%s%s\n", prefix ? name : "", prefix ? ":" : "", line);
			}
			len = 0;
			if (end)
				break;
		}
	}
	return hits;
}

int main(int argc, char **argv)
{
	int i = 1, errors = 0;
	long hits = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "-v") == 0)
			invert = 1;
		else if (strcmp(argv[i], "-c") == 0)
			count_only = 1;
		else
			break;
	}
	if (i == argc || (argv[i][0] == '-' && argv[i][1] != '\0')) {
		fprintf(stderr, "usage: grep [-v] [-c] STRING [FILE...]\n");
		return 2;
	}
	needle = argv[i++];
	prefix = argc - i > 1;
	if (i == argc) {
		hits = grep_fd(0, "stdin");
		if (hits < 0)
			return 2;
		if (count_only)
			printf("%ld\n", hits);
		return hits > 0 ? 0 : 1;
	}
	for (; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "grep: %s: %s\n", argv[i], errstr(errno));
			errors = 1;
			continue;
		}
		long h = grep_fd(fd, argv[i]);
		close(fd);
		if (h < 0) {
			errors = 1;
			continue;
		}
		if (count_only)
			printf("%s%s%ld\n", prefix ? argv[i] : "", prefix ? ":" : "", h);
		hits += h;
	}
	return errors ? 2 : hits > 0 ? 0 : 1;
}

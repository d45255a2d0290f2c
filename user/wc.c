/* wc: count lines, words and bytes of each file (or standard input). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "pxutil.h"

struct counts {
	unsigned long long lines, words, bytes;
};

static int count(int fd, const char *name, struct counts *c)
{
	static char buf[4096];
	int in_word = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			fprintf(stderr, "wc: %s: %s\n", name, errstr(errno));
			return 1;
		}
		c->bytes += (unsigned long long)n;
		for (ssize_t i = 0; i < n; i++) {
			char ch = buf[i];
			int space = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' ||
				    ch == '\v' || ch == '\f';
			if (ch == '\n')
				c->lines++;
			if (!space && !in_word)
				c->words++;
			in_word = !space;
		}
	}
}

static void show(const struct counts *c, const char *name)
{
	printf("%7llu %7llu %8llu%s%s\n", c->lines, c->words, c->bytes, name ? " " : "",
	       name ? name : "");
}

int main(int argc, char **argv)
{
	struct counts total = { 0, 0, 0 };
	int status = 0;

	if (argc > 1 && argv[1][0] == '-' && argv[1][1] != '\0') {
		fprintf(stderr, "usage: wc [FILE...]  (prints lines, words, bytes)\n");
		return 2;
	}
	if (argc == 1) {
		status = count(0, "stdin", &total);
		show(&total, NULL);
		return status;
	}
	for (int i = 1; i < argc; i++) {
		struct counts c = { 0, 0, 0 };
		int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "wc: %s: %s\n", argv[i], errstr(errno));
			status = 1;
			continue;
		}
		status |= count(fd, argv[i], &c);
		if (fd != 0)
			close(fd);
		show(&c, argv[i]);
		total.lines += c.lines;
		total.words += c.words;
		total.bytes += c.bytes;
	}
	if (argc > 2)
		show(&total, "total");
	return status;
}

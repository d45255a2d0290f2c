/* pattern: write or check a byte pattern, to test pipes end to end (`pattern gen N | cat | pattern check N`). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"

/*
 *   pattern gen N     writes N bytes of the pattern to stdout (and stops,
 *                     status 1, if the reader goes away: EPIPE)
 *   pattern check N   reads stdin to its end; exit 0 and
 *                     "pattern: N bytes OK" only if exactly the N bytes
 *                     of the pattern came, in order
 *
 * Byte i of the pattern depends on every byte of i's index, so a lost,
 * repeated or reordered block shows.  Writes go out in 1000-byte pieces,
 * which straddle the pipes' pages.
 */

static uint8_t pattern_byte(uint32_t i)
{
	uint32_t x = i * 2654435761u;
	return (uint8_t)((x >> 24) ^ (x >> 13) ^ i);
}

static int gen(uint32_t n)
{
	static char buf[1000];
	for (uint32_t done = 0; done < n;) {
		uint32_t k = n - done < sizeof(buf) ? n - done : (uint32_t)sizeof(buf);
		for (uint32_t j = 0; j < k; j++)
			buf[j] = (char)pattern_byte(done + j);
		for (uint32_t off = 0; off < k;) {
			ssize_t w = write(1, buf + off, k - off);
			if (w < 0 && errno == EPIPE)
				return 1; /* the reader has gone: stop quietly */
			if (w <= 0) {
				fprintf(stderr, "pattern: write failed after %u bytes\n", done + off);
				return 1;
			}
			off += (uint32_t)w;
		}
		done += k;
	}
	return 0;
}

static int check(uint32_t n)
{
	static char buf[1000];
	uint32_t got = 0;
	ssize_t r;

	while ((r = read(0, buf, sizeof(buf))) > 0) {
		for (ssize_t j = 0; j < r; j++, got++) {
			if (got >= n) {
				fprintf(stderr, "pattern: more than %u bytes\n", n);
				return 1;
			}
			if ((uint8_t)buf[j] != pattern_byte(got)) {
				fprintf(stderr, "pattern: byte %u is %#x, expected %#x\n", got,
					(uint8_t)buf[j], pattern_byte(got));
				return 1;
			}
		}
	}
	if (r < 0 || got != n) {
		fprintf(stderr, "pattern: %u bytes%s, expected %u\n", got,
			r < 0 ? " and a read error" : "", n);
		return 1;
	}
	printf("pattern: %u bytes OK\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long n = argc == 3 ? strtoul(argv[2], &end, 10) : 0;

	if (argc != 3 || *end || n > UINT32_MAX ||
	    (strcmp(argv[1], "gen") != 0 && strcmp(argv[1], "check") != 0)) {
		fprintf(stderr, "usage: pattern gen|check N\n");
		return 2;
	}
	return strcmp(argv[1], "gen") == 0 ? gen((uint32_t)n) : check((uint32_t)n);
}

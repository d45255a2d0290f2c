/* runtests: run every program whose name ends in _test (or the ones named), one after another, and add up their verdicts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"

/*
 *   runtests [-s N] [NAME...]
 *
 * What `make test-user` boots when no PROG is given.  Each program runs
 * as a child with its stdout and stderr on a pipe; its lines are shown as
 * they come, except its closing "N passed, N failed", which becomes
 * "NAME: N passed, N failed" (so that only runtests' own total is a
 * summary line for scripts/check.sh).  A program counts one failure more
 * if it ends without a summary or with an exit status other than its
 * failure count (at most 99).  -s N is passed on: every time limit
 * times N.  Exit status: the total of failures, at most 99.
 */

#define SUFFIX "_test"
#define LINE_MAX_ 512

static int passed, failed;

static int is_summary(const char *line, int *p, int *f)
{
	char tail;

	return sscanf(line, "%d passed, %d failed%c", p, f, &tail) == 2;
}

/* Start prog with fds 1 and 2 on a pipe (fd 0 stays ours); the pid, and
 * the read end in *out. */
static long start(const char *const argv[], int *out)
{
	int fds[2];
	long pid, s1, s2;

	if (px_pipe(fds) < 0)
		return -PX_EMFILE;
	fflush(stdout);
	s1 = px_dup(1);
	s2 = px_dup(2);
	px_close(1);
	px_dup(fds[1]);
	px_close(2);
	px_dup(fds[1]);
	pid = px_spawnpg(argv[0], argv, PX_PG_INHERIT, PX_SPAWN_STDIO);
	px_close(1);
	px_dup((int)s1);
	px_close(2);
	px_dup((int)s2);
	px_close((int)s1);
	px_close((int)s2);
	px_close(fds[1]);
	if (pid < 0)
		px_close(fds[0]);
	*out = fds[0];
	return pid;
}

/* Show one line of the program's output; note its summary. */
static void line(const char *name, const char *s, int *p, int *f, int *seen)
{
	if (is_summary(s, p, f)) {
		*seen = 1;
		printf("%s: %s\n", name, s);
	} else {
		printf("%s\n", s);
	}
}

/* Wait for pid, reaping anything else meanwhile (as process 1, runtests
 * inherits every orphan). */
static int reap(int pid)
{
	int st, w;

	while ((w = (int)px_wait(-1, &st)) >= 0)
		if (w == pid)
			return st;
	return -1;
}

static void run(const char *name, const char *scale)
{
	const char *argv[] = { name, scale ? "-s" : NULL, scale, NULL };
	char buf[LINE_MAX_], why[48];
	size_t len = 0;
	int fd, st = -1, p = 0, f = 0, seen = 0;
	long pid;

	printf("== %s\n", name);
	if ((pid = start(argv, &fd)) < 0) {
		printf("runtests: %s: cannot start it (error %ld)\n", name, pid);
		failed++;
		return;
	}
	for (;;) {
		long r = px_read(fd, buf + len, sizeof(buf) - 1 - len);
		char *nl;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			line(name, buf, &p, &f, &seen);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1) {   /* a very long line: show it in parts */
			line(name, buf, &p, &f, &seen);
			len = 0;
		}
	}
	if (len > 0)
		line(name, buf, &p, &f, &seen);
	px_close(fd);
	st = reap((int)pid);
	passed += p;
	failed += f;
	if (!seen) {
		printf("runtests: %s ended (%s) without \"N passed, N failed\"\n", name,
		       px_status_str(st, why, sizeof(why)));
		failed++;
	} else if (st != (f > 99 ? 99 : f)) {
		printf("runtests: %s ended with %s, but said %d failed\n", name,
		       px_status_str(st, why, sizeof(why)), f);
		failed++;
	}
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

int main(int argc, char **argv)
{
	const char *scale = NULL;
	char name[PX_PATH_MAX];
	int a = 1, programs = 0;

	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		scale = argv[2];
		a = 3;
	}
	if (a < argc) {
		for (; a < argc; a++, programs++)
			run(argv[a], scale);
	} else {
		for (unsigned i = 0; px_progs(i, name, sizeof(name)) >= 0; i++)
			if (ends_with(name, SUFFIX)) {
				run(name, scale);
				programs++;
			}
	}
	printf("runtests: %d program%s\n", programs, programs == 1 ? "" : "s");
	printf("%d passed, %d failed\n", passed, failed);
	return failed > 99 ? 99 : failed;
}

/* sh: read a command line, run the named program with its arguments, report how it ended. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"

/*
 * One command per line: words separated by blanks, the first word is the
 * program's name in the kernel's archive (see `ls`).  A final `&` (alone
 * or stuck to the last word) runs it in the background: sh prints "[pid]"
 * and goes on.  There is no non-blocking wait, so background children are
 * reaped whenever sh next waits for a foreground command: each one that
 * has ended is reported then as "[pid] name: done" (or its status).
 * Builtins: exit [code], help.  No quoting, pipes or redirection yet.
 *
 * Lines come through stdin's buffer (fgets): on the console each read()
 * returns one line, so the program sh starts sees the input typed after
 * it; from a pipe, sh may buffer lines ahead that a child never sees.
 */

#define LINE_LEN PX_ARG_MAX
#define JOBS 16

static struct job {
	int pid;                 /* 0: free slot */
	char name[PX_PATH_MAX];
} jobs[JOBS];

/* Read one line into buf (NUL-terminated, without the newline).  Returns
 * its length; -1 at end of input with nothing read; -2 if it was longer
 * than the buffer (the rest of the line is discarded). */
static int read_line(char *buf, size_t n)
{
	size_t len;
	int c;

	if (fgets(buf, (int)n, stdin) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		return (int)len;
	}
	if (len + 1 < n)
		return (int)len; /* the last line, without a newline */
	while ((c = getchar()) != EOF && c != '\n')
		;
	return -2;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split line in place into at most max-1 words plus a NULL; -1 if more. */
static int split(char *line, char **argv, int max)
{
	int argc = 0;

	for (char *p = line; *p;) {
		while (is_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == max - 1)
			return -1;
		argv[argc++] = p;
		while (*p && !is_blank(*p))
			p++;
	}
	argv[argc] = NULL;
	return argc;
}

static void job_add(int pid, const char *name)
{
	for (int i = 0; i < JOBS; i++) {
		if (jobs[i].pid == 0) {
			jobs[i].pid = pid;
			snprintf(jobs[i].name, sizeof(jobs[i].name), "%s", name);
			return;
		}
	}
	/* Table full: the child still gets reaped, just reported by pid. */
}

/* Name of background job pid, removing it from the table; "?" if unknown. */
static const char *job_take(int pid, char *name, size_t n)
{
	snprintf(name, n, "?");
	for (int i = 0; i < JOBS; i++) {
		if (jobs[i].pid == pid) {
			snprintf(name, n, "%s", jobs[i].name);
			jobs[i].pid = 0;
		}
	}
	return name;
}

/* Say how a command ended: nothing for a foreground success. */
static void report(int pid, const char *name, int status, int background)
{
	if (background)
		printf("[%d] ", pid);
	if (PX_WAS_KILLED(status))
		printf("%s: %s\n", name, px_kill_reason_name(PX_KILL_REASON(status)));
	else if (PX_EXIT_CODE(status) != 0)
		printf("%s: exit status %d\n", name, PX_EXIT_CODE(status));
	else if (background)
		printf("%s: done\n", name);
}

/* Wait until pid ends, reporting background jobs that end meanwhile. */
static void wait_for(int pid, const char *name)
{
	for (;;) {
		char jname[PX_PATH_MAX];
		int status, w = wait(-1, &status);

		if (w < 0) {
			fprintf(stderr, "sh: wait: %s\n", strerror(errno));
			return;
		}
		if (w == pid) {
			report(pid, name, status, 0);
			return;
		}
		report(w, job_take(w, jname, sizeof(jname)), status, 1);
	}
}

static void help(void)
{
	printf("Pollux sh: NAME [ARG...] [&]   run program NAME from the archive\n"
	       "  &          at the end: run in the background, print [pid]\n"
	       "  exit [N]   leave the shell with status N (default 0)\n"
	       "  help       this text\n"
	       "Programs: run `ls` to list them.\n");
}

static void run(char **argv, int argc, int background)
{
	int pid;

	if (strcmp(argv[0], "exit") == 0)
		exit(argc > 1 ? atoi(argv[1]) : 0);
	if (strcmp(argv[0], "help") == 0) {
		help();
		return;
	}
	pid = spawn(argv[0], (const char *const *)argv);
	if (pid < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "sh: %s: not found\n", argv[0]);
		else
			fprintf(stderr, "sh: %s: %s\n", argv[0], strerror(errno));
		return;
	}
	if (background) {
		job_add(pid, argv[0]);
		printf("[%d]\n", pid);
		return;
	}
	wait_for(pid, argv[0]);
}

int main(void)
{
	char line[LINE_LEN];
	char *argv[PX_ARGV_MAX + 1];

	for (;;) {
		int len, argc, background = 0;

		fputs("$ ", stdout);
		fflush(stdout);
		len = read_line(line, sizeof(line));
		if (len == -1) {
			putchar('\n');
			return 0;
		}
		if (len == -2) {
			fprintf(stderr, "sh: line too long (max %d bytes)\n", LINE_LEN - 1);
			continue;
		}
		/* A trailing '&', alone or stuck to the last word. */
		while (len > 0 && is_blank(line[len - 1]))
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '&') {
			line[--len] = '\0';
			background = 1;
		}
		argc = split(line, argv, PX_ARGV_MAX + 1);
		if (argc < 0) {
			fprintf(stderr, "sh: too many arguments (max %d)\n", PX_ARGV_MAX);
			continue;
		}
		if (argc > 0)
			run(argv, argc, background);
	}
}

/* The test harness's runner: tests run in a child process, watched over a pipe with time limits; crashes and hangs fail one test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_async.h"
#include "px_test.h"
#include "px_test_int.h"

/*
 *   runner (the program as started)          child: PROG --px-child W R FIRST ARGS...
 *   ---------------------------------        ------------------------------------
 *   pipe, spawn the child          ------->  for each selected test from FIRST:
 *   read a message, with a deadline            BEGIN i --pipe-->  (runner: deadline =
 *                                              run it here, print its verdict        now + its limit)
 *                                              END i ok --pipe--> (runner counts it)
 *                                            exit 0 after the last (or after an
 *                                            isolated test, or before one)
 *   end of input: reap the child; a test that began and did not end
 *   crashed -> "test NAME: FAILED: killed: memory fault" (or how it ended)
 *   deadline passed -> kill the child -> "time limit of N ms exceeded"
 *   either way, or after an isolated test: a new child from the next test.
 *
 * The child prints its own verdicts; the runner only those of tests the
 * child could not finish, and the summary.  Each message is one write of
 * a whole struct msg, but the runner still reads until it has one whole.
 * The deadline is the runner's guest time, so a test with virtual time
 * (its own px_now() runs ahead) is still held to real time.
 */

enum { MSG_BEGIN = 1, MSG_END = 2 };

struct msg {
	uint32_t kind;
	uint32_t index;
	uint32_t ok;
	uint32_t pad;
};

/* Between tests: the child resets its executor, checks descriptors, and
 * starts; this long is a hang too. */
#define GAP_MS 10000

/* ---- the child -------------------------------------------------------------*/

static void tell(int fd, uint32_t kind, unsigned i, bool ok)
{
	struct msg m = { kind, i, ok, 0 };

	if (px_write(fd, &m, sizeof(m)) != (long)sizeof(m))
		px_exit(97);            /* the runner is gone */
}

int px_test_child(const struct px_test_opts *o)
{
	unsigned n = px_test_count();

	px_close(o->rfd);
	for (unsigned i = px_test_next(o, o->first); i < n; i = px_test_next(o, i + 1)) {
		bool alone = o->isolate || px_test_at(i)->isolate;
		if (alone && i != o->first)
			break;          /* it gets a process of its own */
		tell(o->wfd, MSG_BEGIN, i, false);
		tell(o->wfd, MSG_END, i, px_test_run_here(i));
		if (alone)
			break;
	}
	return 0;
}

/* ---- the runner ------------------------------------------------------------*/

/* One read of fd, given up after ns: bytes, 0 at the end of input,
 * -PX_ETIME, or another -PX_Exxx.  Without a ring it just reads. */
static long read_for(int fd, void *buf, size_t n, uint64_t ns)
{
	struct px_io rd;
	struct timeout lim;

	px_io_read(&rd, fd, buf, n);
	px_timeout_for(&lim, &rd.base, ns);
	if (px_run(&lim.base) < 0)
		return px_read(fd, buf, n);
	return lim.result == TIMEOUT_ELAPSED ? -PX_ETIME : rd.result;
}

/* 1: a message; 0: the end of input (the child is gone); -1: deadline. */
static int recv_msg(int fd, struct msg *m, uint64_t deadline)
{
	size_t got = 0;

	while (got < sizeof(*m)) {
		uint64_t now = px_now();
		long r;

		if (now >= deadline)
			return -1;
		r = read_for(fd, (char *)m + got, sizeof(*m) - got, deadline - now);
		if (r == -PX_ETIME)
			return -1;
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

/* Wait for pid, reaping anything else meanwhile (the runner may be
 * process 1, which inherits orphans). */
static int reap(int pid)
{
	int st, w;

	while ((w = (int)px_wait(-1, &st)) >= 0)
		if (w == pid)
			return st;
	return -1;
}

static void report_end(const struct px_test *t, int st)
{
	char why[48];

	if (PX_WAS_KILLED(st))
		printf("test %s: FAILED: %s\n", t->name, px_status_str(st, why, sizeof(why)));
	else if (PX_EXIT_CODE(st) == PX_ASYNC_DEADLOCK)
		printf("test %s: FAILED: deadlock: every task waits and nothing can wake "
		       "them (the reactor's exit status %d)\n", t->name, PX_ASYNC_DEADLOCK);
	else
		printf("test %s: FAILED: the test process ended with exit status %d "
		       "during the test\n", t->name, PX_EXIT_CODE(st));
}

/* Start PROG --px-child WFD RFD FIRST ARGS...; its pid, or -PX_Exxx. */
static long start_child(const struct px_test_opts *o, const char *prog, int fds[2],
                        unsigned first)
{
	const char *argv[PX_ARGV_MAX + 1];
	char w[12], r[12], f[12];
	int argc = 0;
	long pid;

	if (o->nargs + 5 > PX_ARGV_MAX)
		return -PX_E2BIG;
	if (px_pipe(fds) < 0)
		return -PX_EMFILE;
	snprintf(w, sizeof(w), "%d", fds[1]);
	snprintf(r, sizeof(r), "%d", fds[0]);
	snprintf(f, sizeof(f), "%u", first);
	argv[argc++] = prog;
	argv[argc++] = "--px-child";
	argv[argc++] = w;
	argv[argc++] = r;
	argv[argc++] = f;
	for (int a = 0; a < o->nargs; a++)
		argv[argc++] = o->args[a];
	argv[argc] = NULL;
	fflush(stdout);
	pid = px_spawn(prog, argv);     /* inherits every fd: fds[1] too */
	px_close(fds[1]);
	if (pid < 0)
		px_close(fds[0]);
	return pid;
}

/* One child, from test `first` until it ends.  Returns the next test to
 * start a child for (px_test_count(): done), or -1 if this child could
 * not be started. */
static long one_child(const struct px_test_opts *o, const char *prog, unsigned first,
                      int *passed, int *failed)
{
	int fds[2];
	long pid = start_child(o, prog, fds, first);
	unsigned n = px_test_count();
	long running = -1, last = -1;
	uint64_t deadline = px_now() + (uint64_t)GAP_MS * o->scale * 1000000u;
	struct msg m;
	int r, st;
	bool killed = false;

	if (pid < 0)
		return -1;
	while ((r = recv_msg(fds[0], &m, deadline)) > 0) {
		if (m.index >= n || (m.kind != MSG_BEGIN && m.kind != MSG_END))
			break;          /* garbage: end this child */
		if (m.kind == MSG_BEGIN) {
			running = m.index;
			deadline = px_now() +
			           (uint64_t)px_test_limit_ms(o, px_test_at(m.index)) * 1000000u;
		} else {
			*(m.ok ? passed : failed) += 1;
			running = -1;
			last = m.index;
			deadline = px_now() + (uint64_t)GAP_MS * o->scale * 1000000u;
		}
	}
	if (r != 0)
		killed = px_kill((int)pid) == 0;        /* a hang, or garbage */
	px_close(fds[0]);
	st = reap((int)pid);
	if (running >= 0) {
		const struct px_test *t = px_test_at((unsigned)running);
		if (killed)
			printf("test %s: FAILED: time limit of %u ms exceeded: killed\n", t->name,
			       px_test_limit_ms(o, t));
		else
			report_end(t, st);
		(*failed)++;
		return px_test_next(o, (unsigned)running + 1);
	}
	if (killed || st != 0 || last < 0) {
		char why[48];
		printf("px_test: the test process %s (%s) outside a test\n",
		       killed ? "stopped answering and was killed" : "ended",
		       px_status_str(st, why, sizeof(why)));
		(*failed)++;
		if (last < 0)
			return n;       /* it would fail the same way again */
	}
	return px_test_next(o, (unsigned)last + 1);
}

int px_test_supervise(const struct px_test_opts *o, const char *prog, int *passed,
                      int *failed)
{
	unsigned n = px_test_count();
	unsigned i = px_test_next(o, 0);
	bool started = false;

	while (i < n) {
		long next = one_child(o, prog, i, passed, failed);
		if (next < 0) {
			if (!started)
				return -1;
			printf("test %s: FAILED: cannot start a process for it\n",
			       px_test_at(i)->name);
			(*failed)++;
			next = px_test_next(o, i + 1);
		}
		started = true;
		i = (unsigned)next;
	}
	return 0;
}

/* timers: parallel sleeps with join_all, a race with select2, a timeout on a read that never completes. */
#include <stdio.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

/*
 * Read this after docs/user.md's "Writing an async user program".
 *
 * The whole program is one async function, struct timers, run by
 * px_run() in main.  It checks four things and prints one line each:
 *
 *   1. join_all of three sleeps (100, 200, 300 ms) finishes after the
 *      longest one, 300 ms, well before their sum (600 ms): they run at
 *      the same time.
 *   2. select2 of a 20 ms sleep and a 10 s sleep finishes after 20 ms,
 *      says the short one won, and drops the long one (the timer wheel
 *      is empty afterwards).
 *   3. timeout(read from an empty pipe, 100 ms) elapses after 100 ms:
 *      the read is dropped, which cancels it in the kernel; a byte
 *      written to the pipe afterwards is still there for the next read.
 *   4. The ring's own TIMEOUT operation completes with -PX_ETIME.
 *
 * The exit status is 0 only if all four behaved.
 *
 * Remember the rules of async functions (executor/future.h): anything
 * that must survive an AWAIT lives in the struct, not in a C local.
 */

/* How late a timer may be before we call it wrong: QEMU without KVM is
 * slow and the console is slower, so be generous -- but less than the
 * 300 ms by which sequential sleeps in part 1 would be late. */
#define SLACK_MS 250

struct timers {
	struct future base;
	int state;
	int failures;
	uint64_t start;                 /* px_now() when a part began */

	/* 1: join_all */
	struct sleep naps[3];
	struct future *all[3];
	struct join_all join;

	/* 2: select2 */
	struct sleep fast, slow;
	struct select2 race;

	/* 3: timeout around a read */
	int fds[2];
	char buf[8];
	struct px_io rd;
	struct timeout limit;

	/* 4: the ring's TIMEOUT op */
	struct px_io ring_timer;
};

static uint64_t ms_since(uint64_t start)
{
	return (px_now() - start) / 1000000;
}

/* Print one verdict line and count failures. */
static void verdict(struct timers *t, int ok, const char *what, uint64_t ms)
{
	printf("timers: %-44s %4llu ms  %s\n", what, (unsigned long long)ms,
	       ok ? "OK" : "FAILED");
	if (!ok)
		t->failures++;
}

static enum poll timers_poll(struct future *f, struct context *cx)
{
	struct timers *t = (struct timers *)f;
	uint64_t ms;

	ASYNC_BEGIN(t);

	/* ---- 1. Three sleeps at once: done when the longest is. ---- */
	t->start = px_now();
	for (int i = 0; i < 3; i++) {
		px_sleep_for(&t->naps[i], TIMER_MS(100 * (i + 1)));
		t->all[i] = &t->naps[i].base;
	}
	join_all_init(&t->join, t->all, 3);
	AWAIT(t, join_all_poll(&t->join, cx));
	ms = ms_since(t->start);
	verdict(t, ms >= 300 && ms < 300 + SLACK_MS,
	        "join_all(100, 200, 300 ms) took the longest", ms);

	/* ---- 2. A race: the first to finish wins, the other is dropped. ---- */
	t->start = px_now();
	px_sleep_for(&t->fast, TIMER_MS(20));
	px_sleep_for(&t->slow, TIMER_SEC(10));
	select2_init(&t->race, &t->fast.base, &t->slow.base);
	AWAIT(t, select2_poll(&t->race, cx));
	ms = ms_since(t->start);
	verdict(t, t->race.winner == 0 && ms >= 20 && ms < 20 + SLACK_MS,
	        "select2(20 ms, 10 s): the 20 ms sleep won", ms);
	/* Dropping the 10 s sleep took it out of the executor's wheel. */
	verdict(t, timer_wheel_pending(exec_wheel(px_executor())) == 0,
	        "select2 dropped the loser (wheel empty)", 0);

	/* ---- 3. A read that never completes, under a timeout. ---- */
	if (pipe(t->fds) < 0) {
		verdict(t, 0, "pipe()", 0);
		ASYNC_RETURN(t);
	}
	t->start = px_now();
	px_io_read(&t->rd, t->fds[0], t->buf, sizeof(t->buf));
	px_timeout_for(&t->limit, &t->rd.base, TIMER_MS(100));
	AWAIT(t, timeout_poll(&t->limit, cx));
	ms = ms_since(t->start);
	verdict(t, t->limit.result == TIMEOUT_ELAPSED && ms >= 100 && ms < 100 + SLACK_MS,
	        "timeout(read of an empty pipe, 100 ms) elapsed", ms);

	/* The timeout dropped the read, which cancelled it: a byte written
	 * now must wait in the pipe for a new read, not vanish into the old
	 * one.  (A plain write: it does not block, the pipe has room.)  Had
	 * the read finished just before its cancel, the reactor would have
	 * kept its bytes for this next read: reads are cancel-safe
	 * (px_async.h, px_io_drop). */
	if (write(t->fds[1], "x", 1) != 1)
		t->failures++;
	px_io_read(&t->rd, t->fds[0], t->buf, sizeof(t->buf));
	AWAIT(t, px_io_poll(&t->rd, cx));
	verdict(t, t->rd.result == 1 && t->buf[0] == 'x',
	        "the cancelled read took nothing from the pipe", 0);
	close(t->fds[0]);
	close(t->fds[1]);

	/* ---- 4. The ring's own timer: the kernel completes it. ---- */
	t->start = px_now();
	px_io_timeout(&t->ring_timer, TIMER_MS(30));
	AWAIT(t, px_io_poll(&t->ring_timer, cx));
	ms = ms_since(t->start);
	verdict(t, t->ring_timer.result == -PX_ETIME && ms >= 30 && ms < 30 + SLACK_MS,
	        "ring TIMEOUT op (30 ms) completed with -ETIME", ms);

	ASYNC_END(t);
}

static const struct future_vtable timers_vtable = { timers_poll, NULL };

int main(void)
{
	/* static: the future must not move while it runs, and a struct this
	 * size is better off outside the 64 KiB stack. */
	static struct timers t = { .base = { &timers_vtable } };
	long err = px_run(&t.base);

	if (err < 0)
		printf("timers: no async ring (error %ld): ring parts failed\n", err);
	printf("timers: %s\n", t.failures ? "FAILED" : "all OK");
	return t.failures ? 1 : 0;
}

/* harness_fixture: tests that pass and tests that fail on purpose, each in its own way; scripts/harness_check.py checks what the harness says about them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_test.h"

/*
 * Not a _test program: `make test-user` does not run it, since half of
 * its tests must fail.  scripts/harness_check.py boots it (init=
 * harness_fixture) and compares every verdict line, the summary and the
 * exit status with what the harness must say; a marker comment
 * "fixture: NAME" sits on each line whose file:line a verdict names.
 */

/* ---- passing ----------------------------------------------------------------*/

PX_TEST(plain_passes)
{
	uint64_t big = UINT64_MAX;

	PX_ASSERT_EQ(2 + 2, 4);
	PX_ASSERT_GT(big, 5u);
	PX_ASSERT_LE(-1, 0);
	PX_ASSERT_STR_EQ("abc", "abc");
	PX_ASSERT(!px_test_failed());
}

struct nap {
	struct future base;
	int state;
	struct sleep s;
	uint64_t t0;
};

PX_ASYNC_TEST(async_passes, struct nap, n)
{
	ASYNC_BEGIN(n);
	n->t0 = px_now();
	px_sleep_for(&n->s, TIMER_MS(5));
	AWAIT(n, sleep_poll(&n->s, cx));
	PX_ASSERT_GE(px_now() - n->t0, TIMER_MS(5));
	ASYNC_END(n);
}

/* ---- assertions that fail -----------------------------------------------------*/

PX_TEST(fail_eq)
{
	int three = 3;

	PX_ASSERT_EQ(three, 4);                 /* fixture: fail_eq */
	printf("fail_eq: after the assertion\n");
}

PX_TEST(fail_unsigned)
{
	uint64_t big = UINT64_MAX;

	PX_ASSERT_LT(big, 5u);                  /* fixture: fail_unsigned */
}

PX_TEST(fail_str)
{
	const char *greeting = "hullo\n";

	PX_ASSERT_STR_EQ(greeting, "hello\n");  /* fixture: fail_str */
}

/* After an AWAIT: the assertion returns Ready from the poll function. */
struct count {
	struct future base;
	int state;
	int n;
	struct sleep s;
};

PX_ASYNC_TEST(fail_async, struct count, c)
{
	ASYNC_BEGIN(c);
	px_sleep_for(&c->s, TIMER_MS(2));
	AWAIT(c, sleep_poll(&c->s, cx));
	c->n = 1;
	PX_ASSERT_EQ(c->n, 2);                  /* fixture: fail_async */
	printf("fail_async: after the assertion\n");
	ASYNC_END(c);
}

/* A helper may assert too (PX_TEST_HELPER); the test goes on after it,
 * failed, and a second failure is printed as "also". */
static void check_positive(int v)
{
	PX_TEST_HELPER;

	PX_ASSERT_GT(v, 0);                     /* fixture: fail_helper */
}

PX_TEST(fail_helper)
{
	check_positive(-7);
	PX_ASSERT(px_test_failed());
	PX_FAIL("and a second failure, %d", 2);  /* fixture: fail_helper_also */
}

PX_TEST(fail_within)
{
	PX_ASSERT_WITHIN(TIMER_MS(50), px_now() == 0);  /* fixture: fail_within */
}

/* ---- tests that never end -------------------------------------------------------*/

PX_TEST(hang_spin, .time_limit_ms = 300)
{
	for (volatile int spin = 1; spin;)
		;
}

PX_ASYNC_TEST(hang_async, struct nap, n, .time_limit_ms = 300)
{
	ASYNC_BEGIN(n);
	px_sleep_for(&n->s, TIMER_SEC(3600));
	AWAIT(n, sleep_poll(&n->s, cx));
	ASYNC_END(n);
}

/* Nothing can ever send: the reactor sees that every task waits with no
 * timer and no operation pending, and exits with PX_ASYNC_DEADLOCK. */
static int never_slot;
static struct oneshot never;

struct recv_one {
	struct future base;
	int state;
	int v;
	struct oneshot_recv r;
};

PX_ASYNC_TEST(deadlock, struct recv_one, r)
{
	ASYNC_BEGIN(r);
	oneshot_init(&never, &never_slot, sizeof(never_slot));
	oneshot_recv_init(&r->r, &never, &r->v);
	AWAIT(r, oneshot_recv_poll(&r->r, cx));
	ASYNC_END(r);
}

/* ---- tests that leave something behind ----------------------------------------*/

PX_ASYNC_TEST(leak_timer, struct nap, n)
{
	ASYNC_BEGIN(n);
	px_sleep_for(&n->s, TIMER_SEC(10));
	if (sleep_poll(&n->s, cx) == POLL_READY)
		PX_FAIL("a 10 s sleep was ready at once");
	ASYNC_END(n);                           /* the sleep still queued */
}

struct reading {
	struct future base;
	int state;
	int fds[2];
	char buf[8];
	struct px_io rd;
};

PX_ASYNC_TEST(leak_ring, struct reading, r)
{
	ASYNC_BEGIN(r);
	PX_ASSERT_EQ(pipe(r->fds), 0);
	px_io_read(&r->rd, r->fds[0], r->buf, sizeof(r->buf));
	PX_ASSERT_EQ(px_io_poll(&r->rd, cx), POLL_PENDING);
	ASYNC_END(r);                           /* the read in flight, the pipe open */
}

static enum poll sleeper_poll(struct future *f, struct context *cx)
{
	struct nap *n = (struct nap *)f;

	ASYNC_BEGIN(n);
	px_sleep_for(&n->s, TIMER_SEC(3600));
	AWAIT(n, sleep_poll(&n->s, cx));
	ASYNC_END(n);
}
static const struct future_vtable sleeper_vtable = { sleeper_poll, NULL };

PX_ASYNC_TEST(leak_task, struct nap, n)
{
	struct nap sleeper = { .base = { &sleeper_vtable } };

	ASYNC_BEGIN(n);
	PX_ASSERT_EQ(px_task_spawn(&TASK_DESC_VOID(sleeper, "sleeper"), NULL), TASK_OK);
	YIELD(n, cx);                           /* let it start its hour */
	ASYNC_END(n);
}

/* ---- tests that end their process ------------------------------------------------*/

/* Address 8 is never mapped (the user region starts at PX_USER_BASE). */
static int *volatile nowhere = (int *)8;

PX_TEST(crash_isolated, .isolate = true)
{
	*nowhere = 1;
}

PX_TEST(crash_shared)
{
	*nowhere = 1;
}

PX_TEST(exits)
{
	exit(3);
}

/* ---- passing again: the run goes on, in a fresh state ----------------------------*/

PX_TEST(after_crashes)
{
	struct px_async_inflight in;

	px_async_inflight(&in);
	PX_ASSERT_EQ(in.tasks + in.timers + in.ops, 0);
}

/* An hour of ticks, at once: only timers, so virtual time may skip. */
struct ticks {
	struct future base;
	int state;
	int n;
	uint64_t t0;
	struct interval every;
};

PX_ASYNC_TEST(virtual_hour, struct ticks, t, .virtual_time = true)
{
	ASYNC_BEGIN(t);
	t->t0 = px_now();
	px_interval_every(&t->every, TIMER_SEC(60));
	for (t->n = 0; t->n < 60; t->n++)
		AWAIT(t, interval_tick_poll(&t->every, cx));
	interval_drop(&t->every);
	PX_ASSERT_GE(px_now() - t->t0, TIMER_SEC(3600));
	PX_ASSERT_LT(px_now() - t->t0, TIMER_SEC(3600) + TIMER_SEC(1));
	ASYNC_END(t);
}

PX_TEST(waker_counts)
{
	static struct oneshot o;
	static int slot;
	struct oneshot_recv r;
	struct px_test_waker w;
	int v = 0, sent = 42;

	px_test_waker_init(&w);
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &v);
	PX_ASSERT_EQ(oneshot_recv_poll(&r, &w.cx), POLL_PENDING);
	PX_ASSERT_EQ(w.clones, 1);
	PX_ASSERT_EQ(w.wakes + w.wakes_by_ref, 0);
	PX_ASSERT_EQ(oneshot_send(&o, &sent), SYNC_OK);
	PX_ASSERT_EQ(w.wakes + w.wakes_by_ref, 1);
	PX_ASSERT_EQ(oneshot_recv_poll(&r, &w.cx), POLL_READY);
	PX_ASSERT_EQ(v, 42);
	PX_ASSERT_EQ(px_test_waker_live(&w), 0);
}

/* A task sets a flag after 20 ms; wait for it (it comes), then for
 * something that never comes (the deadline ends the wait). */
static int flag;

struct setter {
	struct future base;
	int state;
	struct sleep s;
};

static enum poll setter_poll(struct future *f, struct context *cx)
{
	struct setter *s = (struct setter *)f;

	ASYNC_BEGIN(s);
	px_sleep_for(&s->s, TIMER_MS(20));
	AWAIT(s, sleep_poll(&s->s, cx));
	flag = 1;
	ASYNC_END(s);
}
static const struct future_vtable setter_vtable = { setter_poll, NULL };

struct waiting {
	struct future base;
	int state;
	struct px_wait w;
	struct join_handle jh;
	uint64_t t0;
};

PX_ASYNC_TEST(wait_until, struct waiting, t)
{
	struct setter s = { .base = { &setter_vtable } };

	ASYNC_BEGIN(t);
	flag = 0;
	PX_ASSERT_EQ(px_task_spawn(&TASK_DESC_VOID(s, "setter"), &t->jh), TASK_OK);
	px_wait_init(&t->w, TIMER_SEC(5));
	AWAIT(t, px_wait_until(&t->w, flag == 1, cx));
	PX_ASSERT(t->w.ok);
	AWAIT(t, join_handle_poll(&t->jh, cx));
	t->t0 = px_now();
	px_wait_init(&t->w, TIMER_MS(30));
	AWAIT(t, px_wait_until(&t->w, flag == 2, cx));
	PX_ASSERT(!t->w.ok);
	PX_ASSERT_GE(px_now() - t->t0, TIMER_MS(30));
	ASYNC_END(t);
}

PX_TEST(child_spawn)
{
	static const char *const argv[] = { "cat", NULL };
	struct px_child c;
	char out[32];

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_EQ(write(c.in, "hi there\n", 9), 9);
	px_close(c.in);
	c.in = -1;
	PX_ASSERT_EQ(px_read_all(c.out, out, sizeof(out)), 9);
	PX_ASSERT_STR_EQ(out, "hi there\n");
	PX_ASSERT_EQ(px_child_wait(&c), 0);
}

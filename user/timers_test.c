/* timers_test: user/timers.c as a program, and each thing it shows (join_all, select2, timeout, the ring's TIMEOUT) as a test of its own. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "px_test.h"

/* How late a timer may be under QEMU without KVM; less than the sums
 * that would mean the sleeps ran one after another. */
#define SLACK TIMER_MS(250)

PX_TEST(the_example_checks_itself)
{
	static const char *const argv[] = { "timers", NULL };
	struct px_child c;
	char out[1024];

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_GT(px_read_all(c.out, out, sizeof(out)), 0);
	PX_ASSERT_EQ(px_child_wait(&c), 0);
	PX_ASSERT(strstr(out, "timers: all OK\n") != NULL);
	PX_ASSERT(strstr(out, "FAILED") == NULL);
}

/* Three sleeps at once end with the longest, not after their sum. */
struct naps {
	struct future base;
	int state;
	uint64_t t0;
	struct sleep s[3];
	struct future *all[3];
	struct join_all join;
};

PX_ASYNC_TEST(join_all_takes_the_longest, struct naps, n)
{
	ASYNC_BEGIN(n);
	n->t0 = px_now();
	for (int i = 0; i < 3; i++) {
		px_sleep_for(&n->s[i], TIMER_MS(100 * (i + 1)));
		n->all[i] = &n->s[i].base;
	}
	join_all_init(&n->join, n->all, 3);
	AWAIT(n, join_all_poll(&n->join, cx));
	PX_ASSERT_GE(px_now() - n->t0, TIMER_MS(300));
	PX_ASSERT_LT(px_now() - n->t0, TIMER_MS(300) + SLACK);
	ASYNC_END(n);
}

/* The first to finish wins; the loser leaves the wheel at once. */
struct race {
	struct future base;
	int state;
	uint64_t t0;
	struct sleep fast, slow;
	struct select2 sel;
};

PX_ASYNC_TEST(select2_drops_the_loser, struct race, r)
{
	ASYNC_BEGIN(r);
	r->t0 = px_now();
	px_sleep_for(&r->fast, TIMER_MS(20));
	px_sleep_for(&r->slow, TIMER_SEC(10));
	select2_init(&r->sel, &r->fast.base, &r->slow.base);
	AWAIT(r, select2_poll(&r->sel, cx));
	PX_ASSERT_EQ(r->sel.winner, 0);
	PX_ASSERT_LT(px_now() - r->t0, TIMER_MS(20) + SLACK);
	PX_ASSERT_EQ(timer_wheel_pending(exec_wheel(px_executor())), 0);
	ASYNC_END(r);
}

/* A read nobody answers, under a timeout: it elapses, the read is
 * cancelled in the kernel, and a byte written afterwards waits in the
 * pipe for the next read. */
struct limited {
	struct future base;
	int state;
	int fds[2];
	char buf[4];
	uint64_t t0;
	struct px_io rd;
	struct timeout lim;
};

PX_ASYNC_TEST(timeout_cancels_a_read, struct limited, t)
{
	struct px_async_inflight in;

	ASYNC_BEGIN(t);
	PX_ASSERT_EQ(pipe(t->fds), 0);
	t->t0 = px_now();
	px_io_read(&t->rd, t->fds[0], t->buf, sizeof(t->buf));
	px_timeout_for(&t->lim, &t->rd.base, TIMER_MS(50));
	AWAIT(t, timeout_poll(&t->lim, cx));
	PX_ASSERT_EQ(t->lim.result, TIMEOUT_ELAPSED);
	PX_ASSERT_GE(px_now() - t->t0, TIMER_MS(50));
	px_async_inflight(&in);
	PX_ASSERT_EQ(in.ops, 0);
	PX_ASSERT_EQ(write(t->fds[1], "x", 1), 1);
	px_io_read(&t->rd, t->fds[0], t->buf, sizeof(t->buf));
	AWAIT(t, px_io_poll(&t->rd, cx));
	PX_ASSERT_EQ(t->rd.result, 1);
	PX_ASSERT_EQ(t->buf[0], 'x');
	close(t->fds[0]);
	close(t->fds[1]);
	ASYNC_END(t);
}

/* The ring's own TIMEOUT op: the kernel completes it, never early. */
struct ring_timer {
	struct future base;
	int state;
	uint64_t t0;
	struct px_io op;
};

PX_ASYNC_TEST(ring_timeout_op_is_never_early, struct ring_timer, r)
{
	ASYNC_BEGIN(r);
	r->t0 = px_now();
	px_io_timeout(&r->op, TIMER_MS(30));
	AWAIT(r, px_io_poll(&r->op, cx));
	PX_ASSERT_EQ(r->op.result, -PX_ETIME);
	PX_ASSERT_GE(px_now() - r->t0, TIMER_MS(30));
	PX_ASSERT_LT(px_now() - r->t0, TIMER_MS(30) + SLACK);
	ASYNC_END(r);
}

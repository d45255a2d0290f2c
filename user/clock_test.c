/* clock_test: user/clock.c from outside (its output, when it comes, its status) and its interval on virtual time. */
#include <stdint.h>
#include <stdio.h>

#include "px_test.h"

/* How late a tick may come under QEMU without KVM, on a loaded host: up
 * to a period (later would mean a tick was skipped). */
#define SLACK TIMER_SEC(1)

/* `clock 2` prints "tick 1 s" after a second, "tick 2 s" after two, and
 * ends: each line awaited with a timeout, its time taken on arrival. */
struct ticking {
	struct future base;
	int state;
	int i;
	uint64_t t0, at[2];
	struct px_child c;
	struct px_lines lines;
	struct timeout lim;
};

PX_ASYNC_TEST(prints_a_tick_each_second, struct ticking, t)
{
	static const char *const argv[] = { "clock", "2", NULL };
	static const char *const want[] = { "tick 1 s", "tick 2 s" };

	ASYNC_BEGIN(t);
	t->t0 = px_now();
	PX_ASSERT_EQ(px_child_spawn(&t->c, argv), 0);
	px_lines_init(&t->lines, t->c.out);
	for (t->i = 0; t->i < 2; t->i++) {
		px_timeout_for(&t->lim, &t->lines.base, TIMER_SEC(3));
		AWAIT(t, timeout_poll(&t->lim, cx));
		PX_ASSERT_EQ(t->lim.result, TIMEOUT_OK);
		t->at[t->i] = px_now() - t->t0;
		PX_ASSERT_STR_EQ(t->lines.line, want[t->i]);
	}
	PX_ASSERT_GE(t->at[0], TIMER_SEC(1));
	PX_ASSERT_LT(t->at[0], TIMER_SEC(1) + SLACK);
	PX_ASSERT_GE(t->at[1], TIMER_SEC(2));
	PX_ASSERT_LT(t->at[1], TIMER_SEC(2) + SLACK);
	/* then nothing more: the end of its output, and status 0 */
	px_timeout_for(&t->lim, &t->lines.base, TIMER_SEC(3));
	AWAIT(t, timeout_poll(&t->lim, cx));
	PX_ASSERT_EQ(t->lim.result, TIMEOUT_OK);
	PX_ASSERT(t->lines.eof);
	PX_ASSERT_EQ(px_child_wait(&t->c), 0);
	ASYNC_END(t);
}

PX_TEST(zero_ticks_end_at_once)
{
	static const char *const argv[] = { "clock", "0", NULL };
	struct px_child c;
	char out[64];
	uint64_t t0 = px_now();

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_EQ(px_read_all(c.out, out, sizeof(out)), 0);
	PX_ASSERT_EQ(px_child_wait(&c), 0);
	PX_ASSERT_LT(px_now() - t0, TIMER_MS(900));
}

PX_TEST(a_negative_count_is_refused)
{
	static const char *const argv[] = { "clock", "-1", NULL };
	struct px_child c;
	char out[64];

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_EQ(px_read_all(c.out, out, sizeof(out)), 0);     /* usage goes to stderr */
	PX_ASSERT_EQ(px_child_wait(&c), 2);
}

/* clock's schedule, on virtual time: an interval of 1 s ticks exactly
 * on start + k s, however long the task takes between ticks, and a
 * minute of ticks takes no real time (only timers are involved). */
struct grid {
	struct future base;
	int state;
	int k;
	uint64_t start, real0;
	struct interval every;
	struct sleep busy;
};

PX_ASYNC_TEST(ticks_stay_on_the_grid, struct grid, g, .virtual_time = true)
{
	ASYNC_BEGIN(g);
	g->real0 = px_now();
	px_interval_every(&g->every, TIMER_SEC(1));
	g->start = g->every.sleep.deadline;     /* the first tick */
	for (g->k = 0; g->k < 60; g->k++) {
		AWAIT(g, interval_tick_poll(&g->every, cx));
		PX_ASSERT_EQ(interval_last(&g->every), g->start + (uint64_t)g->k * TIMER_SEC(1));
		/* work that takes a while, but less than a period */
		px_sleep_for(&g->busy, TIMER_MS(300));
		AWAIT(g, sleep_poll(&g->busy, cx));
	}
	interval_drop(&g->every);
	PX_ASSERT_GE(px_now() - g->real0, TIMER_SEC(60));
	ASYNC_END(g);
}

/* harness_test: the harness's own helpers, passing (user/harness_fixture.c fails on purpose); a program of two files. */
#include <string.h>

#include "px_test.h"

/*
 * A test program may be a folder, user/harness_test/ here: its files are
 * linked together, and tests register from each (in link order: the
 * files' names, sorted).
 */

PX_TEST(assert_within_passes_once_true)
{
	uint64_t until = px_now() + TIMER_MS(20);

	PX_ASSERT_WITHIN(TIMER_SEC(2), px_now() >= until);
	PX_ASSERT_GE(px_now(), until);
}

/* What a sleep does with a waker: one clone, kept in the wheel, then one
 * consuming wake when the wheel fires; nothing left. */
PX_TEST(counting_waker_sees_a_sleep)
{
	struct px_test_waker w;
	struct sleep s;

	px_test_waker_init(&w);
	px_sleep_for(&s, TIMER_MS(5));
	PX_ASSERT_EQ(sleep_poll(&s, &w.cx), POLL_PENDING);
	PX_ASSERT_EQ(w.clones, 1);
	PX_ASSERT_EQ(px_test_waker_live(&w), 1);
	px_sleep(10);
	timer_wheel_advance(exec_wheel(px_executor()), px_now());
	PX_ASSERT_EQ(w.wakes, 1);
	PX_ASSERT_EQ(sleep_poll(&s, &w.cx), POLL_READY);
	PX_ASSERT_EQ(px_test_waker_live(&w), 0);
	sleep_drop(&s);
}

/* The child's stdin is our pipe, not the console, and it inherits no
 * other descriptor: its output ends when it does. */
PX_TEST(child_on_pipes)
{
	static const char *const argv[] = { "cat", NULL };
	struct px_child c;
	char out[8];

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_EQ(write(c.in, "0123456789\n", 11), 11);
	close(c.in);
	c.in = -1;
	PX_ASSERT_EQ(px_read_all(c.out, out, sizeof(out)), 7);     /* buffer full */
	PX_ASSERT_STR_EQ(out, "0123456");
	PX_ASSERT_EQ(px_child_wait(&c), 0);
}

/* Virtual time: a wait for a condition that never holds ends at its
 * deadline, at once. */
struct idle {
	struct future base;
	int state;
	uint64_t t0;
	struct px_wait w;
};

PX_ASYNC_TEST(wait_on_virtual_time, struct idle, t, .virtual_time = true)
{
	ASYNC_BEGIN(t);
	t->t0 = px_now();
	px_wait_init(&t->w, TIMER_SEC(600));
	AWAIT(t, px_wait_until(&t->w, false, cx));
	PX_ASSERT(!t->w.ok);
	PX_ASSERT_GE(px_now() - t->t0, TIMER_SEC(600));
	ASYNC_END(t);
}

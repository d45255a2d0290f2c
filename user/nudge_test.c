/* nudge_test: user/nudge.c tested from outside: what it answers, when it nudges, how it ends (docs/tutorial.md). */
#include <string.h>

#include "px_test.h"

/* nudge runs as a child: we type into t->c.in and read its lines from
 * t->c.out, each with a time limit of its own. */
struct talk {
	struct future base;
	int state;
	uint64_t t0;
	struct px_child c;
	struct px_lines lines;
	struct timeout limit;
};

PX_ASYNC_TEST(answers_each_line, struct talk, t)
{
	static const char *const argv[] = { "nudge", NULL };

	ASYNC_BEGIN(t);
	PX_ASSERT_EQ(px_child_spawn(&t->c, argv), 0);
	px_lines_init(&t->lines, t->c.out);
	PX_ASSERT_EQ(write(t->c.in, "hello\n", 6), 6);
	px_timeout_for(&t->limit, &t->lines.base, TIMER_SEC(2));
	AWAIT(t, timeout_poll(&t->limit, cx));
	PX_ASSERT_EQ(t->limit.result, TIMEOUT_OK);
	PX_ASSERT_STR_EQ(t->lines.line, "you said: hello");
	PX_ASSERT_EQ(write(t->c.in, "bye\n", 4), 4);
	PX_ASSERT_EQ(px_child_wait(&t->c), 0);
	ASYNC_END(t);
}

PX_ASYNC_TEST(nudges_when_you_are_quiet, struct talk, t)
{
	static const char *const argv[] = { "nudge", "200", NULL };

	ASYNC_BEGIN(t);
	t->t0 = px_now();
	PX_ASSERT_EQ(px_child_spawn(&t->c, argv), 0);
	px_lines_init(&t->lines, t->c.out);
	px_timeout_for(&t->limit, &t->lines.base, TIMER_SEC(2));
	AWAIT(t, timeout_poll(&t->limit, cx));
	PX_ASSERT_EQ(t->limit.result, TIMEOUT_OK);
	PX_ASSERT_STR_EQ(t->lines.line, "still there?");
	PX_ASSERT_GE(px_now() - t->t0, TIMER_MS(200));
	PX_ASSERT_EQ(px_child_wait(&t->c), 0);  /* the end of its input ends it */
	ASYNC_END(t);
}

PX_TEST(ends_at_end_of_input)
{
	static const char *const argv[] = { "nudge", NULL };
	struct px_child c;
	char out[64];

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	close(c.in);
	c.in = -1;
	PX_ASSERT_EQ(px_read_all(c.out, out, sizeof(out)), 0);
	PX_ASSERT_EQ(px_child_wait(&c), 0);
}

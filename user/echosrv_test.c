/* echosrv_test: user/echosrv.c end to end, and its client against a server played by the test (right, then wrong). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "px_test.h"

/* Run `echosrv M`: both sides must say every message came back. */
static void round_trip(const char *m, const char *client_says)
{
	PX_TEST_HELPER;
	const char *const argv[] = { "echosrv", m, NULL };
	struct px_child c;
	static char out[512];

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_GT(px_read_all(c.out, out, sizeof(out)), 0);
	PX_ASSERT_EQ(px_child_wait(&c), 0);
	PX_ASSERT(strstr(out, client_says) != NULL);
	PX_ASSERT(strstr(out, "; client OK\n") != NULL);
}

PX_TEST(echoes_every_message)
{
	round_trip("20", "client got 20 of 20 replies back intact");
}

/* More than the channel (4 chunks) and the pipes hold at once: the
 * reader waits for the writer (back-pressure), nothing is lost. */
PX_TEST(echoes_under_back_pressure)
{
	round_trip("400", "client got 400 of 400 replies back intact");
}

PX_TEST(refuses_zero_messages)
{
	static const char *const argv[] = { "echosrv", "0", NULL };
	struct px_child c;

	PX_ASSERT_EQ(px_child_spawn(&c, argv), 0);
	PX_ASSERT_EQ(px_child_wait(&c), 2);
}

/*
 * The test as the server: `echosrv client 1 0 3` writes its requests to
 * its stdout (our c.out) and reads the replies from its stdin (our c.in).
 * Each request line is answered at once, the second one spoiled if asked:
 * the client must notice (exit status 1), or else be content (0).
 */
struct server {
	int state;              /* its own: it is a future inside the test's */
	int spoil;              /* answer request 1 wrongly */
	int n;
	struct px_child c;
	struct px_lines lines;
	struct timeout lim;
	char reply[PX_LINE_MAX + 1];
};

static enum poll server_poll(struct server *s, struct context *cx)
{
	PX_TEST_ASYNC_HELPER;
	static const char *const argv[] = { "echosrv", "client", "1", "0", "3", NULL };

	ASYNC_BEGIN(s);
	PX_ASSERT_EQ(px_child_spawn(&s->c, argv), 0);
	px_lines_init(&s->lines, s->c.out);
	/* Spoiled, the client stops listening after the spoiled reply (and
	 * ends when it has sent all three): no reply after it. */
	for (s->n = 0; s->n < (s->spoil ? 2 : 3); s->n++) {
		px_timeout_for(&s->lim, &s->lines.base, TIMER_SEC(5));
		AWAIT(s, timeout_poll(&s->lim, cx));
		PX_ASSERT_EQ(s->lim.result, TIMEOUT_OK);
		snprintf(s->reply, sizeof(s->reply), "message %d", s->n);
		PX_ASSERT_STR_EQ(s->lines.line, s->reply);
		if (s->spoil && s->n == 1)
			s->reply[0] = 'M';
		strcat(s->reply, "\n");
		/* a short line into an empty pipe: a plain write does not wait */
		PX_ASSERT_EQ(write(s->c.in, s->reply, strlen(s->reply)), (ssize_t)strlen(s->reply));
	}
	ASYNC_END(s);
}

struct serving {
	struct future base;
	int state;
	struct server srv;
};

PX_ASYNC_TEST(client_accepts_true_replies, struct serving, t)
{
	ASYNC_BEGIN(t);
	AWAIT(t, server_poll(&t->srv, cx));
	if (!px_test_failed())
		PX_ASSERT_EQ(px_child_wait(&t->srv.c), 0);
	ASYNC_END(t);
}

PX_ASYNC_TEST(client_notices_a_wrong_reply, struct serving, t)
{
	ASYNC_BEGIN(t);
	t->srv.spoil = 1;
	AWAIT(t, server_poll(&t->srv, cx));
	if (!px_test_failed())
		PX_ASSERT_EQ(px_child_wait(&t->srv.c), 1);
	ASYNC_END(t);
}

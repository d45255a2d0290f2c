/* cancel_test: reads dropped by timeout and select2 lose no byte of the stream (cancel-safe reads). */
#include <stdint.h>
#include <string.h>

#include "px_test.h"

/*
 * A READ dropped by a combinator may have completed in the kernel just
 * before its CANCEL, or been reaped without being looked at: its bytes
 * left the pipe.  The reactor keeps them and the fd's next read returns
 * them (px_async.h, "cancel-safe reads").  The first two tests force
 * that race on every round, at any number of harts; the last runs the
 * pattern of a real program on two children's streams (with several
 * harts a loser's read often finishes just before its CANCEL).
 */

#define ROUNDS 200

/* Byte i of user/pattern.c's stream. */
static uint8_t pattern_byte(uint32_t i)
{
	uint32_t x = i * 2654435761u;
	return (uint8_t)((x >> 24) ^ (x >> 13) ^ i);
}

/* ---- forced races ---------------------------------------------------------*/

struct forced {
	struct future base;
	int state;
	int a[2], b[2];
	int round;
	unsigned got_a, got_b;          /* bytes received, in order */
	uint8_t buf_a[16], buf_b[16];
	struct px_io ra, rb;
	struct select2 race;
	struct timeout lim;
	struct sleep nap;
};

/* Check n received bytes of stream `which` against what was written
 * (byte i of a stream is i & 0xff, the way the tests write them). */
static int in_order(const uint8_t *buf, long n, unsigned *got)
{
	for (long i = 0; i < n; i++)
		if (buf[i] != (uint8_t)(*got + (unsigned)i))
			return 0;
	*got += (unsigned)n;
	return 1;
}

/*
 * select2 of two reads whose data is already there: both complete in the
 * kernel and both CQEs are reaped before select2 looks.  a wins, and b,
 * finished but unread, is dropped: its byte must come back on b's next
 * read.
 */
PX_ASYNC_TEST(select2_loser_keeps_its_bytes, struct forced, t, .time_limit_ms = 30000)
{
	uint8_t byte;

	ASYNC_BEGIN(t);
	PX_ASSERT_EQ(pipe(t->a), 0);
	PX_ASSERT_EQ(pipe(t->b), 0);
	for (t->round = 0; t->round < ROUNDS; t->round++) {
		byte = (uint8_t)t->round;
		PX_ASSERT_EQ(write(t->a[1], &byte, 1), 1);
		PX_ASSERT_EQ(write(t->b[1], &byte, 1), 1);
		px_io_read(&t->ra, t->a[0], t->buf_a, sizeof(t->buf_a));
		px_io_read(&t->rb, t->b[0], t->buf_b, sizeof(t->buf_b));
		select2_init(&t->race, &t->ra.base, &t->rb.base);
		if (select2_poll(&t->race, cx) == POLL_PENDING) {
			/* Both reads go to the kernel at this park and finish. */
			px_sleep_for(&t->nap, TIMER_MS(2));
			AWAIT(t, sleep_poll(&t->nap, cx));
			AWAIT(t, select2_poll(&t->race, cx));
		}
		if (t->race.winner == 0)
			PX_ASSERT(in_order(t->buf_a, t->ra.result, &t->got_a));
		else
			PX_ASSERT(in_order(t->buf_b, t->rb.result, &t->got_b));
	}
	/* The rest of both streams, to their ends. */
	close(t->a[1]);
	close(t->b[1]);
	for (;;) {
		px_io_read(&t->ra, t->a[0], t->buf_a, sizeof(t->buf_a));
		AWAIT(t, px_io_poll(&t->ra, cx));
		PX_ASSERT_GE(t->ra.result, 0);
		if (t->ra.result == 0)
			break;
		PX_ASSERT(in_order(t->buf_a, t->ra.result, &t->got_a));
	}
	for (;;) {
		px_io_read(&t->rb, t->b[0], t->buf_b, sizeof(t->buf_b));
		AWAIT(t, px_io_poll(&t->rb, cx));
		PX_ASSERT_GE(t->rb.result, 0);
		if (t->rb.result == 0)
			break;
		PX_ASSERT(in_order(t->buf_b, t->rb.result, &t->got_b));
	}
	close(t->a[0]);
	close(t->b[0]);
	PX_ASSERT_EQ(t->got_a, ROUNDS);
	PX_ASSERT_EQ(t->got_b, ROUNDS);
	ASYNC_END(t);
}

/*
 * timeout(read of an empty pipe, 1 ms): the read is in the kernel when
 * the deadline passes; then a byte is written and yield() lets the
 * kernel finish the read before the program reaps, so the timeout sees
 * its deadline, not the completion, and drops a read that has its byte.
 */
PX_ASYNC_TEST(timeout_keeps_bytes_of_a_finished_read, struct forced, t, .time_limit_ms = 30000)
{
	uint8_t byte;

	ASYNC_BEGIN(t);
	PX_ASSERT_EQ(pipe(t->a), 0);
	for (t->round = 0; t->round < ROUNDS; t->round++) {
		px_io_read(&t->ra, t->a[0], t->buf_a, sizeof(t->buf_a));
		px_timeout_for(&t->lim, &t->ra.base, TIMER_MS(1));
		if (timeout_poll(&t->lim, cx) == POLL_PENDING) {
			px_sleep_for(&t->nap, TIMER_MS(2));
			AWAIT(t, sleep_poll(&t->nap, cx));
			byte = (uint8_t)t->round;
			PX_ASSERT_EQ(write(t->a[1], &byte, 1), 1);
			PX_ASSERT_EQ(px_yield(), 0);
			AWAIT(t, timeout_poll(&t->lim, cx));
		} else {
			byte = (uint8_t)t->round;
			PX_ASSERT_EQ(write(t->a[1], &byte, 1), 1);
		}
		if (t->lim.result == TIMEOUT_OK)
			PX_ASSERT(in_order(t->buf_a, t->ra.result, &t->got_a));
	}
	close(t->a[1]);
	for (;;) {
		px_io_read(&t->ra, t->a[0], t->buf_a, sizeof(t->buf_a));
		AWAIT(t, px_io_poll(&t->ra, cx));
		PX_ASSERT_GE(t->ra.result, 0);
		if (t->ra.result == 0)
			break;
		PX_ASSERT(in_order(t->buf_a, t->ra.result, &t->got_a));
	}
	close(t->a[0]);
	PX_ASSERT_EQ(t->got_a, ROUNDS);
	ASYNC_END(t);
}

/* ---- a child's stream -----------------------------------------------------*/

#define STREAM_BYTES 32768

struct stream {
	struct future base;
	int state;
	struct px_child c[2];
	uint32_t got[2];
	int open[2];
	int s;
	uint8_t buf[2][64];
	struct px_io rd[2];
	struct select2 race;
};

static long spawn_gen(struct px_child *c)
{
	static const char *const argv[] = { "pattern", "gen", "32768", NULL };

	return px_child_spawn(c, argv);
}

/* n bytes of stream s arrived in buf: 0 unless they are the next ones. */
static int pattern_next(struct stream *t, int s, long n)
{
	for (long i = 0; i < n; i++)
		if (t->buf[s][i] != pattern_byte(t->got[s] + (uint32_t)i))
			return 0;
	t->got[s] += (uint32_t)n;
	return 1;
}

/* select2 of reads of two `pattern` children until both end. */
PX_ASYNC_TEST(select2_reads_of_two_streams, struct stream, t, .time_limit_ms = 60000)
{
	int w;

	ASYNC_BEGIN(t);
	PX_ASSERT_EQ(spawn_gen(&t->c[0]), 0);
	PX_ASSERT_EQ(spawn_gen(&t->c[1]), 0);
	t->open[0] = t->open[1] = 1;
	while (t->open[0] && t->open[1]) {
		px_io_read(&t->rd[0], t->c[0].out, t->buf[0], sizeof(t->buf[0]));
		px_io_read(&t->rd[1], t->c[1].out, t->buf[1], sizeof(t->buf[1]));
		select2_init(&t->race, &t->rd[0].base, &t->rd[1].base);
		AWAIT(t, select2_poll(&t->race, cx));
		w = t->race.winner;
		PX_ASSERT_GE(t->rd[w].result, 0);
		if (t->rd[w].result == 0)
			t->open[w] = 0;
		else
			PX_ASSERT(pattern_next(t, w, t->rd[w].result));
	}
	for (t->s = 0; t->s < 2; t->s++) {
		while (t->open[t->s]) {
			px_io_read(&t->rd[0], t->c[t->s].out, t->buf[t->s],
			           sizeof(t->buf[0]));
			AWAIT(t, px_io_poll(&t->rd[0], cx));
			PX_ASSERT_GE(t->rd[0].result, 0);
			if (t->rd[0].result == 0)
				t->open[t->s] = 0;
			else
				PX_ASSERT(pattern_next(t, t->s, t->rd[0].result));
		}
	}
	PX_ASSERT_EQ(px_child_wait(&t->c[0]), 0);
	PX_ASSERT_EQ(px_child_wait(&t->c[1]), 0);
	PX_ASSERT_EQ(t->got[0], STREAM_BYTES);
	PX_ASSERT_EQ(t->got[1], STREAM_BYTES);
	ASYNC_END(t);
}

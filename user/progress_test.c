/* progress_test: ring ops that wait for each other never keep out the one that unblocks them (the reactor's queue). */
#include <stdint.h>
#include <string.h>

#include "px_test.h"

/*
 * The kernel runs at most ring.ops_max (128) operations of a ring at once.
 * A program written the obvious way can have more that wait for one
 * another: 200 tasks writing to one full pipe, and one reader that would
 * empty it.  The reactor queues ops beyond what may go in, one op in
 * flight per fd and direction (px_async.h, "the queue"), so the reader's
 * read always reaches the kernel.
 */

#define WRITERS 200
#define PIECE 320               /* 200 x 320 = 64,000 bytes */

struct writer {
	struct future base;
	int state;
	int fd;
	uint8_t k;
	uint8_t piece[PIECE];
	struct px_io wr;
};

static enum poll writer_poll(struct future *f, struct context *cx)
{
	struct writer *w = (struct writer *)f;

	ASYNC_BEGIN(w);
	memset(w->piece, w->k, sizeof(w->piece));
	px_io_write(&w->wr, w->fd, w->piece, sizeof(w->piece));
	AWAIT(w, px_io_poll(&w->wr, cx));
	ASYNC_END(w);
}

static const struct future_vtable writer_vtable = { writer_poll, NULL };

struct slow_reader {
	struct future base;
	int state;
	int fds[2];
	int i;
	unsigned total;
	unsigned count[WRITERS];
	uint8_t buf[512];
	struct px_io rd;
	struct sleep nap;
	struct join_handle jh[WRITERS];
	struct writer w;
};

/* 200 writer tasks on one pipe, started while nobody reads, then a reader
 * that takes 512 bytes a millisecond: every byte arrives, 320 from each
 * writer. */
PX_ASYNC_TEST(many_writers_one_slow_reader, struct slow_reader, t, .time_limit_ms = 30000)
{
	ASYNC_BEGIN(t);
	PX_ASSERT_EQ(pipe(t->fds), 0);
	for (t->i = 0; t->i < WRITERS; t->i++) {
		t->w = (struct writer){ .base = { &writer_vtable }, .fd = t->fds[1],
		                        .k = (uint8_t)t->i };
		PX_ASSERT_EQ(px_task_spawn(&TASK_DESC_VOID(t->w, "writer"), &t->jh[t->i]),
		             TASK_OK);
	}
	/* Let the writers fill the pipe and block. */
	px_sleep_for(&t->nap, TIMER_MS(20));
	AWAIT(t, sleep_poll(&t->nap, cx));
	while (t->total < WRITERS * PIECE) {
		px_io_read(&t->rd, t->fds[0], t->buf, sizeof(t->buf));
		AWAIT(t, px_io_poll(&t->rd, cx));
		PX_ASSERT_GT(t->rd.result, 0);          /* never -PX_EAGAIN */
		for (long long j = 0; j < t->rd.result; j++) {
			PX_ASSERT_LT(t->buf[j], WRITERS);
			t->count[t->buf[j]]++;
		}
		t->total += (unsigned)t->rd.result;
		px_sleep_for(&t->nap, TIMER_MS(1));
		AWAIT(t, sleep_poll(&t->nap, cx));
	}
	for (t->i = 0; t->i < WRITERS; t->i++) {
		AWAIT(t, join_handle_poll(&t->jh[t->i], cx));
		PX_ASSERT_EQ(t->jh[t->i].result, JOIN_OK);
		PX_ASSERT_EQ(t->count[t->i], PIECE);
	}
	close(t->fds[0]);
	close(t->fds[1]);
	ASYNC_END(t);
}

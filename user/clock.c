/* clock: print "tick N s" once a second, N times (default 5), without ever blocking the shell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

/*
 * The smallest useful async program; read it first.
 *
 *   $ clock 3 &
 *   [7]
 *   $ tick 1 s          <- printed while sh waits for your next line
 *   echo hi
 *   hi
 *   tick 2 s
 *   tick 3 s
 *
 * Run in the background, clock shares the console with sh but never
 * reads it, so every line you type still goes to the shell.  Between
 * ticks it costs nothing: its one task waits on a timer, the executor
 * finds nothing to run and parks in ring_enter until the timer's
 * deadline, and the kernel runs other processes meanwhile.
 *
 * An async function in C is a struct plus a poll function.  The struct
 * holds the state number (for the ASYNC_* macros) and every variable that
 * must survive an AWAIT; the poll function is the body.  Each AWAIT
 * returns POLL_PENDING to the executor until the awaited future is
 * ready, and the next poll jumps straight back to that AWAIT.
 */

struct clock {
	struct future base;     /* first: a struct clock is a struct future */
	int state;              /* where the body is suspended (ASYNC_*) */
	int ticks;              /* how many to print */
	int i;                  /* a loop counter that lives across AWAITs */
	struct interval every;  /* ready once per second */
	struct px_io out;       /* the async write of one line */
	char line[32];
	int len;
};

static enum poll clock_poll(struct future *f, struct context *cx)
{
	struct clock *c = (struct clock *)f;

	ASYNC_BEGIN(c);
	/* An interval, not a sleep per tick: its deadlines are start + k s,
	 * so the ticks do not drift however late a tick is printed. */
	px_interval_every(&c->every, TIMER_SEC(1));
	for (c->i = 1; c->i <= c->ticks; c->i++) {
		AWAIT(c, interval_tick_poll(&c->every, cx));
		c->len = snprintf(c->line, sizeof(c->line), "tick %d s\n", c->i);
		/* The write goes through the ring too: queued now, submitted
		 * at the next park together with anything else queued. */
		px_io_write(&c->out, 1, c->line, (size_t)c->len);
		AWAIT(c, px_io_poll(&c->out, cx));
		if (c->out.result < 0)  /* no ring (an older kernel)? */
			fputs(c->line, stdout);
	}
	interval_drop(&c->every);
	ASYNC_END(c);
}

static const struct future_vtable clock_vtable = { clock_poll, NULL };

int main(int argc, char **argv)
{
	static struct clock c = { .base = { &clock_vtable } };

	c.ticks = argc > 1 ? atoi(argv[1]) : 5;
	if (c.ticks < 0) {
		fprintf(stderr, "usage: clock [ticks]\n");
		return 2;
	}
	px_run(&c.base);
	return 0;
}

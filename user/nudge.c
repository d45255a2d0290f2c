/* nudge: echo each line you type, and nudge you when you type nothing for a while (docs/tutorial.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px_async.h"

/*
 *   nudge [MS]   prints "you said: LINE" for every line you type, and
 *                "still there?" whenever MS ms (default 5000) pass
 *                without one; ends at "bye" or at the end of input.
 *
 * One task waits for two things at once, a line on fd 0 and a timer:
 * select2 polls both, the first to be ready wins, the other is dropped.
 */

struct nudge {
	struct future base;     /* first: a struct nudge is a future */
	int state;              /* where the body is suspended (ASYNC_*) */
	uint64_t quiet_ns;      /* how long a silence lasts before a nudge */
	char line[128];         /* what the read brings */
	struct px_io read;      /* a read of fd 0, through the ring */
	struct sleep nap;       /* a timer on the executor's wheel */
	struct select2 race;    /* the two of them, raced */
};

static enum poll nudge_poll(struct future *f, struct context *cx)
{
	struct nudge *n = (struct nudge *)f;

	ASYNC_BEGIN(n);
	for (;;) {
		px_io_read(&n->read, 0, n->line, sizeof(n->line) - 1);
		px_sleep_for(&n->nap, n->quiet_ns);
		select2_init(&n->race, &n->read.base, &n->nap.base);
		AWAIT(n, select2_poll(&n->race, cx));
		/* The loser was dropped.  A read dropped just as its line
		 * came keeps the line for the next read: none is lost. */
		if (n->race.winner == 1) {
			printf("still there?\n");
			continue;
		}
		if (n->read.result <= 0)        /* the end of input, or an error */
			break;
		n->line[n->read.result] = '\0';
		if (strcmp(n->line, "bye\n") == 0)
			break;
		printf("you said: %s", n->line);
	}
	ASYNC_END(n);
}

static const struct future_vtable nudge_vtable = { nudge_poll, NULL };

int main(int argc, char **argv)
{
	static struct nudge n = { .base = { &nudge_vtable } };

	n.quiet_ns = TIMER_MS(argc > 1 ? atoi(argv[1]) : 5000);
	px_run(&n.base);
	return 0;
}

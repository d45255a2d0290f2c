/* px_acceptor: a TCP server's accept loop as a future, one new task per connection. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

void px_acceptor_init(struct px_acceptor *a, int lfd, const char *name, int (*start)(int fd))
{
	*a = (struct px_acceptor){ .base = { &px_acceptor_vtable }, .lfd = lfd, .name = name,
				   .start = start };
}

static enum poll acceptor_poll(struct future *f, struct context *cx)
{
	struct px_acceptor *a = (struct px_acceptor *)f;

	ASYNC_BEGIN(a);
	for (;;) {
		px_io_accept(&a->acc, a->lfd, NULL);
		AWAIT(a, px_io_poll(&a->acc, cx));
		if (a->acc.result < 0) {
			if (a->acc.result != -PX_EMFILE && a->acc.result != -PX_ENOMEM) {
				fprintf(stderr, "%s: accept: %s\n", a->name,
				        strerror(px_errno(-a->acc.result)));
				ASYNC_RETURN(a);
			}
			px_sleep_for(&a->nap, TIMER_MS(10));   /* fds or memory run out */
			AWAIT(a, sleep_poll(&a->nap, cx));
			continue;
		}
		if (a->start((int)a->acc.result) != TASK_OK)
			close((int)a->acc.result);
	}
	ASYNC_END(a);
}

const struct future_vtable px_acceptor_vtable = { acceptor_poll, NULL };

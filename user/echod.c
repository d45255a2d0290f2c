/* echod: a TCP echo server (RFC 862), one task per connection, idle connections closed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

/*
 *   echod [port [idle_seconds]]        default port 7, 30 s idle limit
 *
 *   acceptor task (px_acceptor)        one conn task per connection
 *   +------------------------+         +-----------------------------+
 *   | px_io_accept(listener) |--fd---->| loop:                       |
 *   | px_task_spawn(conn)    |         |   px_io_recv or idle limit  |
 *   | again                  |         |   px_io_send every byte     |
 *   +------------------------+         | close(fd)                   |
 *                                      +-----------------------------+
 *
 * Each connection is its own task, so a slow or silent client holds up
 * nobody: its task waits in the kernel (a RECV on the ring) while the
 * others run.  A recv that sees no byte for the idle limit is dropped
 * (the ring cancels it) and the connection is closed.  The limit counts
 * from the last byte received, so every receive moves it; the timer on
 * the wheel is moved only when it fires (recv_or_idle): arming and
 * cancelling a timer per receive would cost an echo more than its
 * bytes do.
 * Every connection keeps a RECV in flight, so echod asks for the
 * largest ring (PX_RING_MAX entries: 2,048 operations at once, room for
 * a RECV and a SEND on each of the PX_NFD_MAX fds a process can have).
 * accept's EMFILE (all PX_NFD_MAX fds taken) waits a little and tries
 * again: the connection it took was reset, the client may retry.
 *
 * It prints "echod: listening on port P" once ready (tests wait for it)
 * and runs until killed.
 */

#define BUF 4096

static uint64_t idle_ns = TIMER_SEC(30);
static unsigned long conns_served;

struct conn {
	struct future base;
	int state;
	int fd;
	long got, off;
	int idle;               /* recv_or_idle's answer: the limit passed */
	uint64_t last;          /* when the last byte came (or the start) */
	struct px_io rd, wr;
	struct sleep lim;       /* at or before last + idle_ns */
	char buf[BUF];
};

/* Ready when the RECV in c->rd is, or when idle_ns have passed since
 * c->last (then c->idle is set).  The sleep fires at the deadline it was
 * given; if bytes came since, it is set again for the later one. */
static enum poll recv_or_idle(struct conn *c, struct context *cx)
{
	for (;;) {
		if (px_io_poll(&c->rd, cx) == POLL_READY)
			return POLL_READY;
		if (sleep_poll(&c->lim, cx) == POLL_PENDING)
			return POLL_PENDING;
		uint64_t due = c->last + idle_ns;
		if (px_now() >= due) {
			c->idle = 1;
			return POLL_READY;
		}
		sleep_reset(&c->lim, due);
	}
}

static enum poll conn_poll(struct future *f, struct context *cx)
{
	struct conn *c = (struct conn *)f;

	ASYNC_BEGIN(c);
	c->last = px_now();
	sleep_init(&c->lim, exec_wheel(px_executor()), c->last + idle_ns);
	for (;;) {
		px_io_recv(&c->rd, c->fd, c->buf, sizeof(c->buf));
		AWAIT(c, recv_or_idle(c, cx));
		if (c->idle) {
			px_io_drop(&c->rd);     /* the ring cancels the RECV */
			break;
		}
		if (c->rd.result <= 0)
			break;          /* end of stream, or an error */
		c->last = px_now();
		c->got = (long)c->rd.result;
		for (c->off = 0; c->off < c->got; c->off += (long)c->wr.result) {
			px_io_send(&c->wr, c->fd, c->buf + c->off, (size_t)(c->got - c->off));
			AWAIT(c, px_io_poll(&c->wr, cx));
			if (c->wr.result <= 0)
				goto out;
		}
	}
out:
	sleep_drop(&c->lim);
	close(c->fd);
	conns_served++;
	ASYNC_END(c);
}

static const struct future_vtable conn_vtable = { conn_poll, NULL };

/* px_acceptor's start: the connection's task gets a copy of c (set up
 * here, never polled). */
static int conn_start(int fd)
{
	struct conn c = { .base = { &conn_vtable }, .fd = fd };
	return px_task_spawn(&TASK_DESC_VOID(c, "conn"), NULL);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7;
	if (argc > 2)
		idle_ns = TIMER_SEC((uint64_t)atoi(argv[2]));
	if (port <= 0 || port > 65535 || argc > 3) {
		fprintf(stderr, "usage: echod [port [idle_seconds]]\n");
		return 2;
	}
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct px_sockaddr_in a = { PX_AF_INET, (uint16_t)port, 0 };
	if (lfd < 0 || bind(lfd, &a) < 0 || listen(lfd, 64) < 0) {
		perror("echod");
		return 1;
	}
	long err = px_async_init(PX_RING_MAX);
	if (err < 0)
		fprintf(stderr, "echod: ring: %s\n", strerror(px_errno(-err)));
	printf("echod: listening on port %d\n", port);
	static struct px_acceptor acc;
	px_acceptor_init(&acc, lfd, "echod", conn_start);
	px_run(&acc.base);
	printf("echod: %lu connections served\n", conns_served);
	return 1;
}

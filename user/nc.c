/* nc: connect to ip port, copy stdin to the socket and the socket to stdout, as two tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

/*
 *   nc IP PORT
 *
 *   main: px_io_connect, then two tasks, and it waits for the second:
 *
 *   up    stdin --px_io_read--> buf --px_io_send--> socket
 *         at the end of stdin: shutdown(SHUT_WR), so the peer sees the
 *         end of our stream and can finish its answer
 *   down  socket --px_io_recv--> buf --px_io_write--> stdout
 *         until the peer closes (recv 0) or an error
 *
 * The two directions are independent tasks: a peer that talks first (a
 * banner) or answers while we still type is shown at once.  When `down`
 * ends, nc ends, and px_run drops `up` (its console read is cancelled).
 * Exit status 0 if the connection ended cleanly, 1 otherwise.
 */

#define BUF 2048

static int sock;
static int down_ok;

struct up {
	struct future base;
	int state;
	long got, off;
	struct px_io rd, wr;
	char buf[BUF];
};

static enum poll up_poll(struct future *f, struct context *cx)
{
	struct up *u = (struct up *)f;

	ASYNC_BEGIN(u);
	for (;;) {
		px_io_read(&u->rd, 0, u->buf, sizeof(u->buf));
		AWAIT(u, px_io_poll(&u->rd, cx));
		if (u->rd.result <= 0)
			break;
		u->got = (long)u->rd.result;
		for (u->off = 0; u->off < u->got; u->off += (long)u->wr.result) {
			px_io_send(&u->wr, sock, u->buf + u->off, (size_t)(u->got - u->off));
			AWAIT(u, px_io_poll(&u->wr, cx));
			if (u->wr.result <= 0)
				ASYNC_RETURN(u);
		}
	}
	shutdown(sock, SHUT_WR);
	ASYNC_END(u);
}

struct down {
	struct future base;
	int state;
	long got, off;
	struct px_io rd, wr;
	char buf[BUF];
};

static enum poll down_poll(struct future *f, struct context *cx)
{
	struct down *d = (struct down *)f;

	ASYNC_BEGIN(d);
	for (;;) {
		px_io_recv(&d->rd, sock, d->buf, sizeof(d->buf));
		AWAIT(d, px_io_poll(&d->rd, cx));
		if (d->rd.result < 0) {
			fprintf(stderr, "nc: recv: %s\n", strerror(px_errno(-d->rd.result)));
			ASYNC_RETURN(d);
		}
		if (d->rd.result == 0)
			break;
		d->got = (long)d->rd.result;
		for (d->off = 0; d->off < d->got; d->off += (long)d->wr.result) {
			px_io_write(&d->wr, 1, d->buf + d->off, (size_t)(d->got - d->off));
			AWAIT(d, px_io_poll(&d->wr, cx));
			if (d->wr.result <= 0)
				ASYNC_RETURN(d);
		}
	}
	down_ok = 1;
	ASYNC_END(d);
}

static const struct future_vtable up_vtable = { up_poll, NULL };
static const struct future_vtable down_vtable = { down_poll, NULL };

struct nc_main {
	struct future base;
	int state;
	struct px_sockaddr_in to;
	struct px_io conn;
	struct join_handle dj;
};

static enum poll main_poll(struct future *f, struct context *cx)
{
	struct nc_main *m = (struct nc_main *)f;

	ASYNC_BEGIN(m);
	px_io_connect(&m->conn, sock, &m->to);
	AWAIT(m, px_io_poll(&m->conn, cx));
	if (m->conn.result < 0) {
		fprintf(stderr, "nc: connect: %s\n", strerror(px_errno(-m->conn.result)));
		ASYNC_RETURN(m);
	}
	{
		/* Spawning copies each future into its task. */
		static struct up u = { .base = { &up_vtable } };
		static struct down d = { .base = { &down_vtable } };
		if (px_task_spawn(&TASK_DESC_VOID(u, "up"), NULL) != TASK_OK ||
		    px_task_spawn(&TASK_DESC_VOID(d, "down"), &m->dj) != TASK_OK) {
			fprintf(stderr, "nc: out of memory\n");
			ASYNC_RETURN(m);
		}
	}
	AWAIT(m, future_poll(&m->dj.base, cx));
	ASYNC_END(m);
}

static const struct future_vtable main_vtable = { main_poll, NULL };

int main(int argc, char **argv)
{
	static struct nc_main m = { .base = { &main_vtable } };
	uint32_t ip;
	int port = argc == 3 ? atoi(argv[2]) : 0;
	if (argc != 3 || px_inet_aton(argv[1], &ip) != 0 || port <= 0 || port > 65535) {
		fprintf(stderr, "usage: nc IP PORT\n");
		return 2;
	}
	sock = socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0) {
		perror("nc: socket");
		return 1;
	}
	m.to = (struct px_sockaddr_in){ PX_AF_INET, (uint16_t)port, ip };
	px_run(&m.base);
	close(sock);
	return down_ok ? 0 : 1;
}

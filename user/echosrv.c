/* echosrv: an async echo server and its client, two processes talking over two pipes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

/*
 *   echosrv [M]                       server (default M = 50 messages)
 *   echosrv client WFD RFD M          the client the server spawns
 *
 *        server process                          client process
 *   +---------------------------+           +--------------------------+
 *   | reader task               |  requests | sender: writes M lines   |
 *   |  px_io_read(req) ---------+<----------+  "message i\n", closes   |
 *   |  mpsc_send(chunk)         |   pipe 1  |                          |
 *   |        |  mpsc channel    |           | checker: reads replies,  |
 *   |        v  (4 chunks)      |  replies  |  compares them with what |
 *   | writer task               +---------->+  was sent                |
 *   |  mpsc_recv, px_io_write   |   pipe 2  | join2(sender, checker)   |
 *   +---------------------------+           +--------------------------+
 *
 * The server shows tasks (px_task_spawn) and a channel between them: the
 * reader can read the next request while the writer is still writing
 * the last reply, and the channel's capacity bounds how far ahead it
 * gets (a full channel makes mpsc_send wait: back-pressure).  At end of
 * input the reader drops its sender; the writer drains the channel, sees
 * SYNC_CLOSED and ends.  The client shows join2: two async functions
 * polled together inside one task.
 *
 * Spawned children inherit every open fd, so the server passes the
 * numbers of the client's two pipe ends as arguments and closes its own
 * copies of them: once the client closes its write end, the server's
 * read returns 0 (end of input).
 *
 * Exit status 0 only if the client saw every reply intact.
 */

#define CHUNK 64
#define DEFAULT_MESSAGES 50

struct chunk {
	size_t len;
	char data[CHUNK];
};

/* ================================ server ================================ */

static struct chunk chan_buf[4];
static struct mpsc chan;

/* Reads requests and hands them to the writer.  Output: bytes read. */
struct reader {
	struct future base;
	int state;
	int fd;
	long bytes;
	struct chunk c;
	struct px_io rd;
	struct mpsc_send send;
};

static enum poll reader_poll(struct future *f, struct context *cx)
{
	struct reader *r = (struct reader *)f;

	ASYNC_BEGIN(r);
	for (;;) {
		px_io_read(&r->rd, r->fd, r->c.data, CHUNK);
		AWAIT(r, px_io_poll(&r->rd, cx));
		if (r->rd.result <= 0)  /* 0: the client closed its end */
			break;
		r->c.len = (size_t)r->rd.result;
		r->bytes += r->rd.result;
		mpsc_send_init(&r->send, &chan, &r->c);  /* copies r->c */
		AWAIT(r, mpsc_send_poll(&r->send, cx));
		if (r->send.result != SYNC_OK)
			break;
	}
	mpsc_sender_drop(&chan);        /* the writer ends after the last chunk */
	ASYNC_END(r);
}

/* Writes every chunk back.  Output: bytes written. */
struct writer {
	struct future base;
	int state;
	int fd;
	long bytes;
	size_t off;
	struct chunk c;
	struct mpsc_recv recv;
	struct px_io wr;
};

static enum poll writer_poll(struct future *f, struct context *cx)
{
	struct writer *w = (struct writer *)f;

	ASYNC_BEGIN(w);
	for (;;) {
		mpsc_recv_init(&w->recv, &chan, &w->c);
		AWAIT(w, mpsc_recv_poll(&w->recv, cx));
		if (w->recv.result != SYNC_OK)  /* closed and drained */
			break;
		/* A pipe write may take less than asked: loop until done. */
		for (w->off = 0; w->off < w->c.len; w->off += (size_t)w->wr.result) {
			px_io_write(&w->wr, w->fd, w->c.data + w->off, w->c.len - w->off);
			AWAIT(w, px_io_poll(&w->wr, cx));
			if (w->wr.result <= 0)
				ASYNC_RETURN(w);
			w->bytes += w->wr.result;
		}
	}
	ASYNC_END(w);
}

static const struct future_vtable reader_vtable = { reader_poll, NULL };
static const struct future_vtable writer_vtable = { writer_poll, NULL };

struct server {
	struct future base;
	int state;
	int req, rep;                   /* our pipe ends: read requests, write replies */
	long in, out;                   /* the tasks' outputs */
	struct join_handle rj, wj;
	struct join2 both;
};

static enum poll server_poll(struct future *f, struct context *cx)
{
	struct server *s = (struct server *)f;

	ASYNC_BEGIN(s);
	mpsc_init(&chan, chan_buf, sizeof(struct chunk), 4);
	{
		/* Spawning copies the future into its task: set it up here,
		 * never poll the copy in this frame. */
		struct reader r = { .base = { &reader_vtable }, .fd = s->req };
		struct writer w = { .base = { &writer_vtable }, .fd = s->rep };

		if (px_task_spawn(&TASK_DESC(r, bytes, "reader"), &s->rj) != TASK_OK ||
		    px_task_spawn(&TASK_DESC(w, bytes, "writer"), &s->wj) != TASK_OK) {
			fprintf(stderr, "echosrv: out of memory\n");
			exit(1);
		}
	}
	s->rj.out = &s->in;
	s->wj.out = &s->out;
	/* A join handle is a future too: wait for both tasks. */
	join2_init(&s->both, &s->rj.base, &s->wj.base);
	AWAIT(s, join2_poll(&s->both, cx));
	ASYNC_END(s);
}

static const struct future_vtable server_vtable = { server_poll, NULL };

static int server_main(int messages)
{
	static struct server s = { .base = { &server_vtable } };
	int req[2], rep[2], status = -1, pid;
	char wfd[12], rfd[12], m[12];

	if (pipe(req) < 0 || pipe(rep) < 0) {
		perror("echosrv: pipe");
		return 1;
	}
	snprintf(wfd, sizeof(wfd), "%d", req[1]);
	snprintf(rfd, sizeof(rfd), "%d", rep[0]);
	snprintf(m, sizeof(m), "%d", messages);
	const char *const argv[] = { "echosrv", "client", wfd, rfd, m, NULL };
	if ((pid = spawn("echosrv", argv)) < 0) {
		perror("echosrv: spawn");
		return 1;
	}
	close(req[1]);                  /* the client's ends: not ours */
	close(rep[0]);
	s.req = req[0];
	s.rep = rep[1];
	px_run(&s.base);
	close(s.rep);                   /* no more replies */
	close(s.req);
	wait(pid, &status);
	printf("echosrv: server echoed %ld of %ld bytes; client %s\n", s.out, s.in,
	       status == 0 ? "OK" : "FAILED");
	return status == 0 && s.in == s.out && s.in > 0 ? 0 : 1;
}

/* ================================ client ================================ */

/* Sends "message 0\n" ... "message M-1\n", then closes its end. */
struct sender {
	struct future base;
	int state;
	int fd, m, i;
	size_t len, off;
	char msg[24];
	struct px_io wr;
};

static enum poll sender_poll(struct future *f, struct context *cx)
{
	struct sender *s = (struct sender *)f;

	ASYNC_BEGIN(s);
	for (s->i = 0; s->i < s->m; s->i++) {
		s->len = (size_t)snprintf(s->msg, sizeof(s->msg), "message %d\n", s->i);
		for (s->off = 0; s->off < s->len; s->off += (size_t)s->wr.result) {
			px_io_write(&s->wr, s->fd, s->msg + s->off, s->len - s->off);
			AWAIT(s, px_io_poll(&s->wr, cx));
			if (s->wr.result <= 0)
				ASYNC_RETURN(s);
		}
	}
	close(s->fd);                   /* the server reads end of input */
	ASYNC_END(s);
}

/* Reads the replies and compares them, byte by byte, with what the
 * sender sent (regenerated: message i, position pos). */
struct checker {
	struct future base;
	int state;
	int fd, m, i;
	size_t pos, len;
	int ok;
	char expect[24];
	char buf[CHUNK];
	struct px_io rd;
};

static enum poll checker_poll(struct future *f, struct context *cx)
{
	struct checker *c = (struct checker *)f;

	ASYNC_BEGIN(c);
	c->len = (size_t)snprintf(c->expect, sizeof(c->expect), "message %d\n", 0);
	while (c->i < c->m) {
		px_io_read(&c->rd, c->fd, c->buf, sizeof(c->buf));
		AWAIT(c, px_io_poll(&c->rd, cx));
		if (c->rd.result <= 0)
			ASYNC_RETURN(c);        /* the server stopped early */
		/* No AWAIT in here: a plain C loop with plain locals. */
		for (long k = 0; k < c->rd.result; k++) {
			if (c->i >= c->m || c->buf[k] != c->expect[c->pos])
				ASYNC_RETURN(c);
			if (++c->pos == c->len) {
				c->pos = 0;
				c->i++;
				c->len = (size_t)snprintf(c->expect, sizeof(c->expect),
				                          "message %d\n", c->i);
			}
		}
	}
	c->ok = 1;
	ASYNC_END(c);
}

static const struct future_vtable sender_vtable = { sender_poll, NULL };
static const struct future_vtable checker_vtable = { checker_poll, NULL };

static int client_main(int wfd, int rfd, int messages)
{
	static struct sender s = { .base = { &sender_vtable } };
	static struct checker c = { .base = { &checker_vtable } };
	static struct join2 both;

	s.fd = wfd;
	s.m = messages;
	c.fd = rfd;
	c.m = messages;
	join2_init(&both, &s.base, &c.base);
	px_run(&both.base);
	printf("echosrv: client got %d of %d replies back %s\n", c.i, messages,
	       c.ok ? "intact" : "WRONG");
	return c.ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "client") == 0)
		return client_main(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	if (argc <= 2) {
		int m = argc == 2 ? atoi(argv[1]) : DEFAULT_MESSAGES;
		if (m > 0)
			return server_main(m);
	}
	fprintf(stderr, "usage: echosrv [messages]\n");
	return 2;
}

/* httpd: an HTTP/1.1 server, one process, one task per connection, keep-alive, files from the disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "px.h"
#include "px_async.h"

/*
 *   httpd [port [root [idle_seconds]]]     default 80, /www, 30 s
 *
 *   acceptor task (px_acceptor) ──px_io_accept──► one conn task per connection:
 *
 *     loop
 *       read the request head into req[] (px_io_recv under a timeout)
 *         no CRLF in the first REQ_MAX bytes  -> 400, close
 *         no blank line in REQ_MAX bytes      -> 431, close
 *       parse "METHOD /path HTTP/1.x" and the Connection header
 *       GET or HEAD a file under root (px_io_openat, then px_io_fstat
 *         and the first px_io_read together, px_io_send in pieces, the
 *         head sent with the first piece); "/" with no
 *         root/index.html gets the built-in page; anything else 404
 *         (503 and the close when fds or memory run out)
 *       the file stays open for the connection's next request: asked
 *         for again, a px_io_stat of the path checks that it is still
 *         that file (same inode) while the first piece is read
 *       HTTP/1.1 keeps the connection unless "Connection: close";
 *         HTTP/1.0 closes unless "Connection: keep-alive"
 *
 * Every wait — for the request, for the client to take the response —
 * is under the idle limit (idle_or: the wait raced against a sleep that
 * is moved only when it fires), so a client that stops reading or never
 * finishes its request loses its connection, and since each connection is its own task, a slow client
 * never holds up the others.  Bytes after a request's head (a pipelined
 * next request) stay in req[] for the next round; request bodies are
 * not supported (methods with one get 501 and the connection closes).
 *
 * Prints "httpd: listening on port P" once ready and runs until killed.
 */

#define REQ_MAX 4096
#define BUF 4096
#define HEAD_ROOM 128   /* a 200's head goes in buf[0, HEAD_ROOM), before the body */

static uint64_t idle_ns = TIMER_SEC(30);
static const char *root = "/www";
static size_t root_len = 4;

static const char builtin_page[] =
	"<!DOCTYPE html>\n"
	"<html><head><title>Pollux</title></head>\n"
	"<body><h1>Hello from Pollux</h1>\n"
	"<p>This page is served by httpd, an async user program: one task per\n"
	"connection on the user executor, over the kernel's own TCP.</p>\n"
	"</body></html>\n";

/* ---- send_all: every byte of a buffer, as a future -------------------------*/

struct send_all {
	struct future base;
	int state;
	int fd;
	const char *p;
	size_t n;
	long result;         /* bytes sent, or the error */
	struct px_io wr;
};

static enum poll send_all_poll(struct future *f, struct context *cx)
{
	struct send_all *s = (struct send_all *)f;

	ASYNC_BEGIN(s);
	while ((size_t)s->result < s->n) {
		px_io_send(&s->wr, s->fd, s->p + s->result, s->n - (size_t)s->result);
		AWAIT(s, px_io_poll(&s->wr, cx));
		if (s->wr.result <= 0) {
			s->result = s->wr.result < 0 ? (long)s->wr.result : -PX_EPIPE;
			ASYNC_RETURN(s);
		}
		s->result += (long)s->wr.result;
	}
	ASYNC_END(s);
}

static void send_all_drop(struct future *f)
{
	struct send_all *s = (struct send_all *)f;
	if (s->state != ASYNC_INIT && s->state != ASYNC_DONE)
		px_io_drop(&s->wr);
}

static const struct future_vtable send_all_vtable = { send_all_poll, send_all_drop };

static void send_all_init(struct send_all *s, int fd, const void *p, size_t n)
{
	*s = (struct send_all){ .base = { &send_all_vtable }, .fd = fd, .p = p, .n = n };
}

/* ---- one connection -----------------------------------------------------------*/

/*
 * A connection's buffers, 9 KiB, are not in struct conn: px_task_spawn
 * copies the task's future from a template for every connection, and
 * picolibc's malloc clears every block it hands out, so 9 KiB in the
 * future would be cleared and copied per connection (5,000 instructions,
 * a tenth of a short connection's cost).  They come from a free list of
 * buffers that ended connections gave back (malloc only while it is
 * empty): the list holds as many as were ever in use at once.
 */
struct conn_mem {
	struct conn_mem *next;  /* on the free list */
	char path[PX_FS_PATH_MAX];
	char kept_path[PX_FS_PATH_MAX];
	char hdr[256];
	char req[REQ_MAX];
	char buf[BUF];
};

static struct conn_mem *spare_mem;

static struct conn_mem *mem_get(void)
{
	struct conn_mem *m = spare_mem;

	if (m)
		spare_mem = m->next;
	else
		m = malloc(sizeof(*m));
	return m;
}

static void mem_put(struct conn_mem *m)
{
	m->next = spare_mem;
	spare_mem = m;
}

struct conn {
	struct future base;
	int state;
	int fd, file;
	int keep, head_only, status, html;
	size_t have, head_len;
	size_t scan;            /* req[0, scan) has been looked at */
	int line;               /* the request line's CRLF was seen ... */
	size_t eol;             /* ... at req[eol] */
	char *head;             /* a 200's head, in buf up to HEAD_ROOM ... */
	size_t fill;            /* ... and the body bytes after it */
	/* The head ok_head wrote last, while it is still in buf (NULL once
	 * a later piece of a body overwrote it), and what it says: another
	 * answer with the same length, type and Connection reuses it. */
	char *last_head;
	uint64_t last_len;
	int last_html, last_keep;
	uint64_t left;
	const char *reason;
	struct px_io io, rd;
	struct join2 both;
	struct send_all sa;
	struct sleep lim;       /* fires at or before since + idle_ns */
	uint64_t since;         /* when the current wait began */
	int idle;               /* idle_or's answer: the limit passed */
	struct px_stat st;
	int kept;               /* the file sent last, still open, or -1 ... */
	uint64_t kept_ino;      /* ... its inode, and its path in m->kept_path */
	uint64_t off;           /* where the next read of the body starts */
	struct conn_mem *m;     /* its buffers */
};

/*
 * Reading the head.  It arrives in pieces, and each piece is looked at
 * once: c->scan is where the last look stopped, so a head that came in
 * ten segments is still scanned once, not ten times.  On the way the
 * end of the request line is noted (c->eol, valid once c->line is set).
 */

/* The end of the head (the byte after the blank line) in req, or 0. */
static size_t head_end(struct conn *c)
{
	const char *r = c->m->req, *end = r + c->have;

	for (const char *p = r + c->scan; p < end; p++) {
		if (*p != '\n')
			continue;               /* most bytes: one test */
		size_t i = (size_t)(p - r);
		if (i == 0 || r[i - 1] != '\r')
			continue;
		if (!c->line) {
			c->line = 1;
			c->eol = i - 1;
		}
		if (i >= 3 && r[i - 2] == '\n' && r[i - 3] == '\r')
			return i + 1;
	}
	c->scan = c->have;
	return 0;
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Does [p, p + n) begin with word (lower case), ignoring case? */
static int starts_nocase(const char *p, size_t n, const char *word)
{
	for (; *word; word++, p++, n--)
		if (n == 0 || lower(*p) != *word)
			return 0;
	return 1;
}

/* Does [p, p + n) contain word (lower case), ignoring case? */
static int contains_nocase(const char *p, size_t n, const char *word)
{
	for (; n > 0; p++, n--)
		if (lower(*p) == word[0] && starts_nocase(p, n, word))
			return 1;
	return 0;
}

/* Does [p, p + n) contain word (exactly)? */
static int contains(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (; n >= w; p++, n--)
		if (*p == word[0] && memcmp(p, word, w) == 0)
			return 1;
	return 0;
}

/*
 * Parse the head in req[0, head_len): sets status (0: serve c->m->path),
 * keep and head_only.  One pass, lengths instead of terminators:
 *
 *   METHOD SP /target SP HTTP/1.x CRLF       (c->eol is the CR)
 *   Name: value CRLF ...                     only Connection: is read
 *   CRLF
 */
static void parse(struct conn *c)
{
	const char *line = c->m->req, *eol = c->m->req + c->eol;
	const char *sp[3] = { 0 };
	int nsp = 0;

	c->keep = 0;
	c->head_only = 0;
	c->status = 400;
	c->reason = "Bad Request";
	for (const char *p = line; p < eol; p++) {
		if (*p == '\0')
			return;                 /* no NUL inside a request line */
		if (*p == ' ') {
			if (nsp == 3)
				return;
			sp[nsp++] = p;
		}
	}
	if (nsp != 2 || sp[0][1] != '/')
		return;
	const char *method = line, *target = sp[0] + 1, *version = sp[1] + 1;
	size_t mlen = (size_t)(sp[0] - method), tlen = (size_t)(sp[1] - target);
	size_t vlen = (size_t)(eol - version);
	if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
	    (version[7] != '0' && version[7] != '1'))
		return;
	c->keep = version[7] == '1';

	/* The header lines: "Connection: close" ends the connection after
	 * this answer, "Connection: keep-alive" keeps it (HTTP/1.0). */
	int close_it = 0, keep_it = 0;
	const char *end = c->m->req + c->head_len - 2; /* the blank line's CR */
	for (const char *h = eol + 2; h < end;) {
		const char *e = h;
		while (e[0] != '\r' || e[1] != '\n')
			e++;                    /* the head ends in CRLF CRLF */
		if (starts_nocase(h, (size_t)(e - h), "connection:")) {
			close_it |= contains_nocase(h + 11, (size_t)(e - h - 11), "close");
			keep_it |= contains_nocase(h + 11, (size_t)(e - h - 11), "keep-alive");
		}
		h = e + 2;
	}
	if (close_it)
		c->keep = 0;
	else if (keep_it)
		c->keep = 1;

	c->head_only = mlen == 4 && memcmp(method, "HEAD", 4) == 0;
	if (!c->head_only && !(mlen == 3 && memcmp(method, "GET", 3) == 0)) {
		c->status = 501;
		c->reason = "Not Implemented";
		c->keep = 0;
		return;
	}

	/* The file: root, the target without its query, and index.html
	 * for a directory.  ".." anywhere is refused (no way out of root). */
	for (size_t i = 0; i < tlen; i++)
		if (target[i] == '?')
			tlen = i;
	int dir = target[tlen - 1] == '/';
	size_t n = root_len + tlen + (dir ? 10 : 0);
	if (contains(target, tlen, "..") || n >= sizeof(c->m->path)) {
		c->status = 404;
		c->reason = "Not Found";
		return;
	}
	memcpy(c->m->path, root, root_len);
	memcpy(c->m->path + root_len, target, tlen);
	if (dir)
		memcpy(c->m->path + root_len + tlen, "index.html", 10);
	c->m->path[n] = 0;
	c->html = contains(c->m->path, n, ".htm");
	c->status = 0;
}

/* An error response with its reason as the body (none for HEAD), in hdr. */
static size_t error_head(struct conn *c)
{
	return (size_t)snprintf(c->m->hdr, sizeof(c->m->hdr),
	                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	                        "Content-Length: %d\r\nConnection: %s\r\n\r\n%s%s",
	                        c->status, c->reason, (int)strlen(c->reason) + 1,
	                        c->keep ? "keep-alive" : "close",
	                        c->head_only ? "" : c->reason, c->head_only ? "" : "\n");
}

/* Put a string literal (its length known at compile time) before p. */
#define PUT_BEFORE(p, lit) \
	do {                                                  \
		(p) -= sizeof(lit) - 1;                       \
		memcpy((p), (lit), sizeof(lit) - 1);          \
	} while (0)

/*
 * A 200's head (what snprintf would make, without its cost on every
 * request), written back to front so that it ends at buf + HEAD_ROOM,
 * where the body begins: head and body go out in one send with no copy
 * to join them.  Returns where the head starts.
 */
static char *ok_head(struct conn *c)
{
	char *p = c->m->buf + HEAD_ROOM;
	uint64_t v = c->left;

	if (c->last_head && c->last_len == v && c->last_html == c->html &&
	    c->last_keep == c->keep)
		return c->last_head;    /* a keep-alive client asking again */
	if (c->keep)
		PUT_BEFORE(p, "\r\nConnection: keep-alive\r\n\r\n");
	else
		PUT_BEFORE(p, "\r\nConnection: close\r\n\r\n");
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (c->html)
		PUT_BEFORE(p, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ");
	else
		PUT_BEFORE(p, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ");
	c->last_head = p;
	c->last_len = c->left;
	c->last_html = c->html;
	c->last_keep = c->keep;
	return p;
}

/*
 * Ready when f is, or when idle_ns have passed since c->since: then f is
 * dropped (a ring op in flight is cancelled) and c->idle set.  The sleep
 * stays on the wheel across waits and fires at the deadline it was
 * given; a wait begun since then sets it again for its own.  A timer
 * armed and cancelled around every wait would cost a keep-alive GET
 * more than its parsing does.
 */
static enum poll idle_or(struct conn *c, struct future *f, struct context *cx)
{
	for (;;) {
		if (future_poll(f, cx) == POLL_READY)
			return POLL_READY;
		if (sleep_poll(&c->lim, cx) == POLL_PENDING)
			return POLL_PENDING;
		uint64_t due = c->since + idle_ns;
		if (px_now() >= due) {
			future_drop(f);
			c->idle = 1;
			return POLL_READY;
		}
		sleep_reset(&c->lim, due);
	}
}

/* Await a send of (p, n) under the idle limit; leaves c->sa.result. */
#define SEND(c, cx, ptr, len)                                                   \
	do {                                                                    \
		send_all_init(&(c)->sa, (c)->fd, (ptr), (len));                \
		(c)->since = px_now();                                          \
		AWAIT(c, idle_or((c), &(c)->sa.base, cx));                      \
		if ((c)->idle || (c)->sa.result < 0)                            \
			goto out;                                               \
	} while (0)

static enum poll conn_poll(struct future *f, struct context *cx)
{
	struct conn *c = (struct conn *)f;

	ASYNC_BEGIN(c);
	c->file = -1;
	c->kept = -1;
	c->since = px_now();
	sleep_init(&c->lim, exec_wheel(px_executor()), c->since + idle_ns);
	if (!(c->m = mem_get()))
		goto out;               /* no memory: the client sees the close */
	for (;;) {
		/* The head of the next request. */
		while ((c->head_len = head_end(c)) == 0) {
			if (c->have == REQ_MAX) {
				c->status = c->line ? 431 : 400;
				c->reason = c->status == 431 ? "Request Header Fields Too Large"
				                             : "Bad Request";
				c->keep = 0;
				c->head_only = 0;
				SEND(c, cx, c->m->hdr, error_head(c));
				goto out;
			}
			px_io_recv(&c->io, c->fd, c->m->req + c->have, REQ_MAX - c->have);
			c->since = px_now();
			AWAIT(c, idle_or(c, &c->io.base, cx));
			if (c->idle || c->io.result <= 0)
				goto out;       /* idle, closed by the client, or an error */
			c->have += (size_t)c->io.result;
		}
		parse(c);
		if (c->status == 0 && c->kept >= 0 && strcmp(c->m->kept_path, c->m->path) == 0) {
			/* The file this connection sent last, kept open.  A
			 * STAT of the path says whether the path still names
			 * it (an open file's inode number is never given to
			 * another file, even once it is deleted), and the
			 * first piece is read meanwhile, both in one
			 * ring_enter.  The fd is the file, not a copy: what
			 * is read is what the file holds now. */
			px_io_stat(&c->io, c->m->path, &c->st);
			px_io_read_at(&c->rd, c->kept, c->m->buf + HEAD_ROOM,
			              c->head_only ? 0 : BUF - HEAD_ROOM, 0);
			join2_init(&c->both, &c->io.base, &c->rd.base);
			AWAIT(c, join2_poll(&c->both, cx));
			if (c->io.result == 0 && c->st.type == PX_S_REG && c->st.ino == c->kept_ino) {
				c->file = c->kept;
			} else {
				close(c->kept); /* replaced or gone: open the path */
				c->kept = -1;
			}
		}
		if (c->status == 0 && c->file < 0) {
			px_io_openat(&c->io, c->m->path, PX_O_RDONLY);
			AWAIT(c, px_io_poll(&c->io, cx));
			c->file = (int)c->io.result;
			if (c->io.result == -PX_EMFILE || c->io.result == -PX_ENFILE ||
			    c->io.result == -PX_ENOMEM) {
				/* Out of fds or memory, not a missing file: say
				 * so, and close this connection (its fds). */
				c->status = 503;
				c->reason = "Service Unavailable";
				c->keep = 0;
			} else if (c->file >= 0) {
				/* Its size (for Content-Length) and the first
				 * piece of the body at once, a join of two ops
				 * that go to the kernel in one ring_enter: the
				 * read does not need the size.  The body goes
				 * after HEAD_ROOM, where the head will be put
				 * in front of it. */
				px_io_fstat(&c->io, c->file, &c->st);
				px_io_read_at(&c->rd, c->file, c->m->buf + HEAD_ROOM,
				              c->head_only ? 0 : BUF - HEAD_ROOM, 0);
				join2_init(&c->both, &c->io.base, &c->rd.base);
				AWAIT(c, join2_poll(&c->both, cx));
				if (c->io.result < 0 || c->st.type != PX_S_REG) {
					close(c->file);
					c->file = -1;
				}
			}
		}
		if (c->status == 0 && c->file < 0) {
			if (strcmp(c->m->path + root_len, "/index.html") == 0) {
				c->status = 200;
			} else {
				c->status = 404;
				c->reason = "Not Found";
			}
		}
		if (c->status == 0 || c->status == 200) {
			c->left = c->file >= 0 ? c->st.size : sizeof(builtin_page) - 1;
			c->status = 200;
			c->fill = c->head_only ? 0 : (size_t)(BUF - HEAD_ROOM);
			if (c->fill > c->left)
				c->fill = (size_t)c->left;
			if (c->file < 0) {
				memcpy(c->m->buf + HEAD_ROOM, builtin_page, c->fill);
			} else if (c->fill) {
				if (c->rd.result <= 0)
					goto out; /* the file shrank: the length was a lie */
				if ((uint64_t)c->rd.result < c->fill)
					c->fill = (size_t)c->rd.result;
			}
			/* The head and the first piece of the body go in one
			 * send: one segment for a small page, not two. */
			c->head = ok_head(c);
			c->left -= c->fill;
			c->off = c->fill;
			SEND(c, cx, c->head, (size_t)(c->m->buf + HEAD_ROOM - c->head) + c->fill);
			while (!c->head_only && c->left > 0) {
				c->last_head = NULL;    /* the head's bytes go */
				px_io_read_at(&c->io, c->file, c->m->buf,
				              c->left < BUF ? (size_t)c->left : BUF, c->off);
				AWAIT(c, px_io_poll(&c->io, cx));
				if (c->io.result <= 0)
					goto out;
				c->left -= (uint64_t)c->io.result;
				c->off += (uint64_t)c->io.result;
				SEND(c, cx, c->m->buf, (size_t)c->io.result);
			}
			if (c->file >= 0 && c->file != c->kept) {
				/* Kept for this connection's next request (most
				 * ask for the same files again): one fd more
				 * per connection, at most. */
				if (c->kept >= 0)
					close(c->kept);
				c->kept = c->file;
				c->kept_ino = c->st.ino;
				strcpy(c->m->kept_path, c->m->path);
			}
			c->file = -1;
		} else {
			SEND(c, cx, c->m->hdr, error_head(c));
		}
		if (!c->keep)
			break;
		/* A pipelined next request stays: to the front, to be scanned. */
		memmove(c->m->req, c->m->req + c->head_len, c->have - c->head_len);
		c->have -= c->head_len;
		c->scan = 0;
		c->line = 0;
	}
out:
	sleep_drop(&c->lim);
	if (c->m)
		mem_put(c->m);
	if (c->file >= 0 && c->file != c->kept)
		close(c->file);
	if (c->kept >= 0)
		close(c->kept);
	close(c->fd);
	ASYNC_END(c);
}

static const struct future_vtable conn_vtable = { conn_poll, NULL };

/* ---- accepting ----------------------------------------------------------------*/

/* px_acceptor's start: the task gets a copy (malloc'd by px_task_spawn)
 * of a template that is static because it is too big for the stack. */
static int conn_start(int fd)
{
	static struct conn tmpl = { .base = { &conn_vtable } };
	tmpl.fd = fd;
	return px_task_spawn(&TASK_DESC_VOID(tmpl, "conn"), NULL);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 80;
	if (argc > 2)
		root = argv[2];
	root_len = strlen(root);
	if (argc > 3)
		idle_ns = TIMER_SEC((uint64_t)atoi(argv[3]));
	if (port <= 0 || port > 65535 || argc > 4) {
		fprintf(stderr, "usage: httpd [port [root [idle_seconds]]]\n");
		return 2;
	}
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct px_sockaddr_in a = { PX_AF_INET, (uint16_t)port, 0 };
	if (lfd < 0 || bind(lfd, &a) < 0 || listen(lfd, 64) < 0) {
		perror("httpd");
		return 1;
	}
	printf("httpd: listening on port %d, files from %s\n", port, root);
	static struct px_acceptor acc;
	px_acceptor_init(&acc, lfd, "httpd", conn_start);
	px_run(&acc.base);
	return 1;
}

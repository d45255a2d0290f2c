/* Helpers for tests: waiting for a condition with a deadline, a counting waker, a program as a child on pipes, lines from a pipe. */
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "px_async.h"
#include "px_test.h"

/* ---- waiting for a condition -----------------------------------------------*/

/* Between two checks of the condition: from the first step, doubling up
 * to the last. */
#define WAIT_STEP_FIRST TIMER_MS(1)
#define WAIT_STEP_MAX TIMER_MS(64)

/* The next nap: the step, not past the deadline; the step grows. */
static uint64_t next_step(struct px_wait *w, uint64_t now)
{
	uint64_t step = w->step, left = w->deadline - now;

	if (w->step < WAIT_STEP_MAX)
		w->step *= 2;
	return step < left ? step : left;
}

void px_wait_init(struct px_wait *w, uint64_t timeout_ns)
{
	uint64_t now = px_now();

	w->deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
	w->step = WAIT_STEP_FIRST;
	w->napping = false;
	w->ok = false;
}

void px_wait_drop(struct px_wait *w)
{
	if (w->napping)
		sleep_drop(&w->nap);
	w->napping = false;
}

/* The caller evaluated cond just now.  While it is false, nap a step on
 * the wheel; when the nap ends, wake ourselves, so that the AWAIT around
 * us evaluates cond again. */
enum poll px_wait_until(struct px_wait *w, bool cond, struct context *cx)
{
	uint64_t now;

	if (cond || (now = px_now()) >= w->deadline) {
		px_wait_drop(w);
		w->ok = cond;
		return POLL_READY;
	}
	if (!w->napping) {
		px_sleep_for(&w->nap, next_step(w, now));
		w->napping = true;
	}
	if (sleep_poll(&w->nap, cx) == POLL_READY) {
		px_wait_drop(w);
		waker_wake_by_ref(cx->waker);
	}
	return POLL_PENDING;
}

bool px_wait_tick(struct px_wait *w)
{
	uint64_t now = px_now();

	if (now >= w->deadline)
		return false;
	px_sleep((next_step(w, now) + 999999) / 1000000);
	return true;
}

/* ---- a waker that counts --------------------------------------------------*/

static const struct raw_waker_vtable counting_vtable;

static struct raw_waker counting_clone(const void *data)
{
	((struct px_test_waker *)(uintptr_t)data)->clones++;
	return (struct raw_waker){ data, &counting_vtable };
}

static void counting_wake(const void *data)
{
	((struct px_test_waker *)(uintptr_t)data)->wakes++;
}

static void counting_wake_by_ref(const void *data)
{
	((struct px_test_waker *)(uintptr_t)data)->wakes_by_ref++;
}

static void counting_drop(const void *data)
{
	((struct px_test_waker *)(uintptr_t)data)->drops++;
}

static const struct raw_waker_vtable counting_vtable = {
	counting_clone, counting_wake, counting_wake_by_ref, counting_drop,
};

void px_test_waker_init(struct px_test_waker *w)
{
	w->waker = (struct waker){ { w, &counting_vtable } };
	w->cx.waker = &w->waker;
	w->clones = w->wakes = w->wakes_by_ref = w->drops = 0;
}

int px_test_waker_live(const struct px_test_waker *w)
{
	return (int)w->clones - (int)w->wakes - (int)w->drops;
}

/* ---- a program as a child, on pipes ---------------------------------------*/

/*
 * The child gets our fds 0, 1 and 2 (PX_SPAWN_STDIO: nothing else, not
 * even the test runner's pipe), so for the spawn fds 0 and 1 are made
 * the pipe ends (close, then dup: dup takes the lowest free number) and
 * put back afterwards.
 */
long px_child_spawn(struct px_child *c, const char *const argv[])
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	long r, save0 = -1, save1 = -1;

	c->pid = -1;
	c->in = c->out = -1;
	if ((r = px_pipe(in)) < 0 || (r = px_pipe(out)) < 0)
		goto fail;
	if ((save0 = r = px_dup(0)) < 0 || (save1 = r = px_dup(1)) < 0)
		goto fail;
	fflush(stdout);                 /* what we printed goes to our stdout */
	px_close(0);
	px_dup(in[0]);
	px_close(1);
	px_dup(out[1]);
	r = px_spawnpg(argv[0], argv, PX_PG_INHERIT, PX_SPAWN_STDIO);
	px_close(0);
	px_dup((int)save0);
	px_close(1);
	px_dup((int)save1);
	if (r < 0)
		goto fail;
	px_close((int)save0);
	px_close((int)save1);
	px_close(in[0]);
	px_close(out[1]);
	c->pid = (int)r;
	c->in = in[1];
	c->out = out[0];
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			px_close(in[i]);
		if (out[i] >= 0)
			px_close(out[i]);
	}
	if (save0 >= 0)
		px_close((int)save0);
	if (save1 >= 0)
		px_close((int)save1);
	return r;
}

int px_child_wait(struct px_child *c)
{
	int st = -1;

	if (c->in >= 0)
		px_close(c->in);
	if (c->out >= 0)
		px_close(c->out);
	c->in = c->out = -1;
	if (c->pid > 0 && px_wait(c->pid, &st) != c->pid)
		st = -1;
	c->pid = -1;
	return st;
}

long px_read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;

	if (n == 0)
		return -PX_EINVAL;
	while (got + 1 < n) {
		long r = px_read(fd, buf + got, n - 1 - got);
		if (r < 0) {
			buf[got] = '\0';
			return r;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	return (long)got;
}

/* ---- reading lines ----------------------------------------------------------*/

static enum poll lines_vpoll(struct future *f, struct context *cx)
{
	return px_lines_next((struct px_lines *)f, cx);
}

static void lines_vdrop(struct future *f)
{
	px_lines_drop((struct px_lines *)f);
}

static const struct future_vtable lines_vtable = { lines_vpoll, lines_vdrop };

void px_lines_init(struct px_lines *l, int fd)
{
	l->base.vtable = &lines_vtable;
	l->fd = fd;
	l->reading = false;
	l->eof = false;
	l->len = 0;
	l->line[0] = '\0';
}

/* Move the first n bytes of buf into line (dropping a '\n' at the end). */
static void take(struct px_lines *l, size_t n)
{
	size_t k = n > 0 && l->buf[n - 1] == '\n' ? n - 1 : n;

	memcpy(l->line, l->buf, k);
	l->line[k] = '\0';
	l->len -= n;
	memmove(l->buf, l->buf + n, l->len);
}

enum poll px_lines_next(struct px_lines *l, struct context *cx)
{
	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);

		if (nl) {
			take(l, (size_t)(nl - l->buf) + 1);
			return POLL_READY;
		}
		if (l->len == sizeof(l->buf) || (l->eof && l->len > 0)) {
			take(l, l->len);        /* a long line's part, or the last line */
			return POLL_READY;
		}
		if (l->eof) {
			l->line[0] = '\0';
			return POLL_READY;
		}
		if (!l->reading) {
			px_io_read(&l->rd, l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
			l->reading = true;
		}
		if (px_io_poll(&l->rd, cx) == POLL_PENDING)
			return POLL_PENDING;
		l->reading = false;
		if (l->rd.result <= 0)
			l->eof = true;
		else
			l->len += (size_t)l->rd.result;
	}
}

/* A read that finished before the cancel brought bytes: keep them. */
void px_lines_drop(struct px_lines *l)
{
	if (l->reading) {
		long long r = px_io_cancel(&l->rd);
		if (r > 0)
			l->len += (size_t)r;
		else if (r == 0)
			l->eof = true;
	}
	l->reading = false;
}

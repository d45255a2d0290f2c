/* Bounded multi-producer single-consumer channel over caller-provided storage. */
#include <string.h>

#include "mpsc.h"
#include "task.h"

void mpsc_init(struct mpsc *c, void *storage, size_t elem_size, uint32_t cap)
{
	EXEC_ASSERT(cap >= 1);
	spin_init(&c->lock);
	c->buf = storage;
	c->elem_size = elem_size;
	c->cap = cap;
	c->head = 0;
	c->len = 0;
	c->reserved = 0;
	c->senders = 1;
	c->closed = 0;
	c->rx_dropped = 0;
	c->rx_waker = WAKER_NONE;
	wait_list_init(&c->send_waiters);
}

/* Word-sized elements (the common case: a value or a pointer) are copied
 * inline instead of through a memcpy call. */
static inline void elem_copy(void *dst, const void *src, size_t n)
{
	if (n == 8)
		memcpy(dst, src, 8);
	else if (n == 4)
		memcpy(dst, src, 4);
	else
		memcpy(dst, src, n);
}

/* Caller holds c->lock.  Precondition: len < cap. */
static inline void ring_put(struct mpsc *c, const void *value)
{
	uint32_t tail = c->head + c->len;
	if (tail >= c->cap)
		tail -= c->cap;
	elem_copy(c->buf + (size_t)tail * c->elem_size, value, c->elem_size);
	c->len++;
}

/* Caller holds c->lock.  Precondition: len > 0. */
static inline void ring_get(struct mpsc *c, void *out)
{
	if (out)
		elem_copy(out, c->buf + (size_t)c->head * c->elem_size, c->elem_size);
	if (++c->head == c->cap)
		c->head = 0;
	c->len--;
}

/* Caller holds c->lock.  If a slot is free and a sender waits, reserve
 * the slot for the first one; returns its waker (to wake after unlock). */
static struct waker grant_one(struct mpsc *c)
{
	struct waker w = WAKER_NONE;
	if (c->rx_dropped || c->len + c->reserved >= c->cap)
		return w;
	struct waiter *n = wait_list_pop(&c->send_waiters);
	if (n) {
		n->granted = 1;
		c->reserved++;
		w = n->waker;
		n->waker = WAKER_NONE;
	}
	return w;
}

void mpsc_sender_clone(struct mpsc *c)
{
	unsigned long flags = spin_lock(&c->lock);
	c->senders++;
	spin_unlock(&c->lock, flags);
}

void mpsc_sender_drop(struct mpsc *c)
{
	struct waker w = WAKER_NONE;
	unsigned long flags = spin_lock(&c->lock);
	EXEC_ASSERT(c->senders > 0);
	if (--c->senders == 0) {
		w = c->rx_waker;
		c->rx_waker = WAKER_NONE;
	}
	spin_unlock(&c->lock, flags);
	waker_wake(&w);
}

/* Marks the channel closed and wakes the receiver and every waiting
 * sender, in batches so that no waker runs under the lock. */
static void close_common(struct mpsc *c, bool rx_dropped)
{
	struct wake_batch b;
	struct waker rx;
	wake_batch_init(&b);

	unsigned long flags = spin_lock(&c->lock);
	c->closed = 1;
	if (rx_dropped) {
		c->rx_dropped = 1;
		c->len = 0;
	}
	rx = c->rx_waker;
	c->rx_waker = WAKER_NONE;
	struct waiter *n;
	while ((n = wait_list_pop(&c->send_waiters)) != NULL) {
		if (wake_batch_add(&b, &n->waker)) {
			spin_unlock(&c->lock, flags);
			wake_batch_run(&b);
			flags = spin_lock(&c->lock);
		}
	}
	spin_unlock(&c->lock, flags);
	wake_batch_run(&b);
	if (rx_dropped)
		waker_drop(&rx);
	else
		waker_wake(&rx);
}

void mpsc_close(struct mpsc *c)
{
	close_common(c, false);
}

void mpsc_receiver_drop(struct mpsc *c)
{
	close_common(c, true);
}

int mpsc_try_send(struct mpsc *c, const void *value)
{
	unsigned long flags = spin_lock(&c->lock);
	if (c->closed) {
		spin_unlock(&c->lock, flags);
		return SYNC_CLOSED;
	}
	if (!wait_list_empty(&c->send_waiters) || c->len + c->reserved >= c->cap) {
		spin_unlock(&c->lock, flags);
		return SYNC_FULL;
	}
	ring_put(c, value);
	struct waker w = c->rx_waker;
	c->rx_waker = WAKER_NONE;
	spin_unlock(&c->lock, flags);
	waker_wake(&w);
	return SYNC_OK;
}

int mpsc_try_recv(struct mpsc *c, void *out)
{
	unsigned long flags = spin_lock(&c->lock);
	if (c->len > 0) {
		ring_get(c, out);
		struct waker w = grant_one(c);
		spin_unlock(&c->lock, flags);
		waker_wake(&w);
		return SYNC_OK;
	}
	int r = (c->closed || c->senders == 0) && c->reserved == 0 ?
	        SYNC_CLOSED : SYNC_EMPTY;
	spin_unlock(&c->lock, flags);
	return r;
}

uint32_t mpsc_len(struct mpsc *c)
{
	unsigned long flags = spin_lock(&c->lock);
	uint32_t n = c->len;
	spin_unlock(&c->lock, flags);
	return n;
}

/* ---- send future ------------------------------------------------------- */

static enum poll mpsc_send_vpoll(struct future *f, struct context *cx)
{
	return mpsc_send_poll((struct mpsc_send *)f, cx);
}

static void mpsc_send_vdrop(struct future *f)
{
	mpsc_send_drop((struct mpsc_send *)f);
}

const struct future_vtable mpsc_send_vtable = {
	mpsc_send_vpoll, mpsc_send_vdrop
};

/*
 * Fast path first: an open channel with a free slot and nobody waiting
 * (rx_dropped implies closed).  Otherwise, in order: a dropped receiver
 * fails everything; a reserved slot is filled even after mpsc_close (it
 * was granted before); a closed channel fails; else wait in the queue.
 */
static enum poll send_slow(struct mpsc_send *s, struct context *cx,
                           unsigned long flags);

enum poll mpsc_send_poll(struct mpsc_send *s, struct context *cx)
{
	struct mpsc *c = s->c;
	unsigned long flags = spin_lock(&c->lock);
	if (!c->closed && !s->node.queued && !s->node.granted &&
	    c->len + c->reserved < c->cap && wait_list_empty(&c->send_waiters)) {
		ring_put(c, s->value);
		struct waker rx = c->rx_waker;
		c->rx_waker = WAKER_NONE;
		spin_unlock(&c->lock, flags);
		waker_wake(&rx);
		s->result = SYNC_OK;
		return POLL_READY;
	}
	return send_slow(s, cx, flags);
}

/* Everything but the fast path, entered with the lock held (flags).  Out
 * of line so that the fast path saves no registers for it. */
__attribute__((noinline))
static enum poll send_slow(struct mpsc_send *s, struct context *cx,
                           unsigned long flags)
{
	struct mpsc *c = s->c;
	struct waker spare = WAKER_NONE, rx = WAKER_NONE;
	int res;

	for (;;) {
		if (c->rx_dropped) {
			if (s->node.queued)
				wait_list_remove(&c->send_waiters, &s->node);
			if (s->node.granted)
				c->reserved--;
			res = SYNC_CLOSED;
		} else if (s->node.granted) {
			c->reserved--;
			ring_put(c, s->value);
			rx = c->rx_waker;
			c->rx_waker = WAKER_NONE;
			res = SYNC_OK;
		} else if (c->closed) {
			if (s->node.queued)
				wait_list_remove(&c->send_waiters, &s->node);
			res = SYNC_CLOSED;
		} else if (!s->node.queued && wait_list_empty(&c->send_waiters) &&
		           c->len + c->reserved < c->cap) {
			ring_put(c, s->value);
			rx = c->rx_waker;
			c->rx_waker = WAKER_NONE;
			res = SYNC_OK;
		} else if (waiter_set_waker(&s->node.waker, cx->waker, &spare)) {
			if (!s->node.queued)
				wait_list_push(&c->send_waiters, &s->node);
			spin_unlock(&c->lock, flags);
			waker_drop(&spare);
			return POLL_PENDING;
		} else {
			spin_unlock(&c->lock, flags);
			spare = waker_clone(cx->waker);
			flags = spin_lock(&c->lock);
			continue;
		}
		s->node.granted = 0;
		struct waker mine = s->node.waker;
		s->node.waker = WAKER_NONE;
		spin_unlock(&c->lock, flags);
		waker_wake(&rx);
		waker_drop(&mine);
		waker_drop(&spare);
		s->result = res;
		return POLL_READY;
	}
}

/* Leaves the queue; a reserved slot goes to the next waiting sender, and
 * the receiver is woken in case it waits for reservations to drain. */
void mpsc_send_drop(struct mpsc_send *s)
{
	struct mpsc *c = s->c;
	struct waker next = WAKER_NONE, rx = WAKER_NONE;

	unsigned long flags = spin_lock(&c->lock);
	if (s->node.queued)
		wait_list_remove(&c->send_waiters, &s->node);
	if (s->node.granted) {
		s->node.granted = 0;
		c->reserved--;
		next = grant_one(c);
		if (c->closed) {
			rx = c->rx_waker;
			c->rx_waker = WAKER_NONE;
		}
	}
	struct waker mine = s->node.waker;
	s->node.waker = WAKER_NONE;
	spin_unlock(&c->lock, flags);
	waker_wake(&next);
	waker_wake(&rx);
	waker_drop(&mine);
}

/* ---- receive future ---------------------------------------------------- */

static enum poll mpsc_recv_vpoll(struct future *f, struct context *cx)
{
	return mpsc_recv_poll((struct mpsc_recv *)f, cx);
}

static void mpsc_recv_vdrop(struct future *f)
{
	mpsc_recv_drop((struct mpsc_recv *)f);
}

const struct future_vtable mpsc_recv_vtable = {
	mpsc_recv_vpoll, mpsc_recv_vdrop
};

/*
 * Fast paths first, under one lock round trip:
 *   a value, no sender to hand a slot to, no waker left over: take it
 *     (the ping-pong case: the sender took our waker to wake us);
 *   empty and open, no waker registered, and cx's waker is one of ours:
 *     register a clone made under the lock (for our wakers a clone is
 *     one reference increment, a known tiny cost; any other waker is
 *     cloned outside the lock by recv_slow).
 */
static enum poll recv_slow(struct mpsc_recv *r, struct context *cx,
                           unsigned long flags, struct waker spare);

enum poll mpsc_recv_poll(struct mpsc_recv *r, struct context *cx)
{
	struct mpsc *c = r->c;
	unsigned long flags = spin_lock(&c->lock);
	if (c->len > 0) {
		if (wait_list_empty(&c->send_waiters) && waker_is_none(&c->rx_waker)) {
			ring_get(c, r->out);
			spin_unlock(&c->lock, flags);
			r->result = SYNC_OK;
			return POLL_READY;
		}
	} else if (!c->closed && c->senders != 0 && waker_is_none(&c->rx_waker) &&
	           task_waker_clone_ours(cx->waker, &c->rx_waker)) {
		spin_unlock(&c->lock, flags);
		return POLL_PENDING;
	}
	return recv_slow(r, cx, flags, WAKER_NONE);
}

/* Everything else, entered with the lock held (flags).  Out of line,
 * like send_slow, so that the fast paths save no registers for it. */
__attribute__((noinline))
static enum poll recv_slow(struct mpsc_recv *r, struct context *cx,
                           unsigned long flags, struct waker spare)
{
	struct mpsc *c = r->c;
	struct waker next = WAKER_NONE, old;
	int res;

	for (;;) {
		if (c->len > 0) {
			ring_get(c, r->out);
			if (!wait_list_empty(&c->send_waiters))
				next = grant_one(c);
			res = SYNC_OK;
		} else if ((c->closed || c->senders == 0) && c->reserved == 0) {
			res = SYNC_CLOSED;
		} else if (waiter_set_waker(&c->rx_waker, cx->waker, &spare)) {
			spin_unlock(&c->lock, flags);
			waker_drop(&spare);
			return POLL_PENDING;
		} else {
			spin_unlock(&c->lock, flags);
			spare = waker_clone(cx->waker);
			flags = spin_lock(&c->lock);
			continue;
		}
		/* a waker left from an earlier Pending is no longer needed */
		old = c->rx_waker;
		c->rx_waker = WAKER_NONE;
		spin_unlock(&c->lock, flags);
		waker_wake(&next);
		waker_drop(&old);
		waker_drop(&spare);
		r->result = res;
		return POLL_READY;
	}
}

void mpsc_recv_drop(struct mpsc_recv *r)
{
	struct mpsc *c = r->c;
	unsigned long flags = spin_lock(&c->lock);
	struct waker w = c->rx_waker;
	c->rx_waker = WAKER_NONE;
	spin_unlock(&c->lock, flags);
	waker_drop(&w);
}

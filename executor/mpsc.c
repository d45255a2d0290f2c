/* Bounded multi-producer single-consumer channel over caller-provided storage. */
#include <string.h>

#include "mpsc.h"
#include "task.h"

/* The protocol (state word, flags, invariants I1-I4) is described in
 * mpsc.h, and its fast paths are there too, inline.  "st" below is
 * always a value of c->state. */

static inline uint64_t st_len(uint64_t st)
{
	return st >> ST_LEN_SHIFT;
}

void mpsc_init(struct mpsc *c, void *storage, size_t elem_size, uint32_t cap)
{
	EXEC_ASSERT(cap >= 1);
	atomic_init(&c->state, 0);
	spin_init(&c->lock);
	c->cap = cap;
	c->cap_st = (uint64_t)cap << ST_LEN_SHIFT;
	c->elem_size = elem_size;
	c->buf = c->rd = c->wr = storage;
	c->end = c->buf + (size_t)cap * elem_size;
	c->rx_waker = WAKER_NONE;
	c->reserved = 0;
	c->senders = 1;
	c->rx_dropped = 0;
	wait_list_init(&c->send_waiters);
}

/* Caller is the receiver; st has len > 0.  Copies the value at rd out;
 * the caller then commits with len - 1, and advance_rd. */
static inline void peek(struct mpsc *c, void *out, size_t n)
{
	memcpy(out, c->rd, n);
}

static inline void advance_rd(struct mpsc *c, size_t n)
{
	c->rd = mpsc_ring_next(c, c->rd, n);
}

/* Caller holds the lock: does SENDQ still have a reason to be set (I2)? */
static inline bool sendq_needed(const struct mpsc *c)
{
	return !wait_list_empty(&c->send_waiters) || c->reserved > 0;
}

/* Caller holds the lock; st is the current state, with len frozen (I2, or
 * the caller is the receiver).  If a slot is free and a sender waits,
 * reserve the slot for the first one and return its waker, to wake after
 * unlocking.  SENDQ stays set: the reservation counts. */
static struct waker grant_one(struct mpsc *c, uint64_t st)
{
	struct waker w = WAKER_NONE;
	if (c->rx_dropped || st_len(st) + c->reserved >= c->cap)
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
	struct waker none;
	unsigned long flags = spin_lock(&c->lock);
	if (c->senders++ == 0)
		mpsc_st_update(c, mpsc_st_load(c), 0, 0, ST_NOTX, &none);
	spin_unlock(&c->lock, flags);
}

void mpsc_sender_drop(struct mpsc *c)
{
	struct waker w = WAKER_NONE;
	unsigned long flags = spin_lock(&c->lock);
	EXEC_ASSERT(c->senders > 0);
	if (--c->senders == 0)
		mpsc_st_update(c, mpsc_st_load(c), 0, ST_NOTX, ST_RXW, &w);
	spin_unlock(&c->lock, flags);
	waker_wake(&w);
}

/* Marks the channel closed and wakes the receiver and every waiting
 * sender, in batches so that no waker runs under the lock.  A popped
 * sender is neither queued nor granted: its next poll sees CLOSED. */
static void close_common(struct mpsc *c, bool rx_dropped)
{
	struct wake_batch b;
	struct waker rx, none;
	wake_batch_init(&b);

	unsigned long flags = spin_lock(&c->lock);
	uint64_t st = mpsc_st_load(c), add = 0;
	if (rx_dropped) {
		/* We are the receiver: nobody else changes len now (senders
		 * need the lock).  Discard the buffered values. */
		c->rx_dropped = 1;
		c->rd = c->wr;
		add = (uint64_t)0 - (st_len(st) << ST_LEN_SHIFT);
	}
	mpsc_st_update(c, st, add, ST_CLOSED, ST_RXW, &rx);
	struct waiter *n;
	while ((n = wait_list_pop(&c->send_waiters)) != NULL) {
		if (wake_batch_add(&b, &n->waker)) {
			spin_unlock(&c->lock, flags);
			wake_batch_run(&b);
			flags = spin_lock(&c->lock);
		}
	}
	if (!sendq_needed(c))
		mpsc_st_update(c, mpsc_st_load(c), 0, 0, ST_SENDQ, &none);
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
	uint64_t st = mpsc_st_load(c);
	if (st & ST_CLOSED) {
		spin_unlock(&c->lock, flags);
		return SYNC_CLOSED;
	}
	/* SENDQ: senders wait or hold reservations; do not overtake them. */
	if ((st & ST_SENDQ) || st >= c->cap_st) {
		spin_unlock(&c->lock, flags);
		return SYNC_FULL;
	}
	struct waker rx = mpsc_put(c, st, value, c->elem_size, 0);
	spin_unlock(&c->lock, flags);
	waker_wake(&rx);
	return SYNC_OK;
}

int mpsc_try_recv(struct mpsc *c, void *out)
{
	uint64_t st = mpsc_st_load(c);
	if (st >= ST_LEN1 && !(st & ST_SENDQ) && mpsc_take_fast(c, st, out, c->elem_size))
		return SYNC_OK;
	/* Senders to serve, or nothing there, or a race: under the lock. */
	struct waker next = WAKER_NONE, none;
	int r;
	unsigned long flags = spin_lock(&c->lock);
	st = mpsc_st_load(c);
	if (st >= ST_LEN1) {
		peek(c, out, c->elem_size);
		advance_rd(c, c->elem_size);
		st = mpsc_st_update(c, st, (uint64_t)0 - ST_LEN1, 0, 0, &none);
		next = grant_one(c, st);
		r = SYNC_OK;
	} else {
		r = (st & (ST_CLOSED | ST_NOTX)) && c->reserved == 0 ?
		    SYNC_CLOSED : SYNC_EMPTY;
	}
	spin_unlock(&c->lock, flags);
	waker_wake(&next);
	return r;
}

uint32_t mpsc_len(struct mpsc *c)
{
	return (uint32_t)st_len(mpsc_st_load(c));
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

/* The element sizes mpsc_send_poll (mpsc.h) does not take inline. */
enum poll mpsc_send_poll_slow(struct mpsc_send *s, struct context *cx)
{
	size_t n = s->c->elem_size;
	if (n == 4)
		return mpsc_send_poll_sized(s, cx, 4);
	return mpsc_send_poll_sized(s, cx, n);
}

/* Caller holds the lock.  Takes s out of the queue (its waker, live while
 * queued, moves to *mine) and gives back a reservation it held. */
static void send_leave(struct mpsc *c, struct mpsc_send *s, struct waker *mine)
{
	if (s->node.queued) {
		wait_list_remove(&c->send_waiters, &s->node);
		*mine = s->node.waker;
		s->node.waker = WAKER_NONE;
	}
	if (s->node.granted) {
		s->node.granted = 0;
		c->reserved--;
	}
}

/*
 * Everything but the fast path, entered with the lock held (flags).  Out
 * of line so that the fast path saves no registers for it.  It first sets
 * SENDQ, which freezes len (I2): then, in order, a dropped receiver fails
 * everything; a reserved slot is filled even after mpsc_close (it was
 * granted before); a closed channel fails; a free slot nobody waits for
 * is taken; else the sender queues (SENDQ stays set) and waits.
 */
enum poll mpsc_send_slow(struct mpsc_send *s, struct context *cx,
                         unsigned long flags)
{
	struct mpsc *c = s->c;
	struct waker spare = WAKER_NONE, mine = WAKER_NONE, rx = WAKER_NONE;
	bool deliver = false;
	uint64_t st;
	int res;

	for (;;) {
		st = atomic_fetch_or_explicit(&c->state, ST_SENDQ,
		                              memory_order_acq_rel) | ST_SENDQ;
		if (c->rx_dropped) {
			send_leave(c, s, &mine);
			res = SYNC_CLOSED;
		} else if (s->node.granted) {
			s->node.granted = 0;
			c->reserved--;
			deliver = true;
			res = SYNC_OK;
		} else if (st & ST_CLOSED) {
			send_leave(c, s, &mine);
			res = SYNC_CLOSED;
		} else if (!s->node.queued && wait_list_empty(&c->send_waiters) &&
		           st_len(st) + c->reserved < c->cap) {
			deliver = true;
			res = SYNC_OK;
		} else {
			/* Wait.  The node's waker is live only while queued. */
			if (!s->node.queued)
				s->node.waker = WAKER_NONE;
			if (waiter_set_waker(&s->node.waker, cx->waker, &spare)) {
				if (!s->node.queued)
					wait_list_push(&c->send_waiters, &s->node);
				/* A free slot would mean I4 is broken. */
				EXEC_ASSERT(st_len(st) + c->reserved >= c->cap);
				spin_unlock(&c->lock, flags);
				waker_drop(&spare);
				return POLL_PENDING;
			}
			if (!task_waker_clone_ours(cx->waker, &spare)) {
				spin_unlock(&c->lock, flags);
				spare = waker_clone(cx->waker);
				flags = spin_lock(&c->lock);
			}
			continue;
		}
		break;
	}
	uint64_t clear = sendq_needed(c) ? 0 : ST_SENDQ;
	if (deliver) {
		rx = mpsc_put(c, st, s->value, c->elem_size, clear);
	} else {
		struct waker none;
		mpsc_st_update(c, st, 0, 0, clear, &none);
	}
	spin_unlock(&c->lock, flags);
	waker_wake(&rx);
	waker_drop(&mine);
	waker_drop(&spare);
	s->result = res;
	return POLL_READY;
}

/* Leaves the queue; a reserved slot goes to the next waiting sender, and
 * the receiver is woken in case it waits for reservations to drain. */
void mpsc_send_drop(struct mpsc_send *s)
{
	struct mpsc *c = s->c;
	struct waker next = WAKER_NONE, rx = WAKER_NONE, mine = WAKER_NONE;

	unsigned long flags = spin_lock(&c->lock);
	if (s->node.queued || s->node.granted) {
		bool was_granted = s->node.granted;
		send_leave(c, s, &mine);
		uint64_t st = mpsc_st_load(c);   /* len frozen: SENDQ is set (I2) */
		uint64_t clear = 0;
		if (was_granted) {
			next = grant_one(c, st);
			if (st & ST_CLOSED)
				clear |= ST_RXW;
		}
		if (!sendq_needed(c))
			clear |= ST_SENDQ;
		mpsc_st_update(c, st, 0, 0, clear, &rx);
	}
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

/* The element sizes mpsc_recv_poll (mpsc.h) does not take inline. */
enum poll mpsc_recv_poll_slow(struct mpsc_recv *r, struct context *cx)
{
	size_t n = r->c->elem_size;
	if (n == 4)
		return mpsc_recv_poll_sized(r, cx, 4);
	return mpsc_recv_poll_sized(r, cx, n);
}

/* The registering CAS failed: the clone in rx_waker is still ours (RXW
 * is clear, and only we set it).  Drop it and look again. */
enum poll mpsc_recv_raced(struct mpsc_recv *r, struct context *cx)
{
	waker_drop(&r->c->rx_waker);
	return mpsc_recv_slow(r, cx);
}

/* Everything else, under the lock.  Out of line, like send_slow, so that
 * the fast paths save no registers for it.  We are the receiver and hold
 * the lock, so nobody else changes len or RXW meanwhile. */
enum poll mpsc_recv_slow(struct mpsc_recv *r, struct context *cx)
{
	struct mpsc *c = r->c;
	struct waker spare = WAKER_NONE, next = WAKER_NONE, old = WAKER_NONE;
	int res = -1;   /* stays -1: Pending */

	uint64_t st = mpsc_st_load(c);
	if (st < ST_LEN1) {
		/* Polled again, still empty, same waker registered: nothing to
		 * do.  (RXW set: nobody writes rx_waker but us, I1.) */
		if ((st & ST_RXW) && waker_will_wake(&c->rx_waker, cx->waker))
			return POLL_PENDING;
		/* The fast path's registration, for a waker that is not ours:
		 * no lock is held, so it may be cloned here. */
		if (!(st & (ST_RXW | ST_CLOSED | ST_NOTX))) {
			c->rx_waker = waker_clone(cx->waker);
			if (mpsc_st_cas(c, &st, st | ST_RXW))
				return POLL_PENDING;
			waker_drop(&c->rx_waker);   /* still ours: RXW is clear */
		}
	}

	unsigned long flags = spin_lock(&c->lock);
	for (;;) {
		st = mpsc_st_load(c);
		if (st >= ST_LEN1) {
			peek(c, r->out, c->elem_size);
			advance_rd(c, c->elem_size);
			/* a waker left from an earlier Pending is no longer needed */
			st = mpsc_st_update(c, st, (uint64_t)0 - ST_LEN1, 0, ST_RXW, &old);
			next = grant_one(c, st);
			res = SYNC_OK;
			break;
		}
		if ((st & (ST_CLOSED | ST_NOTX)) && c->reserved == 0) {
			mpsc_st_update(c, st, 0, 0, ST_RXW, &old);
			res = SYNC_CLOSED;
			break;
		}
		/* Wait: for a send, or for senders holding reservations. */
		if ((st & ST_RXW) && waker_will_wake(&c->rx_waker, cx->waker))
			break;
		if (waker_is_none(&spare) && !task_waker_clone_ours(cx->waker, &spare)) {
			spin_unlock(&c->lock, flags);
			spare = waker_clone(cx->waker);
			flags = spin_lock(&c->lock);
			continue;
		}
		/* Install the clone.  With RXW set only lock holders read
		 * rx_waker, and we hold the lock: we may replace it. */
		if (st & ST_RXW) {
			old = c->rx_waker;
			c->rx_waker = spare;
		} else {
			struct waker none;
			c->rx_waker = spare;
			mpsc_st_update(c, st, 0, ST_RXW, 0, &none);
		}
		spare = WAKER_NONE;
		break;
	}
	spin_unlock(&c->lock, flags);
	waker_wake(&next);
	waker_drop(&old);
	waker_drop(&spare);
	if (res < 0)
		return POLL_PENDING;
	r->result = res;
	return POLL_READY;
}

/* Forgets a registered waker (only a lock holder may clear RXW, I1). */
void mpsc_recv_drop(struct mpsc_recv *r)
{
	struct mpsc *c = r->c;
	struct waker w;
	if (!(mpsc_st_load(c) & ST_RXW))
		return;   /* only we, the receiver, could set it */
	unsigned long flags = spin_lock(&c->lock);
	mpsc_st_update(c, mpsc_st_load(c), 0, 0, ST_RXW, &w);
	spin_unlock(&c->lock, flags);
	waker_drop(&w);
}

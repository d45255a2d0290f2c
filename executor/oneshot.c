/* One-shot channel: one value from one sender to one receiver, sendable from a trap handler. */
#include <string.h>

#include "oneshot.h"

void oneshot_init(struct oneshot *o, void *slot, size_t size)
{
	spin_init(&o->lock);
	o->has_value = 0;
	o->tx_done = 0;
	o->rx_done = 0;
	o->rx_waker = WAKER_NONE;
	o->slot = slot;
	o->size = size;
}

int oneshot_send(struct oneshot *o, const void *value)
{
	unsigned long flags = spin_lock(&o->lock);
	if (o->rx_done || o->tx_done) {
		spin_unlock(&o->lock, flags);
		return SYNC_CLOSED;
	}
	memcpy(o->slot, value, o->size);
	o->has_value = 1;
	o->tx_done = 1;
	struct waker w = o->rx_waker;
	o->rx_waker = WAKER_NONE;
	spin_unlock(&o->lock, flags);
	waker_wake(&w);
	return SYNC_OK;
}

void oneshot_sender_drop(struct oneshot *o)
{
	struct waker w = WAKER_NONE;
	unsigned long flags = spin_lock(&o->lock);
	if (!o->tx_done) {
		o->tx_done = 1;
		w = o->rx_waker;
		o->rx_waker = WAKER_NONE;
	}
	spin_unlock(&o->lock, flags);
	waker_wake(&w);
}

void oneshot_receiver_drop(struct oneshot *o)
{
	unsigned long flags = spin_lock(&o->lock);
	o->rx_done = 1;
	o->has_value = 0;
	struct waker w = o->rx_waker;
	o->rx_waker = WAKER_NONE;
	spin_unlock(&o->lock, flags);
	waker_drop(&w);
}

/* Caller holds o->lock.  The outcome if the receiver need not wait, else
 * SYNC_EMPTY.  Taking the value ends the channel. */
static int take_locked(struct oneshot *o, void *out)
{
	if (o->has_value) {
		if (out)
			memcpy(out, o->slot, o->size);
		o->has_value = 0;
		o->rx_done = 1;
		return SYNC_OK;
	}
	if (o->tx_done || o->rx_done)
		return SYNC_CLOSED;
	return SYNC_EMPTY;
}

int oneshot_try_recv(struct oneshot *o, void *out)
{
	unsigned long flags = spin_lock(&o->lock);
	int r = take_locked(o, out);
	spin_unlock(&o->lock, flags);
	return r;
}

static enum poll oneshot_recv_vpoll(struct future *f, struct context *cx)
{
	return oneshot_recv_poll((struct oneshot_recv *)f, cx);
}

static void oneshot_recv_vdrop(struct future *f)
{
	oneshot_recv_drop((struct oneshot_recv *)f);
}

static const struct future_vtable oneshot_recv_vtable = {
	oneshot_recv_vpoll, oneshot_recv_vdrop
};

void oneshot_recv_init(struct oneshot_recv *r, struct oneshot *o, void *out)
{
	r->base.vtable = &oneshot_recv_vtable;
	r->o = o;
	r->out = out;
	r->result = SYNC_EMPTY;
}

enum poll oneshot_recv_poll(struct oneshot_recv *r, struct context *cx)
{
	struct oneshot *o = r->o;
	struct waker spare = WAKER_NONE;

	for (;;) {
		unsigned long flags = spin_lock(&o->lock);
		int res = take_locked(o, r->out);
		if (res != SYNC_EMPTY) {
			/* done: release a waker left from an earlier Pending */
			struct waker old = o->rx_waker;
			o->rx_waker = WAKER_NONE;
			spin_unlock(&o->lock, flags);
			waker_drop(&old);
			waker_drop(&spare);
			r->result = res;
			return POLL_READY;
		}
		if (waiter_set_waker(&o->rx_waker, cx->waker, &spare)) {
			spin_unlock(&o->lock, flags);
			waker_drop(&spare);
			return POLL_PENDING;
		}
		spin_unlock(&o->lock, flags);
		spare = waker_clone(cx->waker);
	}
}

/* Forgets the registered waker; the channel itself stays open. */
void oneshot_recv_drop(struct oneshot_recv *r)
{
	struct oneshot *o = r->o;
	unsigned long flags = spin_lock(&o->lock);
	struct waker w = o->rx_waker;
	o->rx_waker = WAKER_NONE;
	spin_unlock(&o->lock, flags);
	waker_drop(&w);
}

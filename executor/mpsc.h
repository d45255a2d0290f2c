/* Bounded multi-producer single-consumer channel over caller-provided storage. */
#ifndef EXECUTOR_MPSC_H
#define EXECUTOR_MPSC_H

#include "sync.h"

/*
 * A ring of `cap` elements of `elem_size` bytes in storage the caller
 * provides; no allocation per send or receive.  Elements are copied with
 * the lock held, so keep them small.  Capacity 1 works and is the
 * ping-pong case: a send that finds room costs one lock round trip and at
 * most one wake.
 *
 * Waiting senders queue FIFO.  When the receiver frees a slot it hands it
 * to the first waiting sender (the slot is reserved: counted in
 * `reserved`, marked in the sender's waiter), so a sender that arrives
 * later cannot overtake one that waited.
 *
 * Closing:
 *   mpsc_close           no more sends: waiting and later sends get
 *                        SYNC_CLOSED; the receiver drains what is buffered
 *                        (and what reserved senders still deliver), then
 *                        gets SYNC_CLOSED.
 *   mpsc_receiver_drop   the same, and buffered values are discarded;
 *                        every send, even one holding a reservation, ends
 *                        with SYNC_CLOSED.
 *   last mpsc_sender_drop  recv returns SYNC_CLOSED once drained.
 *
 * Cancel-safety: a dropped send future never delivers its value; if it
 * held a reserved slot, the slot passes to the next waiting sender.  A
 * dropped recv future loses nothing (a value is taken only on Ready).
 */
struct mpsc {
	struct spin lock;
	unsigned char *buf;
	size_t elem_size;
	uint32_t cap, head, len;
	uint32_t reserved;   /* slots handed to waiting senders, not yet filled */
	uint32_t senders;    /* live sender handles */
	uint8_t closed;
	uint8_t rx_dropped;
	struct waker rx_waker;
	struct wait_list send_waiters;
};

/* storage holds cap * elem_size bytes; cap >= 1.  Starts with one sender
 * handle (mpsc_sender_clone for more). */
void mpsc_init(struct mpsc *c, void *storage, size_t elem_size, uint32_t cap);
void mpsc_sender_clone(struct mpsc *c);
void mpsc_sender_drop(struct mpsc *c);
void mpsc_close(struct mpsc *c);
void mpsc_receiver_drop(struct mpsc *c);

/* Non-waiting forms, usable from a trap handler.  try_send: SYNC_OK,
 * SYNC_FULL (also when senders are already waiting: no overtaking) or
 * SYNC_CLOSED.  try_recv: SYNC_OK, SYNC_EMPTY or SYNC_CLOSED. */
int mpsc_try_send(struct mpsc *c, const void *value);
int mpsc_try_recv(struct mpsc *c, void *out);
/* Buffered values (racy by nature; for tests and metrics). */
uint32_t mpsc_len(struct mpsc *c);

/* Send future: Ready with result SYNC_OK (copied in) or SYNC_CLOSED.
 * *value must stay valid until Ready or drop. */
struct mpsc_send {
	struct future base;
	struct mpsc *c;
	const void *value;
	struct waiter node;
	int result;
};

extern const struct future_vtable mpsc_send_vtable;

/* Inline: a send is set up once per message. */
static inline void mpsc_send_init(struct mpsc_send *s, struct mpsc *c,
                                  const void *value)
{
	s->base.vtable = &mpsc_send_vtable;
	s->c = c;
	s->value = value;
	/* waiter_init without the links: they are written when the node is
	 * queued and read only while it is (node.queued). */
	s->node.waker = WAKER_NONE;
	s->node.queued = 0;
	s->node.granted = 0;
	s->result = SYNC_EMPTY;
}

enum poll mpsc_send_poll(struct mpsc_send *s, struct context *cx);
void mpsc_send_drop(struct mpsc_send *s);

/* Receive future: Ready with result SYNC_OK (value in *out) or SYNC_CLOSED. */
struct mpsc_recv {
	struct future base;
	struct mpsc *c;
	void *out;
	int result;
};

extern const struct future_vtable mpsc_recv_vtable;

static inline void mpsc_recv_init(struct mpsc_recv *r, struct mpsc *c, void *out)
{
	r->base.vtable = &mpsc_recv_vtable;
	r->c = c;
	r->out = out;
	r->result = SYNC_EMPTY;
}

enum poll mpsc_recv_poll(struct mpsc_recv *r, struct context *cx);
void mpsc_recv_drop(struct mpsc_recv *r);

#endif /* EXECUTOR_MPSC_H */

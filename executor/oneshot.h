/* One-shot channel: one value from one sender to one receiver, sendable from a trap handler. */
#ifndef EXECUTOR_ONESHOT_H
#define EXECUTOR_ONESHOT_H

#include "sync.h"

/*
 * The caller provides the channel and a slot of `size` bytes for the
 * value; nothing is allocated.  Values are copied with the lock held, so
 * keep them small (send a pointer for anything big).
 *
 *   sender:   oneshot_send (at most once) or oneshot_sender_drop
 *   receiver: a struct oneshot_recv future, or oneshot_try_recv;
 *             oneshot_receiver_drop when the receiver gives up
 *
 * Closed results: recv is Ready with SYNC_CLOSED if the sender was dropped
 * without sending; send returns SYNC_CLOSED (value not delivered) if the
 * receiver was dropped.  Cancel-safety: dropping a oneshot_recv future
 * only forgets its waker; the value, if sent, stays in the slot for a
 * later recv.  Dropping the receiver side is oneshot_receiver_drop.
 */
struct oneshot {
	struct spin lock;
	uint8_t has_value;
	uint8_t tx_done;     /* sent or sender dropped */
	uint8_t rx_done;     /* receiver dropped or value taken */
	struct waker rx_waker;
	void *slot;
	size_t size;
};

void oneshot_init(struct oneshot *o, void *slot, size_t size);

/* Copies size bytes from value into the slot and wakes the receiver.
 * SYNC_OK, or SYNC_CLOSED if the receiver is gone or a value was already
 * sent.  Never waits; callable from a trap handler. */
int oneshot_send(struct oneshot *o, const void *value);
/* The sender goes away without sending: the receiver sees SYNC_CLOSED.
 * A no-op after a send. */
void oneshot_sender_drop(struct oneshot *o);
/* The receiver goes away: later sends fail, a pending recv is forgotten. */
void oneshot_receiver_drop(struct oneshot *o);
/* SYNC_OK (value copied to out, unless out is NULL), SYNC_EMPTY or
 * SYNC_CLOSED. */
int oneshot_try_recv(struct oneshot *o, void *out);

struct oneshot_recv {
	struct future base;
	struct oneshot *o;
	void *out;           /* where the value goes; NULL: leave it in the slot */
	int result;          /* enum sync_result, valid once Ready */
};

void oneshot_recv_init(struct oneshot_recv *r, struct oneshot *o, void *out);
/* Ready with r->result SYNC_OK (value in *out) or SYNC_CLOSED. */
enum poll oneshot_recv_poll(struct oneshot_recv *r, struct context *cx);
void oneshot_recv_drop(struct oneshot_recv *r);

#endif /* EXECUTOR_ONESHOT_H */

/* Bounded multi-producer single-consumer channel over caller-provided storage. */
#ifndef EXECUTOR_MPSC_H
#define EXECUTOR_MPSC_H

#include <stdatomic.h>
#include <string.h>

#include "sync.h"
#include "task.h"

/*
 * A ring of `cap` elements of `elem_size` bytes in storage the caller
 * provides; no allocation per send or receive.  Elements are copied by
 * value (senders copy with the lock held, so keep them small).  Capacity
 * 1 works and is the ping-pong case.
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
 *
 * One consumer: the receiving calls (recv futures, mpsc_try_recv,
 * mpsc_receiver_drop) must not run concurrently with one another.  They
 * may run on any CPU, one after the other, or all in a trap handler.
 * Sends, mpsc_close and the sender handle calls may run anywhere, at any
 * time, including trap handlers (try_send; a send future is polled by a
 * task).
 *
 * ---- How it works: one state word, one lock --------------------------
 *
 * `state` packs the number of buffered values (len, above ST_LEN_SHIFT)
 * with four flags.  The receiver's common cases touch only that word:
 * a receive that finds a value copies it out and CASes len - 1; a receive
 * that must wait stores its waker in rx_waker and CASes RXW on.  Neither
 * takes the lock, so neither masks interrupts.  Senders and every rare
 * path take `lock` (the irq-masking struct spin) and still change `state`
 * with atomic read-modify-writes, because the receiver may CAS it at any
 * moment.  A send that finds room is: lock, copy in at `wr`, one CAS
 * (len + 1, RXW off), unlock, wake the waker it took.
 *
 *   flag        set by                  cleared by (always under lock)
 *   RXW         the receiver (CAS)      whoever takes the waker to wake
 *                                       or drop it: a send, close, the
 *                                       last sender drop, the receiver's
 *                                       own slow path
 *   SENDQ       lock holder             lock holder, once no sender waits
 *                                       and none holds a reservation
 *   CLOSED      mpsc_close, mpsc_receiver_drop   (never)
 *   NOTX        last mpsc_sender_drop   mpsc_sender_clone
 *
 * Invariants:
 *  I1  RXW set: rx_waker holds a live waker that belongs to the channel,
 *      and nobody writes rx_waker.  RXW clear: rx_waker is the receiver's
 *      scratch space.  Only the receiver sets RXW, only a lock holder
 *      clears it, so a lock holder that reads rx_waker while it sees RXW
 *      cannot race with the receiver rewriting it.
 *  I2  SENDQ is set while a sender waits or holds a reservation (a lock
 *      holder may also set it for a moment).  The receiver's lock-free
 *      take requires SENDQ clear, so while SENDQ is set len changes only
 *      under the lock: a sender deciding to wait sees the final len, and
 *      a receiver that frees a slot with senders queued takes the lock
 *      and grants the slot (no lost wake, no overtaking).
 *  I3  Values occupy the slots from `rd` (receiver-owned) for len slots;
 *      `wr` (lock-owned) is the slot after them.  A receiver's CAS of
 *      len - 1 (release) comes after its copy out; a sender's CAS of
 *      len + 1 (release) after its copy in; each side reads `state` with
 *      acquire before touching a slot.
 *  I4  A waiting sender means no free slot: len + reserved == cap.
 *
 *   receiver                          sender (under lock)
 *   --------                          -------------------
 *   len > 0, no RXW/SENDQ:            no CLOSED/SENDQ, len < cap:
 *     copy out, CAS len-1  -> Ready     copy in, CAS len+1 & ~RXW,
 *   len == 0, no RXW/CLOSED/NOTX:       wake the waker RXW guarded
 *     rx_waker = clone,               otherwise send_slow: set SENDQ,
 *     CAS |RXW             -> Pending   fill a reserved slot, fail on
 *   anything else: recv_slow,           CLOSED, or queue and wait
 *     under the lock
 */
#define ST_RXW       1u    /* rx_waker is registered (I1) */
#define ST_SENDQ     2u    /* senders wait or hold reservations (I2) */
#define ST_CLOSED    4u    /* mpsc_close or mpsc_receiver_drop happened */
#define ST_NOTX      8u    /* no sender handle left */
#define ST_LEN_SHIFT 8
#define ST_LEN1      ((uint64_t)1 << ST_LEN_SHIFT)

struct mpsc {
	struct spin lock;
	_Atomic uint64_t state;  /* len << ST_LEN_SHIFT | ST_* flags */
	uint32_t cap;
	uint64_t cap_st;         /* cap << ST_LEN_SHIFT: len < cap iff state < cap_st */
	size_t elem_size;
	unsigned char *buf, *end;   /* storage: cap * elem_size bytes */
	unsigned char *rd;       /* next value to receive: receiver only */
	unsigned char *wr;       /* next free slot: under lock */
	struct waker rx_waker;   /* see I1 */
	/* Under lock: */
	uint32_t reserved;       /* slots handed to waiting senders, not yet filled */
	uint32_t senders;        /* live sender handles */
	uint8_t rx_dropped;
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
 * SYNC_CLOSED.  try_recv (the consumer only): SYNC_OK, SYNC_EMPTY or
 * SYNC_CLOSED. */
int mpsc_try_send(struct mpsc *c, const void *value);
int mpsc_try_recv(struct mpsc *c, void *out);
/* Buffered values (racy by nature; for tests and metrics). */
uint32_t mpsc_len(struct mpsc *c);

/* Send future: Ready with result SYNC_OK (copied in) or SYNC_CLOSED.
 * *value must stay valid until Ready or drop.  result is written only
 * when the poll returns Ready. */
struct mpsc_send {
	struct future base;
	struct mpsc *c;
	const void *value;
	struct waiter node;
	int result;
};

extern const struct future_vtable mpsc_send_vtable;

/* Inline: a send is set up once per message.  Only the waiter's flags
 * are written: its links and its waker are written when the node is
 * queued and read only while it is (node.queued). */
static inline void mpsc_send_init(struct mpsc_send *s, struct mpsc *c,
                                  const void *value)
{
	s->base.vtable = &mpsc_send_vtable;
	s->c = c;
	s->value = value;
	s->node.queued = 0;
	s->node.granted = 0;
}

static inline enum poll mpsc_send_poll(struct mpsc_send *s, struct context *cx);
void mpsc_send_drop(struct mpsc_send *s);

/* Receive future (the consumer only): Ready with result SYNC_OK (value
 * in *out, which must not be NULL) or SYNC_CLOSED.  result is written
 * only when the poll returns Ready. */
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
}

static inline enum poll mpsc_recv_poll(struct mpsc_recv *r, struct context *cx);
void mpsc_recv_drop(struct mpsc_recv *r);

/* ---- The common polls, inline ----------------------------------------
 *
 * The protocol's fast paths live here, inline, and take the element size
 * n as a parameter: mpsc_send_poll and mpsc_recv_poll instantiate them
 * in the caller for word-sized elements (a value or a pointer: the copy
 * is one load and one store), and mpsc.c once more for 4-byte elements
 * and once out of line for any other size (a memcpy call).  Everything
 * else (waiting senders, closing, a raced CAS) is in mpsc.c.  "st" is
 * always a value of c->state.
 */

/* In mpsc.c: entered with the lock held (flags) / without it. */
enum poll mpsc_send_slow(struct mpsc_send *s, struct context *cx,
                         unsigned long flags);
enum poll mpsc_recv_slow(struct mpsc_recv *r, struct context *cx);
enum poll mpsc_recv_raced(struct mpsc_recv *r, struct context *cx);
/* The sizes the inline polls do not instantiate. */
enum poll mpsc_send_poll_slow(struct mpsc_send *s, struct context *cx);
enum poll mpsc_recv_poll_slow(struct mpsc_recv *r, struct context *cx);

static inline uint64_t mpsc_st_load(struct mpsc *c)
{
	return atomic_load_explicit(&c->state, memory_order_acquire);
}

/* *st -> desired if c->state still equals *st; else *st = the current
 * value.  Every change of c->state is a read-modify-write, so an acquire
 * load sees everything written before any earlier change (I3). */
static inline bool mpsc_st_cas(struct mpsc *c, uint64_t *st, uint64_t desired)
{
	return atomic_compare_exchange_strong_explicit(&c->state, st, desired,
	        memory_order_acq_rel, memory_order_acquire);
}

/*
 * Caller holds the lock; st is a recent value of c->state.  Atomically
 * state = (state + add | set) & ~clear, retrying if the receiver changed
 * it meanwhile.  If that clears a set RXW, the receiver's waker moves to
 * *rx (else *rx = WAKER_NONE): reading rx_waker while RXW is set is safe
 * because only a lock holder may clear RXW (I1).  Returns the new state.
 */
static inline uint64_t mpsc_st_update(struct mpsc *c, uint64_t st, uint64_t add,
                                 uint64_t set, uint64_t clear, struct waker *rx)
{
	uint64_t nst;
	do {
		*rx = (st & clear & ST_RXW) ? c->rx_waker : WAKER_NONE;
		nst = ((st + add) | set) & ~clear;
	} while (!mpsc_st_cas(c, &st, nst));
	return nst;
}

/* The slot after p. */
static inline unsigned char *mpsc_ring_next(const struct mpsc *c, unsigned char *p,
                                       size_t n)
{
	p += n;
	return p == c->end ? c->buf : p;
}

/* Caller holds the lock; st (a recent state) has room for one value.
 * Copies *value into the free slot at wr, then publishes it: len + 1 and
 * RXW off, and `clear` off too.  Returns the receiver's waker, if one was
 * registered, to wake after unlocking. */
static inline struct waker mpsc_put(struct mpsc *c, uint64_t st, const void *value,
                               size_t n, uint64_t clear)
{
	struct waker rx;
	unsigned char *wr = c->wr;
	c->wr = mpsc_ring_next(c, wr, n);
	memcpy(wr, value, n);
	mpsc_st_update(c, st, ST_LEN1, 0, ST_RXW | clear, &rx);
	return rx;
}

/* The lock-free take (receiver only; st has len > 0 and SENDQ clear):
 * copy the value out, then len - 1 if the state is still st.  rd and end
 * are read before the CAS, which the compiler may not move loads over. */
static inline bool mpsc_take_fast(struct mpsc *c, uint64_t st, void *out, size_t n)
{
	unsigned char *rd = c->rd, *next = rd + n;
	if (next == c->end)
		next = c->buf;
	memcpy(out, rd, n);
	if (!mpsc_st_cas(c, &st, st - ST_LEN1))
		return false;
	c->rd = next;
	return true;
}


/*
 * Fast path: open, no sender waiting or holding a reservation (SENDQ
 * clear, which also means this sender is neither queued nor granted), and
 * a free slot (len < cap, i.e. st < cap_st whatever the flags): copy in,
 * publish, wake the receiver if it waits.  The receiver may change len
 * meanwhile, but only downwards: the room stays.
 */
static inline __attribute__((always_inline))
enum poll mpsc_send_poll_sized(struct mpsc_send *s, struct context *cx, size_t n)
{
	struct mpsc *c = s->c;
	unsigned long flags = spin_lock(&c->lock);
	uint64_t st = mpsc_st_load(c);
	if (!(st & (ST_CLOSED | ST_SENDQ)) && st < c->cap_st) {
		EXEC_ASSERT(!s->node.queued && !s->node.granted);
		struct waker rx = mpsc_put(c, st, s->value, n, 0);
		spin_unlock(&c->lock, flags);
		s->result = SYNC_OK;
		task_waker_wake(&rx, NULL, NULL);
		return POLL_READY;
	}
	return mpsc_send_slow(s, cx, flags);
}

/*
 * Two lock-free fast paths, one CAS each:
 *   a value, no sender to hand a slot to (SENDQ), no waker left over
 *     (RXW): copy it out, then len - 1.  (The ping-pong case: the sender
 *     took our waker to wake us.)
 *   empty, open, no waker registered, and cx's waker is one of ours: put
 *     a clone in rx_waker, our scratch space while RXW is clear (I1),
 *     then set RXW.  (Any other waker is cloned by recv_slow: that is a
 *     call, and the fast path makes none.)
 * If the CAS fails, the state changed under us (a value arrived, the
 * channel closed, a sender queued): recv_slow looks again under the lock.
 */
static inline __attribute__((always_inline))
enum poll mpsc_recv_poll_sized(struct mpsc_recv *r, struct context *cx, size_t n)
{
	struct mpsc *c = r->c;
	uint64_t st = mpsc_st_load(c);
	if (st >= ST_LEN1) {
		if (!(st & (ST_RXW | ST_SENDQ))) {
			if (mpsc_take_fast(c, st, r->out, n)) {
				r->result = SYNC_OK;
				return POLL_READY;
			}
		}
	} else if (!(st & (ST_RXW | ST_CLOSED | ST_NOTX)) &&
	           task_waker_clone_ours(cx->waker, &c->rx_waker)) {
		if (mpsc_st_cas(c, &st, st | ST_RXW))
			return POLL_PENDING;
		return mpsc_recv_raced(r, cx);
	}
	return mpsc_recv_slow(r, cx);
}

static inline __attribute__((always_inline))
enum poll mpsc_recv_poll(struct mpsc_recv *r, struct context *cx)
{
	if (r->c->elem_size == sizeof(uint64_t))
		return mpsc_recv_poll_sized(r, cx, sizeof(uint64_t));
	return mpsc_recv_poll_slow(r, cx);
}

static inline __attribute__((always_inline))
enum poll mpsc_send_poll(struct mpsc_send *s, struct context *cx)
{
	if (s->c->elem_size == sizeof(uint64_t))
		return mpsc_send_poll_sized(s, cx, sizeof(uint64_t));
	return mpsc_send_poll_slow(s, cx);
}

#endif /* EXECUTOR_MPSC_H */

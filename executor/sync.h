/* Shared parts of the sync primitives: result codes, intrusive FIFO waiters, wake batches. */
#ifndef EXECUTOR_SYNC_H
#define EXECUTOR_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "future.h"
#include "spin.h"

/*
 * Every primitive (oneshot, mpsc, mutex, semaphore, notify) follows the
 * same rules, so they work with any waker and from trap handlers:
 *
 *  - State lives behind one struct spin (interrupts masked while held).
 *    (mpsc's receiver also meets the senders through an atomic state
 *    word, without the lock; its protocol is in mpsc.h.)
 *  - A waiting future embeds a struct waiter (no allocation) and links it
 *    into the primitive's FIFO wait_list the first time it must wait
 *    (mutex, semaphore and notify poll through one loop: waiter_poll).
 *  - No waker vtable function runs with the lock held.  A poll that needs
 *    a new clone drops the lock, clones, retakes it and looks again
 *    (waiter_set_waker); the waking side moves wakers out under the lock
 *    and wakes them after unlocking (struct wake_batch when there can be
 *    many).
 *  - Whatever a waiter is handed while it is not looking (a lock, permits,
 *    a channel slot, a notification) is recorded in waiter.granted, so
 *    the waiter's drop function can pass it on: dropping a future never
 *    loses a wake-up or leaks a resource (cancel-safety).
 */
enum sync_result {
	SYNC_OK = 0,
	SYNC_CLOSED = 1,     /* the other side is gone or the channel closed */
	SYNC_FULL = 2,       /* try_send: no room */
	SYNC_EMPTY = 3,      /* try_recv: nothing yet */
};

struct waiter {
	struct waiter *next, *prev;
	struct waker waker;
	uint8_t queued;      /* linked into a wait_list */
	uint8_t granted;     /* nonzero: what we waited for was handed over */
};

struct wait_list {
	struct waiter *head, *tail;
};

static inline void waiter_init(struct waiter *w)
{
	w->next = w->prev = NULL;
	w->waker = WAKER_NONE;
	w->queued = 0;
	w->granted = 0;
}

static inline void wait_list_init(struct wait_list *l)
{
	l->head = l->tail = NULL;
}

static inline bool wait_list_empty(const struct wait_list *l)
{
	return l->head == NULL;
}

/* Caller holds the owner's lock.  Precondition: !w->queued. */
static inline void wait_list_push(struct wait_list *l, struct waiter *w)
{
	w->next = NULL;
	w->prev = l->tail;
	if (l->tail)
		l->tail->next = w;
	else
		l->head = w;
	l->tail = w;
	w->queued = 1;
}

/* Caller holds the owner's lock.  O(1).  Precondition: w->queued. */
static inline void wait_list_remove(struct wait_list *l, struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		l->tail = w->prev;
	w->next = w->prev = NULL;
	w->queued = 0;
}

/* Caller holds the owner's lock.  Returns NULL if empty. */
static inline struct waiter *wait_list_pop(struct wait_list *l)
{
	struct waiter *w = l->head;
	if (w)
		wait_list_remove(l, w);
	return w;
}

/*
 * Caller holds the lock.  Makes *slot a waker for the same target as
 * `want`.  Returns true when done: nothing to change, or *spare (a clone
 * made earlier, outside the lock) was installed and *spare now holds the
 * waker it replaced.  Returns false when a clone is needed: the caller
 * unlocks, sets *spare = waker_clone(want), relocks, re-checks its state
 * (it may have changed) and calls again.  In every case the caller drops
 * *spare after unlocking (waker_drop is a no-op on WAKER_NONE).
 */
static inline bool waiter_set_waker(struct waker *slot, const struct waker *want,
                                    struct waker *spare)
{
	if (!waker_is_none(slot) && waker_will_wake(slot, want))
		return true;
	if (waker_is_none(spare))
		return false;
	struct waker old = *slot;
	*slot = *spare;
	*spare = old;
	return true;
}

/*
 * The poll of a future that waits its turn in a FIFO wait_list: the one
 * loop mutex_lock, sem_acquire and notified share.  Under *lock:
 *
 *   - w->granted: what w waits for was handed over while it was queued
 *     (the waking side unlinked it): Ready.
 *   - w not queued: take(owner, w) may take it at once from owner, the
 *     primitive; it runs with the lock held, never for a queued waiter
 *     (so nobody overtakes one), and returns true if it took it: Ready.
 *   - otherwise w->waker becomes a clone of cx->waker (made with the lock
 *     dropped: waiter_set_waker) and w joins the tail of *list: Pending.
 *
 * On Ready the lock is dropped, and so is the waker w held; w is on no
 * list, so its owner reads and resets w->granted without the lock.
 * clone_first: the caller expects to wait (a first poll that will most
 * likely queue): the clone is made before the lock is first taken, saving
 * a second lock round trip, and dropped again if it was not needed.
 * Inline: take and clone_first are constants at each call.
 */
static inline __attribute__((always_inline))
enum poll waiter_poll(struct spin *lock, struct wait_list *list, struct waiter *w,
                      struct context *cx, bool (*take)(void *owner, struct waiter *w),
                      void *owner, bool clone_first)
{
	struct waker spare = clone_first ? waker_clone(cx->waker) : WAKER_NONE;

	for (;;) {
		unsigned long flags = spin_lock(lock);
		if (w->granted || (!w->queued && take(owner, w))) {
			struct waker mine = w->waker;
			w->waker = WAKER_NONE;
			spin_unlock(lock, flags);
			waker_drop(&mine);
			waker_drop(&spare);
			return POLL_READY;
		}
		if (waiter_set_waker(&w->waker, cx->waker, &spare)) {
			if (!w->queued)
				wait_list_push(list, w);
			spin_unlock(lock, flags);
			waker_drop(&spare);
			return POLL_PENDING;
		}
		spin_unlock(lock, flags);
		spare = waker_clone(cx->waker);
	}
}

/* Caller holds the owner's lock and is dropping w's future: take w off
 * the list if it is queued, and return the waker it held, to drop after
 * unlocking.  What w->granted says was handed to w is the caller's to
 * pass on. */
static inline struct waker waiter_leave(struct wait_list *l, struct waiter *w)
{
	if (w->queued)
		wait_list_remove(l, w);
	struct waker mine = w->waker;
	w->waker = WAKER_NONE;
	return mine;
}

/* Wakers moved out under a lock, woken after it is dropped.  Kept small:
 * it lives on the stack of whoever wakes, maybe a trap handler. */
#define WAKE_BATCH 8

struct wake_batch {
	unsigned n;
	struct waker w[WAKE_BATCH];
};

static inline void wake_batch_init(struct wake_batch *b)
{
	b->n = 0;
}

/* Caller holds the lock; moves *w into the batch (leaving WAKER_NONE).
 * Returns true when the batch is full: unlock, wake_batch_run, relock. */
static inline bool wake_batch_add(struct wake_batch *b, struct waker *w)
{
	if (waker_is_none(w))
		return false;
	b->w[b->n++] = *w;
	*w = WAKER_NONE;
	return b->n == WAKE_BATCH;
}

/* Caller does not hold the lock. */
static inline void wake_batch_run(struct wake_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		waker_wake(&b->w[i]);
	b->n = 0;
}

#endif /* EXECUTOR_SYNC_H */

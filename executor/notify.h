/* Notify: wake one waiting task (or store one permit) or every waiting task. */
#ifndef EXECUTOR_NOTIFY_H
#define EXECUTOR_NOTIFY_H

#include "sync.h"

/*
 * notify_one wakes the longest-waiting notified() future; with nobody
 * waiting it stores one permit (at most one: permits do not add up), and
 * the next notified() completes at once.  notify_all wakes every
 * notified() future created before the call, even one not yet polled
 * (the generation it was created in is recorded), and stores no permit.
 * Both are callable from a trap handler.
 *
 * Cancel-safety: a dropped notified() leaves the queue; if notify_one had
 * already chosen it, the notification is passed to the next waiter, or
 * becomes the stored permit, so it is never lost.
 */
struct notify {
	struct spin lock;
	_Atomic uint8_t permit;  /* changed under the lock; notified_poll
	                            peeks at it without (a hint) */
	_Atomic uint32_t gen;    /* notify_all calls so far: changed under
	                            the lock (store-release), read without
	                            it by notified_init (load-acquire) */
	struct wait_list waiters;
};

void notify_init(struct notify *n);
void notify_one(struct notify *n);
void notify_all(struct notify *n);

enum { NOTIFIED_ONE = 1, NOTIFIED_ALL = 2 };

struct notified {
	struct future base;
	struct notify *n;
	struct waiter node;  /* node.granted: NOTIFIED_ONE or NOTIFIED_ALL */
	uint32_t gen;        /* n->gen at creation */
	uint8_t done;
	uint8_t polled;      /* owner only: polled at least once (so it may
	                        have been queued) */
};

/* Creates the future; it counts as waiting for notify_all from now on. */
void notified_init(struct notified *f, struct notify *n);
enum poll notified_poll(struct notified *f, struct context *cx);
void notified_drop(struct notified *f);

#endif /* EXECUTOR_NOTIFY_H */

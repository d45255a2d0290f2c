/* Async mutex: lock is a future, unlock hands the lock to the first waiter (FIFO). */
#ifndef EXECUTOR_MUTEX_H
#define EXECUTOR_MUTEX_H

#include "sync.h"

/*
 * A lock held across awaits (unlike struct spin, which must never be).
 * Waiters queue FIFO; mutex_unlock hands ownership straight to the first
 * one (the mutex stays locked in between), so a task that arrives later
 * cannot barge in ahead of a waiting one.
 *
 * Ownership: once mutex_lock_poll returns Ready the caller owns the mutex
 * and must call mutex_unlock; mutex_lock_drop after Ready does nothing.
 * Cancel-safety: dropping a lock future that is still waiting leaves the
 * queue; dropping one that had been handed the lock but not yet polled
 * passes the lock on to the next waiter (or unlocks).
 */
struct mutex {
	struct spin lock;
	uint8_t locked;
	struct wait_list waiters;
};

void mutex_init(struct mutex *m);
/* True if the lock was free and is now the caller's.  Never waits. */
bool mutex_try_lock(struct mutex *m);
/* Precondition: the caller owns the mutex. */
void mutex_unlock(struct mutex *m);

struct mutex_lock {
	struct future base;
	struct mutex *m;
	struct waiter node;  /* node.granted: ownership was handed over */
	uint8_t owned;       /* Ready was returned */
};

void mutex_lock_init(struct mutex_lock *l, struct mutex *m);
enum poll mutex_lock_poll(struct mutex_lock *l, struct context *cx);
void mutex_lock_drop(struct mutex_lock *l);

#endif /* EXECUTOR_MUTEX_H */

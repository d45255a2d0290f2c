/* Counting semaphore: acquire(n) is a future, release(n) serves waiters in FIFO order. */
#ifndef EXECUTOR_SEMAPHORE_H
#define EXECUTOR_SEMAPHORE_H

#include "sync.h"

/*
 * Strict FIFO: permits go to the first waiter only, and an acquire that
 * finds waiters queues behind them even if enough permits are free, so a
 * large request cannot be starved by a stream of small ones.  (The price:
 * a small request may wait behind a large one.)  sem_release may be
 * called from a trap handler.
 *
 * Ownership: after Ready the caller holds n permits and gives them back
 * with sem_release; sem_acquire_drop after Ready does nothing.
 * Cancel-safety: dropping a waiting acquire leaves the queue (and lets
 * the waiters behind it try); dropping one that had been granted its
 * permits but not yet polled returns them.
 */
struct semaphore {
	struct spin lock;
	size_t permits;
	struct wait_list waiters;
};

void sem_init(struct semaphore *s, size_t permits);
/* Takes n permits if free and nobody waits; never waits. */
bool sem_try_acquire(struct semaphore *s, size_t n);
void sem_release(struct semaphore *s, size_t n);
/* Free permits now (for tests and metrics). */
size_t sem_available(struct semaphore *s);

struct sem_acquire {
	struct future base;
	struct semaphore *s;
	size_t n;
	struct waiter node;  /* node.granted: the n permits were handed over */
	uint8_t owned;       /* Ready was returned */
};

void sem_acquire_init(struct sem_acquire *a, struct semaphore *s, size_t n);
enum poll sem_acquire_poll(struct sem_acquire *a, struct context *cx);
void sem_acquire_drop(struct sem_acquire *a);

#endif /* EXECUTOR_SEMAPHORE_H */

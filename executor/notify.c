/* Notify: wake one waiting task (or store one permit) or every waiting task. */
#include "notify.h"

static uint32_t container_gen(const struct waiter *w)
{
	const char *p = (const char *)w - offsetof(struct notified, node);
	return ((const struct notified *)(const void *)p)->gen;
}

void notify_init(struct notify *n)
{
	spin_init(&n->lock);
	atomic_init(&n->permit, 0);
	atomic_init(&n->gen, 0);
	wait_list_init(&n->waiters);
}

/* Caller holds n->lock.  Hands one notification to the first waiter, or
 * stores the permit; returns the waker to wake after unlocking. */
static struct waker give_one(struct notify *n)
{
	struct waker w = WAKER_NONE;
	struct waiter *node = wait_list_pop(&n->waiters);
	if (node) {
		node->granted = NOTIFIED_ONE;
		w = node->waker;
		node->waker = WAKER_NONE;
	} else {
		atomic_store_explicit(&n->permit, 1, memory_order_relaxed);
	}
	return w;
}

void notify_one(struct notify *n)
{
	unsigned long flags = spin_lock(&n->lock);
	struct waker w = give_one(n);
	spin_unlock(&n->lock, flags);
	waker_wake(&w);
}

/*
 * Waiters are queued in order, and every one queued before the generation
 * bump carries an older generation, so popping stops at the first waiter
 * of the new generation: futures created while the lock was dropped for a
 * batch of wakes are not woken by this call.
 */
void notify_all(struct notify *n)
{
	struct wake_batch b;
	wake_batch_init(&b);

	unsigned long flags = spin_lock(&n->lock);
	uint32_t gen = atomic_load_explicit(&n->gen, memory_order_relaxed) + 1;
	/* Release: whatever the caller changed before notifying is seen by
	 * a notified_init that reads the new generation. */
	atomic_store_explicit(&n->gen, gen, memory_order_release);
	for (;;) {
		struct waiter *node = n->waiters.head;
		if (!node || container_gen(node) == gen)
			break;
		wait_list_remove(&n->waiters, node);
		node->granted = NOTIFIED_ALL;
		if (wake_batch_add(&b, &node->waker)) {
			spin_unlock(&n->lock, flags);
			wake_batch_run(&b);
			flags = spin_lock(&n->lock);
		}
	}
	spin_unlock(&n->lock, flags);
	wake_batch_run(&b);
}

static enum poll notified_vpoll(struct future *f, struct context *cx)
{
	return notified_poll((struct notified *)f, cx);
}

static void notified_vdrop(struct future *f)
{
	notified_drop((struct notified *)f);
}

static const struct future_vtable notified_vtable = {
	notified_vpoll, notified_vdrop
};

void notified_init(struct notified *f, struct notify *n)
{
	f->base.vtable = &notified_vtable;
	f->n = n;
	waiter_init(&f->node);
	f->done = 0;
	f->polled = 0;
	/* No lock: one word.  Acquire keeps the caller's look at its
	 * condition after this read, so a change it misses is notified
	 * with a later generation than this one (notify_all's store is
	 * after the change). */
	f->gen = atomic_load_explicit(&n->gen, memory_order_acquire);
}

/* Under n->lock, for a future not queued: notify_all ran since it was
 * created, or the stored permit is there to take. */
static bool notified_take(void *owner, struct waiter *w)
{
	struct notify *n = owner;
	if (container_gen(w) != atomic_load_explicit(&n->gen, memory_order_relaxed))
		return true;
	if (!atomic_load_explicit(&n->permit, memory_order_relaxed))
		return false;
	atomic_store_explicit(&n->permit, 0, memory_order_relaxed);
	return true;
}

/* Ready if notified while queued, or by notified_take; otherwise queue
 * (FIFO) and wait.  node.granted stays: done says it was observed.  A
 * first poll that sees no notification to take (a peek without the lock:
 * only a hint, waiter_poll decides under it) will most likely queue, so
 * it clones the waker before taking the lock: one lock round trip, not
 * two.  One that will be Ready at once makes no clone. */
enum poll notified_poll(struct notified *f, struct context *cx)
{
	struct notify *n = f->n;
	bool clone_first = !f->polled &&
		atomic_load_explicit(&n->gen, memory_order_relaxed) == f->gen &&
		!atomic_load_explicit(&n->permit, memory_order_relaxed);
	f->polled = 1;
	if (waiter_poll(&n->lock, &n->waiters, &f->node, cx, notified_take, n,
	                clone_first) == POLL_PENDING)
		return POLL_PENDING;
	f->done = 1;
	return POLL_READY;
}

/* A notify_one that chose this future but was never observed goes to the
 * next waiter (or back to the permit). */
void notified_drop(struct notified *f)
{
	struct notify *n = f->n;
	struct waker next = WAKER_NONE;

	/* After Ready (or a drop) there is nothing to give back: the node
	 * left the queue and its waker was dropped under the lock, and a
	 * notify_one's grant was observed.  Never polled: never queued, so
	 * never chosen by a notify (only queued nodes are), and no waker. */
	if (f->done || !f->polled) {
		f->node.granted = 0;
		return;
	}

	unsigned long flags = spin_lock(&n->lock);
	struct waker mine = waiter_leave(&n->waiters, &f->node);
	if (f->node.granted == NOTIFIED_ONE && !f->done)
		next = give_one(n);
	f->node.granted = 0;
	f->done = 1;
	spin_unlock(&n->lock, flags);
	waker_wake(&next);
	waker_drop(&mine);
}

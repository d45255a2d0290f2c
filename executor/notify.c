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
	n->permit = 0;
	n->gen = 0;
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
		n->permit = 1;
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
	n->gen++;
	for (;;) {
		struct waiter *node = n->waiters.head;
		if (!node || container_gen(node) == n->gen)
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
	unsigned long flags = spin_lock(&n->lock);
	f->gen = n->gen;
	spin_unlock(&n->lock, flags);
}

/* Under n->lock, for a future not queued: notify_all ran since it was
 * created, or the stored permit is there to take. */
static bool notified_take(void *owner, struct waiter *w)
{
	struct notify *n = owner;
	if (container_gen(w) != n->gen)
		return true;
	if (!n->permit)
		return false;
	n->permit = 0;
	return true;
}

/* Ready if notified while queued, or by notified_take; otherwise queue
 * (FIFO) and wait.  node.granted stays: done says it was observed. */
enum poll notified_poll(struct notified *f, struct context *cx)
{
	struct notify *n = f->n;
	if (waiter_poll(&n->lock, &n->waiters, &f->node, cx, notified_take, n) == POLL_PENDING)
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

/* Counting semaphore: acquire(n) is a future, release(n) serves waiters in FIFO order. */
#include "semaphore.h"

static struct sem_acquire *acquire_of(struct waiter *w)
{
	char *p = (char *)w - offsetof(struct sem_acquire, node);
	return (struct sem_acquire *)(void *)p;
}

void sem_init(struct semaphore *s, size_t permits)
{
	spin_init(&s->lock);
	s->permits = permits;
	wait_list_init(&s->waiters);
}

/*
 * Called with s->lock held (flags from spin_lock); returns with it
 * dropped.  Grants permits to waiters from the head while they fit, and
 * wakes them in batches with the lock dropped.
 */
static void grant_and_unlock(struct semaphore *s, unsigned long flags)
{
	struct wake_batch b;
	wake_batch_init(&b);
	for (;;) {
		struct waiter *w = s->waiters.head;
		if (!w || acquire_of(w)->n > s->permits)
			break;
		s->permits -= acquire_of(w)->n;
		wait_list_remove(&s->waiters, w);
		w->granted = 1;
		if (wake_batch_add(&b, &w->waker)) {
			spin_unlock(&s->lock, flags);
			wake_batch_run(&b);
			flags = spin_lock(&s->lock);
		}
	}
	spin_unlock(&s->lock, flags);
	wake_batch_run(&b);
}

bool sem_try_acquire(struct semaphore *s, size_t n)
{
	unsigned long flags = spin_lock(&s->lock);
	bool ok = wait_list_empty(&s->waiters) && s->permits >= n;
	if (ok)
		s->permits -= n;
	spin_unlock(&s->lock, flags);
	return ok;
}

void sem_release(struct semaphore *s, size_t n)
{
	unsigned long flags = spin_lock(&s->lock);
	s->permits += n;
	grant_and_unlock(s, flags);
}

size_t sem_available(struct semaphore *s)
{
	unsigned long flags = spin_lock(&s->lock);
	size_t n = s->permits;
	spin_unlock(&s->lock, flags);
	return n;
}

static enum poll sem_acquire_vpoll(struct future *f, struct context *cx)
{
	return sem_acquire_poll((struct sem_acquire *)f, cx);
}

static void sem_acquire_vdrop(struct future *f)
{
	sem_acquire_drop((struct sem_acquire *)f);
}

static const struct future_vtable sem_acquire_vtable = {
	sem_acquire_vpoll, sem_acquire_vdrop
};

void sem_acquire_init(struct sem_acquire *a, struct semaphore *s, size_t n)
{
	a->base.vtable = &sem_acquire_vtable;
	a->s = s;
	a->n = n;
	waiter_init(&a->node);
	a->owned = 0;
}

/* Under s->lock, for an acquire not queued: take the permits if nobody
 * waits (strict FIFO) and they are free. */
static bool sem_take(void *owner, struct waiter *w)
{
	struct semaphore *s = owner;
	size_t n = acquire_of(w)->n;
	if (!wait_list_empty(&s->waiters) || s->permits < n)
		return false;
	s->permits -= n;
	return true;
}

enum poll sem_acquire_poll(struct sem_acquire *a, struct context *cx)
{
	struct semaphore *s = a->s;
	if (waiter_poll(&s->lock, &s->waiters, &a->node, cx, sem_take, s, false) == POLL_PENDING)
		return POLL_PENDING;
	a->node.granted = 0;
	a->owned = 1;
	return POLL_READY;
}

void sem_acquire_drop(struct sem_acquire *a)
{
	struct semaphore *s = a->s;

	unsigned long flags = spin_lock(&s->lock);
	bool was_head = a->node.queued && s->waiters.head == &a->node;
	struct waker mine = waiter_leave(&s->waiters, &a->node);
	if (a->node.granted) {
		a->node.granted = 0;
		s->permits += a->n;
		was_head = true;
	}
	if (was_head) {
		grant_and_unlock(s, flags);   /* the next waiter may fit now */
	} else {
		spin_unlock(&s->lock, flags);
	}
	waker_drop(&mine);
}

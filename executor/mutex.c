/* Async mutex: lock is a future, unlock hands the lock to the first waiter (FIFO). */
#include "mutex.h"

void mutex_init(struct mutex *m)
{
	spin_init(&m->lock);
	m->locked = 0;
	wait_list_init(&m->waiters);
}

bool mutex_try_lock(struct mutex *m)
{
	unsigned long flags = spin_lock(&m->lock);
	bool ok = !m->locked;
	m->locked = 1;
	spin_unlock(&m->lock, flags);
	return ok;
}

/* Caller holds m->lock and gives up ownership: pass it to the first
 * waiter (returning its waker) or mark the mutex free. */
static struct waker hand_over(struct mutex *m)
{
	struct waker w = WAKER_NONE;
	struct waiter *next = wait_list_pop(&m->waiters);
	if (next) {
		next->granted = 1;
		w = next->waker;
		next->waker = WAKER_NONE;
	} else {
		m->locked = 0;
	}
	return w;
}

void mutex_unlock(struct mutex *m)
{
	unsigned long flags = spin_lock(&m->lock);
	EXEC_ASSERT(m->locked);
	struct waker w = hand_over(m);
	spin_unlock(&m->lock, flags);
	waker_wake(&w);
}

static enum poll mutex_lock_vpoll(struct future *f, struct context *cx)
{
	return mutex_lock_poll((struct mutex_lock *)f, cx);
}

static void mutex_lock_vdrop(struct future *f)
{
	mutex_lock_drop((struct mutex_lock *)f);
}

static const struct future_vtable mutex_lock_vtable = {
	mutex_lock_vpoll, mutex_lock_vdrop
};

void mutex_lock_init(struct mutex_lock *l, struct mutex *m)
{
	l->base.vtable = &mutex_lock_vtable;
	l->m = m;
	waiter_init(&l->node);
	l->owned = 0;
}

/* Under m->lock, for a lock future not queued: take the mutex if it is
 * free.  It is free only when nobody waits (unlock hands over), so the
 * free test alone keeps FIFO order. */
static bool mutex_take(void *owner, struct waiter *w)
{
	struct mutex *m = owner;
	(void)w;
	if (m->locked)
		return false;
	m->locked = 1;
	return true;
}

enum poll mutex_lock_poll(struct mutex_lock *l, struct context *cx)
{
	struct mutex *m = l->m;
	if (waiter_poll(&m->lock, &m->waiters, &l->node, cx, mutex_take, m, false) == POLL_PENDING)
		return POLL_PENDING;
	l->node.granted = 0;
	l->owned = 1;
	return POLL_READY;
}

void mutex_lock_drop(struct mutex_lock *l)
{
	struct mutex *m = l->m;
	struct waker next = WAKER_NONE;

	unsigned long flags = spin_lock(&m->lock);
	struct waker mine = waiter_leave(&m->waiters, &l->node);
	if (l->node.granted) {
		l->node.granted = 0;
		next = hand_over(m);
	}
	spin_unlock(&m->lock, flags);
	waker_wake(&next);
	waker_drop(&mine);
}

/* Tasks: state-word transitions, the task waker, join handles and pools. */
#include <string.h>

#include "exec.h"
#include "platform.h"
#include "task.h"

/* ---- References ---------------------------------------------------------*/

void task_ref(struct task *t)
{
	uint64_t old = atomic_fetch_add_explicit(&t->state, TASK_REF_ONE,
	                                         memory_order_relaxed);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	(void)old;
}

/* (12) Drop one reference; the last one returns the storage.  Callable
 * from any context (the source's free must be interrupt-safe). */
void task_unref(struct task *t)
{
	uint64_t old = atomic_fetch_sub_explicit(&t->state, TASK_REF_ONE,
	                                         memory_order_acq_rel);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	if ((old >> TASK_REF_SHIFT) != 1)
		return;
	EXEC_ASSERT(old & TASK_COMPLETE);
	if (t->src)
		t->src->free(t->src, t, t->size);
}

/* memcpy for the small sizes futures and outputs have: 8-byte chunks of
 * constant size compile to plain loads and stores, no library call. */
static inline void copy_small(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (n > 64) {
		memcpy(d, s, n);
		return;
	}
	for (; n >= 8; n -= 8, d += 8, s += 8)
		memcpy(d, s, 8);
	if (n & 4) {
		memcpy(d, s, 4);
		d += 4;
		s += 4;
	}
	if (n & 2) {
		memcpy(d, s, 2);
		d += 2;
		s += 2;
	}
	if (n & 1)
		*d = *s;
}

static struct task_trailer *task_trailer(struct task *t)
{
	return (struct task_trailer *)(void *)((unsigned char *)t + t->trailer_off);
}

/* ---- The waker ------------------------------------------------------------
 * One vtable for every task; data is the task.  A clone is a reference. */

static struct raw_waker tw_clone(const void *data)
{
	task_ref((struct task *)data);
	return (struct raw_waker){ data, &task_waker_vtable };
}

static void tw_wake(const void *data)
{
	struct task *t = (struct task *)data;
	task_wake(t);
	task_unref(t);
}

static void tw_wake_by_ref(const void *data)
{
	task_wake((struct task *)data);
}

static void tw_drop(const void *data)
{
	task_unref((struct task *)data);
}

const struct raw_waker_vtable task_waker_vtable = {
	tw_clone, tw_wake, tw_wake_by_ref, tw_drop,
};

/* (3)/(5) One RMW decides: only the caller that turns an IDLE task into a
 * SCHEDULED one queues it.  RUNNING: the flag tells task_run to requeue.
 * SCHEDULED or COMPLETE: nothing to do (a stray flag on a complete task
 * is never read). */
void task_wake(struct task *t)
{
	atomic_fetch_add_explicit(&t->wakes, 1, memory_order_relaxed);
	uint64_t old = atomic_fetch_or_explicit(&t->state, TASK_SCHEDULED,
	                                        memory_order_acq_rel);
	if (old & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))
		return;
	exec_schedule(t->exec, t);
}

/* ---- Completion -----------------------------------------------------------*/

/* (6)/(7)/(8) Mark complete (cancelled or not), wake the joiner, tell the
 * executor, drop the executor's reference.  Caller: the worker that owns
 * t (RUNNING, or never to be polled again). */
static void task_complete(struct task *t, bool cancelled)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t ns;
	do {
		ns = s & ~(uint64_t)(TASK_RUNNING | TASK_SCHEDULED | TASK_CANCELLED);
		ns |= TASK_COMPLETE | (cancelled ? TASK_CANCELLED : 0);
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, ns,
	                memory_order_acq_rel, memory_order_relaxed));

	if (s & TASK_JOIN_WAKER) {
		/* The joiner set JOIN_WAKER before we set COMPLETE, under the
		 * trailer lock: take the waker, wake it outside the lock. */
		struct task_trailer *tr = task_trailer(t);
		unsigned long fl = spin_lock(&tr->lock);
		struct waker w = tr->join_waker;
		tr->join_waker = WAKER_NONE;
		atomic_fetch_and_explicit(&t->state, ~(uint64_t)TASK_JOIN_WAKER,
		                          memory_order_release);
		spin_unlock(&tr->lock, fl);
		waker_wake(&w);
	}
	exec_task_done(t->exec, t);
	task_unref(t);
}

/* ---- Running --------------------------------------------------------------*/

bool task_run(struct task *t)
{
	struct executor *e = t->exec;
	/* (2) SCHEDULED -> RUNNING in one add: SCHEDULED is bit 0 and set,
	 * RUNNING bit 1 and clear, so +1 clears one and sets the other.
	 * Acquire pairs with the waker's release. */
	uint64_t s = atomic_fetch_add_explicit(&t->state,
	                TASK_RUNNING - TASK_SCHEDULED, memory_order_acquire);
	uint64_t ns;
	EXEC_ASSERT((s & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))
	            == TASK_SCHEDULED);

	if (s & TASK_CANCELLED) {
		/* (7) abort arrived while queued: this is the safe point. */
		future_drop(t->future);
		task_complete(t, true);
		return false;
	}

	/* The context's waker borrows the executor's reference: no count. */
	struct waker w = { { t, &task_waker_vtable } };
	struct context cx = { &w };
	uint64_t t0 = 0;
	bool timing = e->flags & EXEC_POLL_TIMING;
	if (timing)
		t0 = e->plat.now_ns(e->plat.ctx);
	enum poll r = future_poll(t->future, &cx);
	if (timing) {
		uint64_t d = e->plat.now_ns(e->plat.ctx) - t0;
		uint64_t acc = atomic_load_explicit(&t->poll_ns, memory_order_relaxed);
		atomic_store_explicit(&t->poll_ns, acc + d, memory_order_relaxed);
	}
	uint32_t np = atomic_load_explicit(&t->polls, memory_order_relaxed);
	atomic_store_explicit(&t->polls, np + 1, memory_order_relaxed);

	if (r == POLL_READY) {
		/* (6) Ready: publish the output, then COMPLETE (release). */
		if (t->out_size)
			copy_small((unsigned char *)t + t->out_off,
			           (unsigned char *)t->future + t->out_src, t->out_size);
		task_complete(t, false);
		return false;
	}

	/* (4) RUNNING -> IDLE, or stay SCHEDULED if woken meanwhile. */
	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		if (s & TASK_CANCELLED) {
			/* (7) aborted during the poll: now it is not polled. */
			future_drop(t->future);
			task_complete(t, true);
			return false;
		}
		ns = s & ~(uint64_t)TASK_RUNNING;
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, ns,
	                memory_order_acq_rel, memory_order_relaxed));
	return (s & TASK_SCHEDULED) != 0;
}

void task_shutdown(struct task *t)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	EXEC_ASSERT(!(s & (TASK_RUNNING | TASK_COMPLETE)));
	(void)s;
	future_drop(t->future);
	task_complete(t, true);
}

/* ---- Spawning -------------------------------------------------------------*/

static void task_init_common(struct task *t, struct executor *exec,
                             const char *name, uint64_t state)
{
	atomic_init(&t->state, state);
	t->next = NULL;
	t->exec = exec;
	atomic_init(&t->polls, 0);
	atomic_init(&t->wakes, 0);
	atomic_init(&t->poll_ns, 0);
	t->name = name ? name : "?";
	t->reg_prev = t->reg_next = NULL;
}

static enum poll jh_poll(struct future *f, struct context *cx)
{
	return join_handle_poll((struct join_handle *)f, cx);
}

static void jh_drop(struct future *f)
{
	join_handle_detach((struct join_handle *)f);
}

const struct future_vtable join_handle_future_vtable = { jh_poll, jh_drop };

/* (1) */
int task_spawn(struct executor *exec, struct task_src *src,
               const struct task_desc *d, struct join_handle *jh)
{
	size_t size = TASK_SIZE(d->future_size, d->out_size);
	if (jh) {
		jh->base.vtable = &join_handle_future_vtable;
		jh->task = NULL;
		jh->result = JOIN_PENDING;
	}
	if (size > UINT32_MAX || d->out_off + d->out_size > d->future_size)
		return TASK_ETOOBIG;
	struct task *t = src->alloc(src, size);
	if (!t)
		return TASK_ENOMEM;

	uint64_t st = TASK_SCHEDULED | TASK_REF_ONE;
	if (jh)
		st += TASK_JOIN_INTEREST + TASK_REF_ONE;
	task_init_common(t, exec, d->name, st);
	t->src = src;
	t->size = (uint32_t)size;
	t->out_off = (uint32_t)TASK_OUT_OFF(d->future_size);
	t->out_src = (uint32_t)d->out_off;
	t->out_size = (uint32_t)d->out_size;
	t->trailer_off = (uint32_t)TASK_TRAILER_OFF(d->future_size, d->out_size);
	t->future = (struct future *)(void *)((unsigned char *)t + TASK_CORE_OFF);
	copy_small(t->future, d->future, d->future_size);
	struct task_trailer *tr = task_trailer(t);
	spin_init(&tr->lock);
	tr->join_waker = WAKER_NONE;

	if (jh)
		jh->task = t;	/* jh->out stays what the caller set */
	exec_task_added(exec, t);
	exec_schedule(exec, t);
	return TASK_OK;
}

void task_init_borrowed(struct task *t, struct executor *exec,
                        struct future *f, const char *name)
{
	task_init_common(t, exec, name,
	                 TASK_SCHEDULED | TASK_JOIN_INTEREST | 2 * TASK_REF_ONE);
	t->src = NULL;
	t->size = sizeof(*t);
	t->out_off = t->out_src = t->out_size = 0;
	t->trailer_off = 0;
	t->future = f;
	exec_task_added(exec, t);
}

/* ---- Join handles ---------------------------------------------------------*/

static enum poll join_finish(struct join_handle *jh, struct task *t, uint64_t s)
{
	if (s & TASK_CANCELLED) {
		jh->result = JOIN_CANCELLED;
	} else {
		jh->result = JOIN_OK;
		if (jh->out && t->out_size)
			copy_small(jh->out, (unsigned char *)t + t->out_off, t->out_size);
	}
	join_handle_detach(jh);
	return POLL_READY;
}

/* (10) Safety: one joiner per handle (the handle is not shared). */
enum poll join_handle_poll(struct join_handle *jh, struct context *cx)
{
	struct task *t = jh->task;
	if (!t)
		return jh->result != JOIN_PENDING ? POLL_READY : POLL_PENDING;
	uint64_t s = task_state(t);
	if (s & TASK_COMPLETE)
		return join_finish(jh, t, s);

	struct task_trailer *tr = task_trailer(t);
	if (!(s & TASK_JOIN_WAKER)) {
		/* First registration: nobody else touches the slot until
		 * JOIN_WAKER is set, so no lock.  If COMPLETE wins the race
		 * the slot is still ours to empty. */
		tr->join_waker = waker_clone(cx->waker);
		while (!(s & TASK_COMPLETE)) {
			if (atomic_compare_exchange_weak_explicit(&t->state, &s,
			                s | TASK_JOIN_WAKER, memory_order_acq_rel,
			                memory_order_acquire))
				return POLL_PENDING;
		}
		waker_drop(&tr->join_waker);
		return join_finish(jh, t, s);
	}

	/* Re-registration: task_complete may be taking the waker now. */
	struct waker nw = WAKER_NONE, old = WAKER_NONE;
	unsigned long fl = spin_lock(&tr->lock);
	s = atomic_load_explicit(&t->state, memory_order_acquire);
	if ((s & TASK_JOIN_WAKER) && !waker_will_wake(&tr->join_waker, cx->waker)) {
		spin_unlock(&tr->lock, fl);
		nw = waker_clone(cx->waker);	/* a vtable call: not under lock */
		fl = spin_lock(&tr->lock);
		s = atomic_load_explicit(&t->state, memory_order_acquire);
		if (s & TASK_JOIN_WAKER) {
			old = tr->join_waker;
			tr->join_waker = nw;
			nw = WAKER_NONE;
		}
	}
	spin_unlock(&tr->lock, fl);
	waker_drop(&nw);
	waker_drop(&old);
	/* JOIN_WAKER gone means task_complete took (and woke) the waker:
	 * COMPLETE is set. */
	if (!(s & TASK_JOIN_WAKER))
		return join_finish(jh, t, s);
	return POLL_PENDING;
}

/* (11) Safety: the handle's owner only (not concurrently with a poll). */
void join_handle_detach(struct join_handle *jh)
{
	struct task *t = jh->task;
	if (!t)
		return;
	jh->task = NULL;
	uint64_t s = atomic_fetch_and_explicit(&t->state,
	        ~(uint64_t)(TASK_JOIN_INTEREST | TASK_JOIN_WAKER),
	        memory_order_acq_rel);
	if (s & TASK_JOIN_WAKER) {
		/* Registered and maybe being taken by task_complete right now:
		 * whoever comes second under the lock finds WAKER_NONE. */
		struct task_trailer *tr = task_trailer(t);
		unsigned long fl = spin_lock(&tr->lock);
		struct waker w = tr->join_waker;
		tr->join_waker = WAKER_NONE;
		spin_unlock(&tr->lock, fl);
		waker_drop(&w);
	}
	task_unref(t);
}

/* (9) */
void join_handle_abort(struct join_handle *jh)
{
	struct task *t = jh->task;
	if (!t)
		return;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t ns;
	do {
		if (s & (TASK_COMPLETE | TASK_CANCELLED))
			return;
		ns = s | TASK_CANCELLED;
		if (!(s & (TASK_RUNNING | TASK_SCHEDULED)))
			ns |= TASK_SCHEDULED;	/* idle: queue it to drop it */
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, ns,
	                memory_order_acq_rel, memory_order_relaxed));
	if (!(s & (TASK_RUNNING | TASK_SCHEDULED)))
		exec_schedule(t->exec, t);
}

/* ---- Static pools ---------------------------------------------------------*/

void *task_pool_alloc(struct task_src *src, size_t size)
{
	struct task_pool *p = (struct task_pool *)src;
	void *slot = NULL;
	unsigned long fl = spin_lock(&p->lock);
	if (size > p->slot_size) {
		/* too big for this pool: counted as a failure below */
	} else if (p->free_list) {
		slot = p->free_list;
		memcpy(&p->free_list, slot, sizeof(void *));
	} else if (p->fresh < p->count) {
		slot = p->mem + p->fresh * p->slot_size;
		p->fresh++;
	}
	if (slot) {
		p->in_use++;
		if (p->in_use > p->high_water)
			p->high_water = p->in_use;
	} else {
		p->fail_count++;
	}
	spin_unlock(&p->lock, fl);
	return slot;
}

void task_pool_free(struct task_src *src, void *slot, size_t size)
{
	struct task_pool *p = (struct task_pool *)src;
	(void)size;
	unsigned long fl = spin_lock(&p->lock);
	memcpy(slot, &p->free_list, sizeof(void *));
	p->free_list = slot;
	p->in_use--;
	spin_unlock(&p->lock, fl);
}

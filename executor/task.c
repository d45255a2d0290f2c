/* Tasks: state-word transitions, the task waker, join handles and pools. */
#include <string.h>

#include "exec.h"
#include "platform.h"
#include "task.h"

/* ---- References ---------------------------------------------------------*/

static inline void ref_inl(struct task *t)
{
	uint64_t old = atomic_fetch_add_explicit(&t->state, TASK_REF_ONE,
	                                         memory_order_relaxed);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	(void)old;
}

void task_ref(struct task *t)
{
	ref_inl(t);
}

static inline void pool_free_inl(struct task_pool *p, void *slot);
static inline void *pool_alloc_inl(struct task_pool *p, size_t size);

/* (12) The count reached 0: nobody else can see t any more.  A static
 * pool's free is called directly (inline) rather than through the
 * storage vtable: that is the common case, and it saves a call. */
static inline void task_release(struct task *t)
{
	struct task_src *src = t->src;
	if (src && src->free == task_pool_free)
		pool_free_inl((struct task_pool *)src, t);
	else if (src)
		src->free(src, t, t->size);
}

/* (12) Drop one reference; the last one returns the storage.  Callable
 * from any context (the source's free must be interrupt-safe). */
static inline void unref_inl(struct task *t)
{
	uint64_t old = atomic_fetch_sub_explicit(&t->state, TASK_REF_ONE,
	                                         memory_order_acq_rel);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	if ((old >> TASK_REF_SHIFT) != 1)
		return;
	EXEC_ASSERT(old & TASK_COMPLETE);
	task_release(t);
}

void task_unref(struct task *t)
{
	unref_inl(t);
}

/* memcpy for the small sizes futures and outputs have, without a loop
 * or a library call: two possibly overlapping words cover any size from
 * one word to two (4..8 bytes: two 4-byte copies; 8..16: two 8-byte;
 * 16..32: two 16-byte halves), so a copy is a few loads and stores
 * whatever the size. */
static inline void copy_small(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (n >= 8 && n <= 32) {
		if (n > 16) {
			memcpy(d, s, 8);
			memcpy(d + 8, s + 8, 8);
			d += n - 16;
			s += n - 16;
			n = 16;
		}
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
		return;
	}
	if (n >= 4 && n < 8) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
		return;
	}
	memcpy(d, s, n);
}

static inline struct task_trailer *task_trailer(struct task *t)
{
	return (struct task_trailer *)(void *)((unsigned char *)t + t->trailer_off);
}

/* (3)/(5) One RMW decides: only the caller that turns an IDLE task into a
 * SCHEDULED one queues it.  RUNNING: the flag tells task_run to requeue.
 * SCHEDULED or COMPLETE: nothing to do (a stray flag on a complete task
 * is never read). */
static inline void wake_inl(struct task *t)
{
	atomic_fetch_add_explicit(&t->wakes, 1, memory_order_relaxed);
	uint64_t old = atomic_fetch_or_explicit(&t->state, TASK_SCHEDULED,
	                                        memory_order_acq_rel);
	if (old & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))
		return;
	struct executor *e = t->exec;
	exec_schedule_on(e, exec_current(e), t);
}

void task_wake(struct task *t)
{
	wake_inl(t);
}

/* (5) + (12) wake by value: set SCHEDULED and drop the waker's reference
 * in one CAS.  If this turned an IDLE task into a SCHEDULED one, the task
 * is not complete, so the executor's reference still keeps it alive
 * while we queue it; if it was the last reference the task is complete
 * (only then can the count reach 0) and nobody queues it. */
static inline void wake_by_val_inl(struct task *t, struct exec_worker *w,
                                   bool w_known)
{
	atomic_fetch_add_explicit(&t->wakes, 1, memory_order_relaxed);
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
	                (s | TASK_SCHEDULED) - TASK_REF_ONE, memory_order_acq_rel,
	                memory_order_relaxed))
		;
	EXEC_ASSERT((s >> TASK_REF_SHIFT) != 0);
	if (!(s & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))) {
		struct executor *e = t->exec;
		exec_schedule_on(e, w_known ? w : exec_current(e), t);
	} else if ((s >> TASK_REF_SHIFT) == 1) {
		EXEC_ASSERT(s & TASK_COMPLETE);
		task_release(t);
	}
}

/* ---- The waker ------------------------------------------------------------
 * One vtable for every task; data is the task.  A clone is a reference. */

static struct raw_waker tw_clone(const void *data)
{
	ref_inl((struct task *)data);
	return (struct raw_waker){ data, &task_waker_vtable };
}

static void tw_wake(const void *data)
{
	wake_by_val_inl((struct task *)data, NULL, false);
}

static void tw_wake_by_ref(const void *data)
{
	wake_inl((struct task *)data);
}

static void tw_drop(const void *data)
{
	unref_inl((struct task *)data);
}

const struct raw_waker_vtable task_waker_vtable = {
	tw_clone, tw_wake, tw_wake_by_ref, tw_drop,
};

/* ---- Completion -----------------------------------------------------------*/

/* (8) Wake the joiner's waker by value, from the worker w that ran the
 * completing task (NULL: not on a worker).  When it is one of our wakers
 * for a task of the same executor, this is task_wake + task_unref with
 * the worker already known: no call through the vtable and no
 * platform current() lookup.  Any other waker takes the vtable. */
static inline void wake_joiner(struct waker *jw, struct exec_worker *w)
{
	struct task *j = (struct task *)jw->raw.data;
	if (w && task_waker_is_ours(jw) && j->exec == w->exec) {
		wake_by_val_inl(j, w, true);
		return;
	}
	waker_wake(jw);
}

/* (6)/(7)/(8) Mark complete (cancelled or not), wake the joiner, tell the
 * executor, drop the executor's reference.  Caller: the worker w that
 * owns t (RUNNING), or, with w == NULL, whoever owns a task that will
 * never be polled again (shutdown). */
static void task_complete(struct task *t, bool cancelled, struct exec_worker *w)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	uint64_t ns;
	do {
		ns = s & ~(uint64_t)(TASK_RUNNING | TASK_SCHEDULED | TASK_CANCELLED);
		ns |= TASK_COMPLETE | (cancelled ? TASK_CANCELLED : 0);
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, ns,
	                memory_order_acq_rel, memory_order_relaxed));

	uint64_t rel = TASK_REF_ONE;
	if (s & TASK_JOIN_WAKER) {
		/* (8) COMPLETE with JOIN_WAKER: the slot is ours alone until we
		 * clear JOIN_WAKER below.  Take the waker, wake it by value. */
		struct task_trailer *tr = task_trailer(t);
		struct waker jw = tr->join_waker;
		tr->join_waker = WAKER_NONE;
		wake_joiner(&jw, w);
		rel += TASK_JOIN_WAKER;
	}
	exec_task_done(t->exec, t);
	/* Clear JOIN_WAKER and drop the executor's reference in one RMW. */
	uint64_t old = atomic_fetch_sub_explicit(&t->state, rel,
	                                         memory_order_acq_rel);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	if ((old >> TASK_REF_SHIFT) == 1)
		task_release(t);
}

/* ---- Running --------------------------------------------------------------*/

/* A poll measured with the platform clock (EXEC_POLL_TIMING); kept out
 * of task_run so that the untimed path saves no extra registers (on
 * x86-64: 14 instructions per spawn+join; the kernel, which times every
 * poll, pays a call instead, about 24 instructions per poll on riscv64). */
__attribute__((noinline))
static enum poll poll_timed(struct task *t, struct context *cx)
{
	struct executor *e = t->exec;
	uint64_t t0 = e->plat.now_ns(e->plat.ctx);
	enum poll r = future_poll(t->future, cx);
	uint64_t d = e->plat.now_ns(e->plat.ctx) - t0;
	uint64_t acc = atomic_load_explicit(&t->poll_ns, memory_order_relaxed);
	atomic_store_explicit(&t->poll_ns, acc + d, memory_order_relaxed);
	return r;
}

bool task_run(struct task *t, struct exec_worker *w)
{
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
		task_complete(t, true, w);
		return false;
	}

	/* The context's waker borrows the executor's reference: no count. */
	struct waker tw = { { t, &task_waker_vtable } };
	struct context cx = { &tw };
	enum poll r;
	if (t->exec->flags & EXEC_POLL_TIMING)
		r = poll_timed(t, &cx);
	else
		r = future_poll(t->future, &cx);
	uint32_t np = atomic_load_explicit(&t->polls, memory_order_relaxed);
	atomic_store_explicit(&t->polls, np + 1, memory_order_relaxed);

	if (r == POLL_READY) {
		/* (6) Ready: publish the output, then COMPLETE (release). */
		if (t->out_size)
			copy_small((unsigned char *)t + t->out_off,
			           (unsigned char *)t->future + t->out_src, t->out_size);
		task_complete(t, false, w);
		return false;
	}

	/* (4) RUNNING -> IDLE, or stay SCHEDULED if woken meanwhile. */
	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		if (s & TASK_CANCELLED) {
			/* (7) aborted during the poll: now it is not polled. */
			future_drop(t->future);
			task_complete(t, true, w);
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
	task_complete(t, true, NULL);
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
	size_t out_off = TASK_OUT_OFF(d->future_size);
	size_t trailer_off = out_off + TASK_ALIGN_UP(d->out_size, 8);
	size_t size = TASK_ALIGN_UP(trailer_off + sizeof(struct task_trailer), 16);
	uint64_t st = TASK_SCHEDULED | TASK_REF_ONE;
	if (jh) {
		jh->base.vtable = &join_handle_future_vtable;
		jh->task = NULL;
		jh->result = JOIN_PENDING;
		st += TASK_JOIN_INTEREST + TASK_REF_ONE;
	}
	if (size > UINT32_MAX || d->out_off + d->out_size > d->future_size)
		return TASK_ETOOBIG;
	/* A static pool is allocated from directly, not through the vtable,
	 * and its slot is the task's registry entry: no list to join. */
	struct task *t;
	uint16_t reg_idx;
	if (src->alloc == task_pool_alloc) {
		t = pool_alloc_inl((struct task_pool *)src, size);
		reg_idx = TASK_REG_POOL;
	} else {
		t = src->alloc(src, size);
		reg_idx = 0;
	}
	if (!t)
		return TASK_ENOMEM;

	/* Not yet visible to anyone but task_pools_each, which looks only
	 * at a slot whose state word says live: plain stores, then the
	 * state word last, with release. */
	t->next = NULL;
	t->exec = exec;
	t->future = (struct future *)(void *)((unsigned char *)t + TASK_CORE_OFF);
	t->src = src;
	t->size = (uint32_t)size;
	t->out_off = (uint32_t)out_off;
	t->out_src = (uint32_t)d->out_off;
	t->out_size = (uint32_t)d->out_size;
	t->trailer_off = (uint32_t)trailer_off;
	t->pin = (uint16_t)(d->pin <= EXEC_MAX_WORKERS ? d->pin : 0);
	atomic_init(&t->polls, 0);
	atomic_init(&t->wakes, 0);
	atomic_init(&t->poll_ns, 0);
	t->name = d->name ? d->name : "?";
	copy_small(t->future, d->future, d->future_size);
	task_trailer(t)->join_waker = WAKER_NONE;
	t->reg_idx = reg_idx;
	atomic_store_explicit(&t->state, st, memory_order_release);

	if (jh)
		jh->task = t;	/* jh->out stays what the caller set */
	/* Spawning is not a wake: never from an interrupt handler, so the
	 * worker found here is the one running us (or NULL: another thread). */
	struct exec_worker *w = exec_current(exec);
	exec_task_added(exec, w, t);
	exec_schedule_on(exec, w, t);
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
	t->pin = 0;
	t->future = f;
	t->reg_idx = 0;
	exec_task_added(exec, NULL, t);
}

/* ---- Join handles ---------------------------------------------------------*/

/* (11) for a COMPLETE task: give up interest and the handle's reference
 * in one fetch_sub (JOIN_INTEREST is set: only the handle clears it).
 * The join waker slot needs no look: with JOIN_WAKER clear it is empty
 * (whoever clears the bit empties the slot: the completer, or the
 * handle itself before it gets here), and with JOIN_WAKER set the
 * completer still owns it and holds its own reference until it is done. */
static inline void join_release_complete(struct task *t, uint64_t s)
{
	EXEC_ASSERT((s & TASK_JOIN_WAKER) ||
	            waker_is_none(&task_trailer(t)->join_waker));
	(void)s;
	uint64_t old = atomic_fetch_sub_explicit(&t->state,
	                TASK_JOIN_INTEREST + TASK_REF_ONE, memory_order_acq_rel);
	EXEC_ASSERT((old & TASK_JOIN_INTEREST) && (old >> TASK_REF_SHIFT) != 0);
	if ((old >> TASK_REF_SHIFT) == 1)
		task_release(t);
}

/* The task is COMPLETE (s, loaded with acquire): take the result and
 * release the handle's interest and reference. */
static inline enum poll join_finish(struct join_handle *jh, struct task *t,
                                    uint64_t s)
{
	if (s & TASK_CANCELLED) {
		jh->result = JOIN_CANCELLED;
	} else {
		jh->result = JOIN_OK;
		if (jh->out && t->out_size)
			copy_small(jh->out, (unsigned char *)t + t->out_off, t->out_size);
	}
	jh->task = NULL;
	join_release_complete(t, s);
	return POLL_READY;
}

/* LAB 3 BEGIN */
/* waker_clone, with our own wakers (the usual joiner) cloned inline: a
 * clone is one reference on the task. */
static inline struct waker clone_inl(const struct waker *w)
{
	if (task_waker_is_ours(w)) {
		ref_inl((struct task *)w->raw.data);
		return *w;
	}
	return waker_clone(w);
}

/* (10) Everything but the two common polls below: polled again while
 * the slot holds a waker, a foreign waker, or COMPLETE arriving while we
 * publish.  Out of line, so that the common polls save fewer registers. */
__attribute__((noinline))
static enum poll join_poll_slow(struct join_handle *jh, struct task *t,
                                uint64_t s, struct context *cx)
{
	struct task_trailer *tr = task_trailer(t);
	if (s & TASK_JOIN_WAKER) {
		/* Polled again: take the slot back first (fails once COMPLETE;
		 * then the completer owns the slot and we only read the
		 * output).  The same waker stays without a clone. */
		do {
			if (s & TASK_COMPLETE)
				return join_finish(jh, t, s);
		} while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
		                s & ~(uint64_t)TASK_JOIN_WAKER, memory_order_acq_rel,
		                memory_order_acquire));
		s &= ~(uint64_t)TASK_JOIN_WAKER;
		if (!waker_will_wake(&tr->join_waker, cx->waker)) {
			waker_drop(&tr->join_waker);
			tr->join_waker = clone_inl(cx->waker);
		}
	} else if (waker_is_none(&tr->join_waker)) {
		/* JOIN_WAKER clear and not COMPLETE: the slot is ours, empty. */
		tr->join_waker = clone_inl(cx->waker);
	}
	/* (else: the fast path below already stored our clone) */
	while (!(s & TASK_COMPLETE))
		if (atomic_compare_exchange_weak_explicit(&t->state, &s,
		                s | TASK_JOIN_WAKER, memory_order_acq_rel,
		                memory_order_acquire))
			return POLL_PENDING;
	/* COMPLETE came first: the slot is still ours to empty. */
	waker_drop(&tr->join_waker);
	return join_finish(jh, t, s);
}

/* (10) Safety: one joiner per handle (the handle is not shared).
 * The two common polls inline: the task is complete (take the output),
 * or this is the first wait with one of our wakers (store a clone, set
 * JOIN_WAKER with one CAS). */
enum poll join_handle_poll(struct join_handle *jh, struct context *cx)
{
	struct task *t = jh->task;
	if (!t)
		return jh->result != JOIN_PENDING ? POLL_READY : POLL_PENDING;
	uint64_t s = task_state(t);
	if (s & TASK_COMPLETE)
		return join_finish(jh, t, s);
	if (!(s & TASK_JOIN_WAKER)) {
		/* JOIN_WAKER clear and not COMPLETE: the slot is ours, empty. */
		struct task_trailer *tr = task_trailer(t);
		if (task_waker_clone_ours(cx->waker, &tr->join_waker) &&
		    atomic_compare_exchange_strong_explicit(&t->state, &s,
		                s | TASK_JOIN_WAKER, memory_order_acq_rel,
		                memory_order_acquire))
			return POLL_PENDING;
	}
	return join_poll_slow(jh, t, s, cx);
}
/* LAB 3 STUB
// Stub: no waker hand-over.  The joiner wakes itself and is polled again
// and again until the task is COMPLETE: correct, but it burns a worker.
// (10) Safety: one joiner per handle (the handle is not shared).
enum poll join_handle_poll(struct join_handle *jh, struct context *cx)
{
	EXEC_LAB_TODO("LAB 3: implement join_handle_poll (executor/task.c)");
	struct task *t = jh->task;
	if (!t)
		return jh->result != JOIN_PENDING ? POLL_READY : POLL_PENDING;
	uint64_t s = task_state(t);
	if (s & TASK_COMPLETE)
		return join_finish(jh, t, s);
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}
   LAB 3 END */

/* (11) Safety: the handle's owner only (not concurrently with a poll). */
void join_handle_detach(struct join_handle *jh)
{
	struct task *t = jh->task;
	if (!t)
		return;
	jh->task = NULL;
	struct task_trailer *tr = task_trailer(t);
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t ns;
	if (s & TASK_COMPLETE) {
		join_release_complete(t, s);
		return;
	}
	/* Not complete (yet): give up interest, and the slot unless the
	 * completer got there first; our reference keeps t alive meanwhile. */
	bool held;
	do {
		held = (s & (TASK_JOIN_WAKER | TASK_COMPLETE)) ==
		       (TASK_JOIN_WAKER | TASK_COMPLETE);
		ns = s & ~(uint64_t)TASK_JOIN_INTEREST;
		if (!held)
			ns &= ~(uint64_t)TASK_JOIN_WAKER;
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, ns,
	                memory_order_acq_rel, memory_order_acquire));
	if (!held)
		waker_drop(&tr->join_waker);
	task_unref(t);
}

/* (9) */
void join_handle_abort(struct join_handle *jh)
{
	/* LAB 3 BEGIN */
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
	/* LAB 3 STUB
	// Stub: cancellation is not supported; the task runs on.
	EXEC_LAB_TODO("LAB 3: implement join_handle_abort (executor/task.c)");
	(void)jh;
	   LAB 3 END */
}

/* ---- Static pools ---------------------------------------------------------*/

_Thread_local unsigned task_spare_hint;

static inline void pool_count_alloc(struct task_pool *p)
{
	size_t n = atomic_fetch_add_explicit(&p->in_use, 1, memory_order_relaxed) + 1;
	if (n > atomic_load_explicit(&p->high_water, memory_order_relaxed)) {
		size_t hw = atomic_load_explicit(&p->high_water, memory_order_relaxed);
		while (n > hw && !atomic_compare_exchange_weak_explicit(&p->high_water,
		                &hw, n, memory_order_relaxed, memory_order_relaxed))
			;
	}
}

struct task_pool *_Atomic task_pools;

/* Once per pool, at its first slot: push it on task_pools (lock-free,
 * release: next_pool before the pool is seen). */
static void pool_link(struct task_pool *p)
{
	struct task_pool *h = atomic_load_explicit(&task_pools, memory_order_relaxed);
	do
		p->next_pool = h;
	while (!atomic_compare_exchange_weak_explicit(&task_pools, &h, p,
	                memory_order_release, memory_order_relaxed));
}

/* A reference on the task in slot t if it is live (a count and not
 * COMPLETE): the count cannot rise from 0 (a free slot), so t is not
 * freed or reused while we hold it.  Acquire: the spawn's stores. */
static bool slot_ref_live(struct task *t)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		if (!(s >> TASK_REF_SHIFT) || (s & TASK_COMPLETE))
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
	                s + TASK_REF_ONE, memory_order_acquire, memory_order_relaxed));
	return true;
}

void task_pools_each(struct executor *exec,
                     void (*fn)(void *arg, struct task *t), void *arg)
{
	for (struct task_pool *p = atomic_load_explicit(&task_pools,
	                memory_order_acquire); p; p = p->next_pool) {
		/* Slots never handed out are zero: not live. */
		for (size_t i = 0; i < p->count; i++) {
			struct task *t = (struct task *)(void *)(p->mem + i * p->slot_size);
			if (!slot_ref_live(t))
				continue;
			if (t->exec == exec)
				fn(arg, t);
			unref_inl(t);
		}
	}
}

__attribute__((noinline))
static void *pool_alloc_slow(struct task_pool *p, size_t size)
{
	void *slot = NULL;
	if (size > p->slot_size) {
		atomic_fetch_add_explicit(&p->fail_count, 1, memory_order_relaxed);
		return NULL;
	}
	bool first = false;
	unsigned long fl = spin_lock(&p->lock);
	if (p->free_list) {
		slot = p->free_list;
		p->free_list = ((struct task *)slot)->next;
	} else if (p->fresh < p->count) {
		slot = p->mem + p->fresh * p->slot_size;
		first = p->fresh++ == 0;
	}
	spin_unlock(&p->lock, fl);
	if (first)
		pool_link(p);
	/* Empty: a free slot may still sit in another worker's spare word. */
	for (unsigned i = 0; !slot && i < TASK_POOL_SPARES; i++)
		slot = atomic_exchange_explicit(&p->spare[i], NULL,
		                                memory_order_acquire);
	if (slot)
		pool_count_alloc(p);
	else
		atomic_fetch_add_explicit(&p->fail_count, 1, memory_order_relaxed);
	return slot;
}

/* Fast path: this worker's spare slot (acquire: the freer's writes). */
static inline void *pool_alloc_inl(struct task_pool *p, size_t size)
{
	if (size <= p->slot_size) {
		void *slot = atomic_exchange_explicit(
		        &p->spare[task_spare_hint % TASK_POOL_SPARES], NULL,
		        memory_order_acquire);
		if (slot) {
			pool_count_alloc(p);
			return slot;
		}
	}
	return pool_alloc_slow(p, size);
}

void *task_pool_alloc(struct task_src *src, size_t size)
{
	return pool_alloc_inl((struct task_pool *)src, size);
}

__attribute__((noinline))
static void pool_free_slow(struct task_pool *p, void *slot)
{
	/* The link goes in the task's queue link, not the first word: the
	 * state word stays readable by task_pools_each (count 0: free). */
	unsigned long fl = spin_lock(&p->lock);
	((struct task *)slot)->next = p->free_list;
	p->free_list = slot;
	spin_unlock(&p->lock, fl);
}

static inline void pool_free_inl(struct task_pool *p, void *slot)
{
	atomic_fetch_sub_explicit(&p->in_use, 1, memory_order_relaxed);
	/* Release: our writes to the slot before its next owner's. */
	slot = atomic_exchange_explicit(&p->spare[task_spare_hint % TASK_POOL_SPARES],
	                                slot, memory_order_acq_rel);
	if (slot)
		pool_free_slow(p, slot);
}

void task_pool_free(struct task_src *src, void *slot, size_t size)
{
	(void)size;
	pool_free_inl((struct task_pool *)src, slot);
}

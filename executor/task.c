/* Tasks: state-word transitions, join handles and pools (the task waker is in waker.c). */
#include <string.h>

#include "exec.h"
#include "hooks.h"
#include "task.h"
#include "task_impl.h"

/* The transitions themselves are inline in task_impl.h, shared with the
 * worker loop; these are their out-of-line forms. */

void task_ref(struct task *t)
{
	task_ref_inl(t);
}

void task_unref(struct task *t)
{
	task_unref_inl(t);
}

/* ---- Completion and running -------------------------------------------------*/

void task_complete(struct task *t, bool cancelled, struct exec_worker *w)
{
	task_complete_inl(t, cancelled, w);
}

/* The worker loop runs task_run_inl; this is the same for tests (and a
 * symbol to break on: `break task_run_inl` catches the inlined copy). */
bool task_run(struct task *t, struct exec_worker *w)
{
	return task_run_inl(t, w, w && w->poll_timing);
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
#ifdef EXEC_CHECK
	atomic_init(&t->clones, 0);
	atomic_init(&t->drops, 0);
	atomic_init(&t->requeues, 0);
#endif
	atomic_init(&t->poll_ns, 0);
	t->name = name ? name : "?";
	t->reg_prev = t->reg_next = NULL;
	EXEC_TR_SPAWN(t, t->name);
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

/* (1) The general spawn: task_spawn's inline path (task_impl.h) comes
 * here for any source but a static pool, an empty spare word, a pinned
 * task or an error. */
int task_spawn_slow(struct executor *exec, struct task_src *src,
                    const struct task_desc *d, struct join_handle *jh)
{
	size_t size = TASK_SIZE(d->future_size);
	if (jh) {
		/* A failed spawn leaves a handle with no task (join: Pending,
		 * detach: nothing). */
		jh->base.vtable = &join_handle_future_vtable;
		jh->task = NULL;
		jh->result = JOIN_PENDING;
	}
	if (size > UINT32_MAX || d->out_off + d->out_size > d->future_size)
		return TASK_ETOOBIG;
	/* A static pool is allocated from directly, not through the vtable,
	 * and its slot is the task's registry entry: no list to join. */
	struct task *t;
	uint16_t reg_idx;
	if (src->alloc == task_pool_alloc) {
		t = task_pool_alloc_inl((struct task_pool *)src, size);
		reg_idx = TASK_REG_POOL;
	} else {
		t = src->alloc(src, size);
		reg_idx = 0;
	}
	if (!t)
		return TASK_ENOMEM;
	task_fill(t, exec, src, d, reg_idx, jh, TASK_SCHEDULED);
	/* Spawning is not a wake: never from an interrupt handler, so the
	 * worker found here is the one running us (or NULL: another thread). */
	struct exec_worker *w = exec_current(exec);
	exec_task_added(exec, w, t);
	exec_schedule_on(exec, w, t);
	return TASK_OK;
}

/* (1)+(2), then (4) or (6), in the caller (task.h).  The task is
 * registered (exec_task_added) only if it outlives the poll: a future
 * Ready at once costs no registry or live-count traffic. */
enum poll task_spawn_polled(struct executor *exec, struct task_src *src, struct task *t,
                            const struct task_desc *d)
{
	uint16_t reg_idx = src->alloc == task_pool_alloc ? TASK_REG_POOL : 0;
	EXEC_ASSERT(d->out_off + d->out_size <= d->future_size && d->pin == 0);
	task_fill(t, exec, src, d, reg_idx, NULL, TASK_RUNNING);

	/* The waker borrows the executor's reference, as a worker's does. */
	struct waker wk = { .raw = { .data = t, .vtable = &task_waker_vtable } };
	struct context cx = { .waker = &wk };
	EXEC_TR_POLL_START(t);
	enum poll r = future_poll(t->future, &cx);
	EXEC_TR_POLL_END(t, r == POLL_READY);
	atomic_store_explicit(&t->polls, 1, memory_order_relaxed);

	if (r == POLL_READY) {
		/* (6) without a joiner or a registry entry: COMPLETE + READY
		 * and the executor's reference gone in one RMW.  Clones of
		 * the waker taken during the poll keep the storage until
		 * they are dropped. */
		uint64_t old = atomic_fetch_add_explicit(&t->state,
		        TASK_COMPLETE + TASK_READY - TASK_RUNNING - TASK_REF_ONE,
		        memory_order_acq_rel);
#ifdef EXEC_CHECK
		exec_check_done(t);
#endif
		if (task_ref_was_last(old))
			task_release(t, old);
		return POLL_READY;
	}
	/* (4) It lives on: registered and counted before anyone else can
	 * run it (a wake after the RMW below may queue it on another
	 * worker, which may complete it). */
	struct exec_worker *w = exec_current(exec);
	exec_task_added(exec, w, t);
	uint64_t s = atomic_fetch_sub_explicit(&t->state, TASK_RUNNING,
	                                       memory_order_acq_rel);
	if (s & TASK_SCHEDULED)
		exec_schedule_on(exec, w, t);	/* woken during the poll */
	return POLL_PENDING;
}

void task_init_borrowed(struct task *t, struct executor *exec,
                        struct future *f, const char *name)
{
	task_init_common(t, exec, name,
	                 TASK_SCHEDULED | TASK_JOIN_INTEREST | 2 * TASK_REF_ONE);
	t->src = NULL;
	t->size = sizeof(*t);
	t->out_off = t->out_size = 0;
	t->trailer_off = 0;
	t->pin = 0;
	t->future = f;
	t->reg_idx = 0;
	exec_task_added(exec, NULL, t);
}

/* ---- Join handles ---------------------------------------------------------*/

/* LAB 3 BEGIN */
/* waker_clone, with our own wakers (the usual joiner) cloned inline: a
 * clone is one reference on the task. */
static inline struct waker clone_inl(const struct waker *w)
{
	if (task_waker_is_ours(w)) {
		task_ref_inl((struct task *)w->raw.data);
		EXEC_CHECK_COUNT(((struct task *)w->raw.data)->clones);
		return *w;
	}
	return waker_clone(w);
}

/* (10) Everything but the two common polls that join_handle_poll
 * (task_impl.h) does inline: polled again while the slot holds a waker,
 * a foreign waker, COMPLETE arriving while we publish, a consumed
 * handle.  Safety: one joiner per handle (the handle is not shared). */
enum poll join_handle_poll_slow(struct join_handle *jh, struct context *cx)
{
	struct task *t = jh->task;
	if (!t)
		return jh->result != JOIN_PENDING ? POLL_READY : POLL_PENDING;
	uint64_t s = task_state(t);
	struct task_trailer *tr = task_trailer(t);
	if (s & TASK_COMPLETE) {
		/* JOIN_WAKER clear: the slot is ours, and may hold the clone
		 * the inline path stored before its CAS lost to COMPLETE. */
		if (!(s & TASK_JOIN_WAKER))
			waker_drop(&tr->join_waker);
		return task_join_finish(jh, t, s);
	}
	if (s & TASK_JOIN_WAKER) {
		/* Polled again: take the slot back first (fails once COMPLETE;
		 * then the completer owns the slot and we only read the
		 * output).  The same waker stays without a clone. */
		do {
			if (s & TASK_COMPLETE)
				return task_join_finish(jh, t, s);
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
	/* (else: the inline fast path already stored our clone, then
	 * lost its CAS to COMPLETE) */
	while (!(s & TASK_COMPLETE))
		if (atomic_compare_exchange_weak_explicit(&t->state, &s,
		                s | TASK_JOIN_WAKER, memory_order_acq_rel,
		                memory_order_acquire))
			return POLL_PENDING;
	/* COMPLETE came first: the slot is still ours to empty. */
	waker_drop(&tr->join_waker);
	return task_join_finish(jh, t, s);
}
/* LAB 3 STUB
// Stub: no waker hand-over.  The joiner wakes itself and is polled again
// and again until the task is COMPLETE: correct, but it burns a worker.
// (10) Safety: one joiner per handle (the handle is not shared).
enum poll join_handle_poll_slow(struct join_handle *jh, struct context *cx)
{
	EXEC_LAB_TODO("LAB 3: implement join_handle_poll_slow (executor/task.c)");
	struct task *t = jh->task;
	if (!t)
		return jh->result != JOIN_PENDING ? POLL_READY : POLL_PENDING;
	uint64_t s = task_state(t);
	if (s & TASK_COMPLETE)
		return task_join_finish(jh, t, s);
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
		task_join_release_complete(t, s);
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
	/* +CANCELLED is also a wake (+SCHEDULED): an idle task is queued
	 * here, a running one is queued again by task_run after its poll
	 * (as for (3)), and that run drops it.  Setting both in one RMW
	 * leaves task_run one RMW at the end of a poll: a second one (to
	 * queue an aborted task) would leave a window in which a wake
	 * queues the task, another worker starts it, and the second RMW
	 * queues the running task again (executor/model/task.pml,
	 * BAD_ABORT_RUNNING). */
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		if (s & (TASK_COMPLETE | TASK_CANCELLED))
			return;
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
	                s | TASK_CANCELLED | TASK_SCHEDULED,
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
			task_unref_inl(t);
		}
	}
}

/* Caller holds p->lock. */
static void *free_list_pop(struct task_pool *p)
{
	void *slot = p->free_list;
	if (slot)
		p->free_list = ((struct task *)slot)->next;
	return slot;
}

void *task_pool_alloc_slow(struct task_pool *p, size_t size)
{
	void *slot = NULL;
	if (size > p->slot_size) {
		atomic_fetch_add_explicit(&p->fail_count, 1, memory_order_relaxed);
		return NULL;
	}
	bool first = false;
	unsigned long fl = spin_lock(&p->lock);
	slot = free_list_pop(p);
	spin_unlock(&p->lock, fl);
	/* No free slot on the list: one may still sit in another worker's
	 * spare word; only then carve a new one (so fresh is the most slots
	 * ever in use at once: task_pool_high_water). */
	for (unsigned i = 0; !slot && i < TASK_POOL_SPARES; i++)
		slot = atomic_exchange_explicit(&p->spare[i], NULL,
		                                memory_order_acquire);
	if (!slot) {
		fl = spin_lock(&p->lock);
		slot = free_list_pop(p);	/* freed meanwhile? */
		if (!slot && p->fresh < p->count) {
			slot = p->mem + p->fresh * p->slot_size;
			first = p->fresh++ == 0;
		}
		spin_unlock(&p->lock, fl);
	}
	if (first)
		pool_link(p);
	if (!slot)
		atomic_fetch_add_explicit(&p->fail_count, 1, memory_order_relaxed);
	return slot;
}

size_t task_pool_high_water(struct task_pool *p)
{
	unsigned long fl = spin_lock(&p->lock);
	size_t fresh = p->fresh;
	spin_unlock(&p->lock, fl);
	return fresh;
}

size_t task_pool_in_use(struct task_pool *p)
{
	size_t fresh = task_pool_high_water(p), n = 0;
	for (size_t i = 0; i < fresh; i++) {
		struct task *t = (struct task *)(void *)(p->mem + i * p->slot_size);
		if (atomic_load_explicit(&t->state, memory_order_acquire) >> TASK_REF_SHIFT)
			n++;
	}
	return n;
}

void *task_pool_alloc(struct task_src *src, size_t size)
{
	return task_pool_alloc_inl((struct task_pool *)src, size);
}

void task_pool_free_slow(struct task_pool *p, void *slot)
{
	/* The link goes in the task's queue link, not the first word: the
	 * state word stays readable by task_pools_each (count 0: free). */
	unsigned long fl = spin_lock(&p->lock);
	((struct task *)slot)->next = p->free_list;
	p->free_list = slot;
	spin_unlock(&p->lock, fl);
}

void task_pool_free(struct task_src *src, void *slot, size_t size)
{
	(void)size;
	task_pool_free_inl((struct task_pool *)src, slot);
}

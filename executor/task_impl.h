/* The task hot path, inline: references, wakes, completion, poll, pool slots, spawn. */
#ifndef EXECUTOR_TASK_IMPL_H
#define EXECUTOR_TASK_IMPL_H

/*
 * Internal to executor/: included at the end of exec.h, so that the
 * worker loop (exec.c), the task waker (waker.c), join handles (task.c)
 * and every caller of task_spawn share one inline copy of the transitions
 * drawn in task.h.  Each step of a spawn, poll, wake and completion is a handful
 * of instructions; a function call around each would cost as much again
 * (see docs/executor.md §9).  What is API is declared in task.h and
 * exec.h; the rest (the _inl forms, task_release, ...) is internal.
 */
#include <string.h>

#include "exec.h"
#include "hooks.h"
#include "task.h"

/* ---- References ---------------------------------------------------------*/

static inline void task_ref_inl(struct task *t)
{
	uint64_t old = atomic_fetch_add_explicit(&t->state, TASK_REF_ONE,
	                                         memory_order_relaxed);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	(void)old;
}

/* old, a state word read by the RMW that dropped a reference, held the
 * last one.  It held at least one, so "fewer than two" says it: one
 * compare, no shift. */
static inline bool task_ref_was_last(uint64_t old)
{
	return old < 2 * TASK_REF_ONE;
}

/* Out of line: a pool whose spare word was taken, or the first slot. */
void *task_pool_alloc_slow(struct task_pool *p, size_t size);
void task_pool_free_slow(struct task_pool *p, void *slot);

/* Fast path: this worker's spare slot (acquire: the freer's writes). */
static inline void *task_pool_alloc_inl(struct task_pool *p, size_t size)
{
	EXEC_ASSERT(task_spare_hint < TASK_POOL_SPARES);
	if (size <= p->slot_size) {
		void *slot = atomic_exchange_explicit(
		        &p->spare[task_spare_hint], NULL,
		        memory_order_acquire);
		if (slot)
			return slot;
	}
	return task_pool_alloc_slow(p, size);
}

static inline void task_pool_free_inl(struct task_pool *p, void *slot)
{
	/* Release: our writes to the slot before its next owner's. */
	slot = atomic_exchange_explicit(&p->spare[task_spare_hint],
	                                slot, memory_order_acq_rel);
	if (slot)
		task_pool_free_slow(p, slot);
}

/* (12) The count reached 0 (s: the state word seen then): nobody else
 * can see t any more.  A static pool's slot (POOLED) goes back to it
 * inline rather than through the storage vtable: that is the common
 * case, and it saves a call. */
static inline void task_release(struct task *t, uint64_t s)
{
	struct task_src *src = t->src;
	if (s & TASK_POOLED)
		task_pool_free_inl((struct task_pool *)src, t);
	else if (src)
		src->free(src, t, t->size);
}

/* (12) Drop one reference; the last one returns the storage.  Callable
 * from any context (the source's free must be interrupt-safe). */
static inline void task_unref_inl(struct task *t)
{
	uint64_t old = atomic_fetch_sub_explicit(&t->state, TASK_REF_ONE,
	                                         memory_order_acq_rel);
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	if (!task_ref_was_last(old))
		return;
	EXEC_ASSERT(old & TASK_COMPLETE);
	task_release(t, old);
}

/* memcpy for the small sizes futures and outputs have, without a loop
 * or a library call: two possibly overlapping words cover any size from
 * one word to two (4..8 bytes: two 4-byte copies; 8..16: two 8-byte;
 * 16..32: two 16-byte halves), so a copy is a few loads and stores
 * whatever the size.  With n known at compile time (a spawn of a
 * constant descriptor) it is just those loads and stores. */
static inline void task_copy_small(void *dst, const void *src, size_t n)
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

/* An output copy: its size is known only at run time, and is most often
 * one word (a value or a pointer) or a 4-byte int or status. */
static inline void task_copy_out(void *dst, const void *src, size_t n)
{
	if (n == 8)
		memcpy(dst, src, 8);
	else if (n == 4)
		memcpy(dst, src, 4);
	else if (n)
		task_copy_small(dst, src, n);
}

static inline struct task_trailer *task_trailer(struct task *t)
{
	return (struct task_trailer *)(void *)((unsigned char *)t + t->trailer_off);
}

/* ---- Wakes ----------------------------------------------------------------
 *
 * Two transitions, as the two wakes of a waker (future.h):
 *   task_wake_by_ref   wake, the caller keeps its reference (wake_by_ref)
 *   task_wake_by_val   wake and drop the caller's reference (wake)
 * and task_waker_wake, a waker_wake that calls task_wake_by_val inline
 * when the waker is one of ours. */

/* EXEC_CHECK: a wake of t, seen in state old, during t's own poll on
 * this worker (the context's waker names the task being polled): a
 * self-wake (check.h, self-wake storms). */
static inline void task_check_self_wake(struct task *t, uint64_t old)
{
#ifdef EXEC_CHECK
	struct exec_worker *cw = exec_self;
	if ((old & TASK_RUNNING) && cw && cw->waker.raw.data == (const void *)t)
		EXEC_CHECK_COUNT(t->requeues);
#else
	(void)t;
	(void)old;
#endif
}

/* (3)/(5) One RMW decides: only the caller that turns an IDLE task into a
 * SCHEDULED one queues it.  RUNNING: the flag tells task_run to requeue.
 * SCHEDULED or COMPLETE: nothing to do (a stray flag on a complete task
 * is never read). */
static inline void task_wake_by_ref(struct task *t)
{
	EXEC_TR_WAKE(t, 1);
	atomic_fetch_add_explicit(&t->wakes, 1, memory_order_relaxed);
	uint64_t old = atomic_fetch_or_explicit(&t->state, TASK_SCHEDULED,
	                                        memory_order_acq_rel);
	task_check_self_wake(t, old);
	if (old & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))
		return;
	struct executor *e = t->exec;
	exec_schedule_on(e, exec_current(e), t);
}

/* (3)/(5) + (12) Set SCHEDULED and drop the caller's reference in one
 * CAS.  If this turned an IDLE task into a SCHEDULED one, the task is not
 * complete, so the executor's reference still keeps it alive while we
 * queue it; if it was the last reference the task is complete (only then
 * can the count reach 0) and nobody queues it.  w: the worker of t's
 * executor that is completing a task (so not firing timers), or NULL:
 * any caller, the worker is looked up. */
static inline __attribute__((always_inline))
void task_wake_by_val(struct task *t, struct exec_worker *w)
{
	EXEC_TR_WAKE(t, 0);
	atomic_fetch_add_explicit(&t->wakes, 1, memory_order_relaxed);
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
	                (s | TASK_SCHEDULED) - TASK_REF_ONE, memory_order_acq_rel,
	                memory_order_relaxed))
		;
	EXEC_ASSERT((s >> TASK_REF_SHIFT) != 0);
	task_check_self_wake(t, s);
	if (!(s & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))) {
		if (!w) {
			struct executor *e = t->exec;
			exec_schedule_on(e, exec_current(e), t);
		} else if (__builtin_expect(t->pin != 0, 0)) {
			exec_schedule_pinned(w->exec, t);
		} else {
			exec_schedule_lifo(w->exec, w, t);
		}
	} else if (task_ref_was_last(s)) {
		EXEC_ASSERT(s & TASK_COMPLETE);
		task_release(t, s);
	}
}

/* waker_wake (it consumes *wk), with one of our wakers woken inline: no
 * call through the vtable.  w: the worker of executor e completing a task
 * ((8): the join waker), or NULL (a leaf future waking its waiter).  With
 * w, a task of another executor is woken through the vtable. */
static inline __attribute__((always_inline))
void task_waker_wake(struct waker *wk, struct executor *e, struct exec_worker *w)
{
	if (task_waker_is_ours(wk)) {
		struct task *t = (struct task *)(void *)wk->raw.data;
		if (!w) {
			task_wake_by_val(t, NULL);
			return;
		}
		if (t->exec == e) {
			task_wake_by_val(t, w);
			return;
		}
	}
	waker_wake(wk);
}

/* ---- Completion -----------------------------------------------------------*/

/* (6)/(7)/(8) Mark complete (cancelled or not), wake the joiner, tell the
 * executor, drop the executor's reference.  Caller: the worker w that
 * owns t (RUNNING), or, with w == NULL, whoever owns a task that will
 * never be polled again (shutdown). */
static inline __attribute__((always_inline))
void task_complete_inl(struct task *t, bool cancelled, struct exec_worker *w)
{
	struct executor *e = t->exec;	/* read once, before the atomics */
	uint64_t s;
	EXEC_TR(PX_TR_TASK_DONE, cancelled, t, 0);
#ifdef EXEC_CHECK
	/* Before COMPLETE is published (its RMW releases this store). */
	if (w)
		atomic_store_explicit(&w->check_completing, t, memory_order_relaxed);
#endif
	if (!cancelled) {
		/* (6) RUNNING -> COMPLETE + READY in one add: RUNNING is set
		 * (we are its worker), COMPLETE and READY are clear.  A
		 * SCHEDULED or CANCELLED flag that arrived during the last
		 * poll stays, and is never read on a COMPLETE task: READY
		 * says the result is the output. */
		s = atomic_fetch_add_explicit(&t->state,
		        TASK_COMPLETE + TASK_READY - TASK_RUNNING,
		        memory_order_acq_rel);
	} else {
		/* (7) dropped: COMPLETE without READY is "cancelled". */
		s = atomic_load_explicit(&t->state, memory_order_relaxed);
		while (!atomic_compare_exchange_weak_explicit(&t->state, &s,
		                (s & ~(uint64_t)(TASK_RUNNING | TASK_SCHEDULED)) |
		                TASK_COMPLETE | TASK_CANCELLED,
		                memory_order_acq_rel, memory_order_relaxed))
			;
	}

	exec_task_done(e, t, s);
#ifdef EXEC_CHECK
	exec_check_done(t);
#endif
	uint64_t old;
	if (s & TASK_JOIN_WAKER) {
		/* (8) COMPLETE with JOIN_WAKER: the slot is ours alone until we
		 * clear JOIN_WAKER below.  Take the waker, wake it by value.
		 * (A joiner that is a task of this executor is live, so the
		 * live count did not reach 0 above.  Any other joiner may be
		 * woken just after it did: with several workers, another
		 * one's exec_run can return first.  The wake still comes.) */
		struct task_trailer *tr = task_trailer(t);
		struct waker jw = tr->join_waker;
		tr->join_waker = WAKER_NONE;
		task_waker_wake(&jw, e, w);
		/* Clear JOIN_WAKER and drop the executor's reference in one
		 * RMW. */
		old = atomic_fetch_sub_explicit(&t->state,
		        TASK_REF_ONE + TASK_JOIN_WAKER, memory_order_acq_rel);
	} else {
		old = atomic_fetch_sub_explicit(&t->state, TASK_REF_ONE,
		                                memory_order_acq_rel);
	}
	EXEC_ASSERT((old >> TASK_REF_SHIFT) != 0);
	if (task_ref_was_last(old))
		task_release(t, old);
#ifdef EXEC_CHECK
	if (w)
		atomic_store_explicit(&w->check_completing, NULL, memory_order_release);
#endif
}

/* The same, out of line: cancellation and shutdown. */
void task_complete(struct task *t, bool cancelled, struct exec_worker *w);

/* ---- Running --------------------------------------------------------------*/

/* A poll measured with the now_ns hook (EXEC_POLL_TIMING).  Inline in
 * the worker loop's timed copy only (worker_loop_timed), so that the
 * untimed copy saves no extra registers and the timed one makes no call
 * around the poll's own. */
static inline __attribute__((always_inline))
enum poll task_poll_timed(struct task *t, struct context *cx)
{
	struct executor *e = t->exec;
	uint64_t t0 = e->hooks.now_ns(e->hooks.ctx);
	enum poll r = future_poll(t->future, cx);
	uint64_t d = e->hooks.now_ns(e->hooks.ctx) - t0;
	uint64_t acc = atomic_load_explicit(&t->poll_ns, memory_order_relaxed);
	atomic_store_explicit(&t->poll_ns, acc + d, memory_order_relaxed);
	return r;
}

/* task_run (task.h), inline for the worker loop, which passes
 * w->poll_timing as a constant (it has a copy of its loop for each). */
static inline __attribute__((always_inline))
bool task_run_inl(struct task *t, struct exec_worker *w, bool timing)
{
	/* (2) SCHEDULED -> RUNNING in one add: SCHEDULED is bit 0 and set,
	 * RUNNING bit 1 and clear, so +1 clears one and sets the other.
	 * Acquire pairs with the waker's release. */
	uint64_t s = atomic_fetch_add_explicit(&t->state,
	                TASK_RUNNING - TASK_SCHEDULED, memory_order_acquire);
	EXEC_ASSERT((s & (TASK_SCHEDULED | TASK_RUNNING | TASK_COMPLETE))
	            == TASK_SCHEDULED);

	if (__builtin_expect(s & TASK_CANCELLED, 0)) {
		/* (7) abort arrived while queued: this is the safe point. */
		future_drop(t->future);
		task_complete(t, true, w);
		return false;
	}

	/* The context's waker borrows the executor's reference: no count.
	 * It is the worker's, set up once but for its data (t). */
	enum poll r;
	w->waker.raw.data = t;
	EXEC_TR_POLL_START(t);
	if (timing)
		r = task_poll_timed(t, &w->cx);
	else
		r = future_poll(t->future, &w->cx);
	EXEC_TR_POLL_END(t, r == POLL_READY);
	uint32_t np = atomic_load_explicit(&t->polls, memory_order_relaxed);
	atomic_store_explicit(&t->polls, np + 1, memory_order_relaxed);

	if (r == POLL_READY) {
		/* (6) Ready: COMPLETE (release: the output field the future
		 * wrote is published with it). */
		task_complete_inl(t, false, w);
		return false;
	}

	/* (4) RUNNING -> IDLE in one RMW; SCHEDULED, if a wake came during
	 * the poll, stays and we queue the task again (return true).  An
	 * abort during the poll set SCHEDULED too (join_handle_abort), so
	 * it is queued the same way and the next task_run drops it (7).
	 * After this RMW the task is no longer ours to touch. */
	s = atomic_fetch_sub_explicit(&t->state, TASK_RUNNING,
	                              memory_order_acq_rel);	/* RUNNING is set */
	return __builtin_expect((s & TASK_SCHEDULED) != 0, 0);
}

/* ---- Join handles ---------------------------------------------------------*/

/* (11) for a COMPLETE task: give up interest and the handle's reference
 * in one fetch_sub (JOIN_INTEREST is set: only the handle clears it).
 * The join waker slot needs no look: with JOIN_WAKER clear it is empty
 * (whoever clears the bit empties the slot: the completer, or the
 * handle itself before it gets here), and with JOIN_WAKER set the
 * completer still owns it and holds its own reference until it is done. */
static inline void task_join_release_complete(struct task *t, uint64_t s)
{
	EXEC_ASSERT((s & TASK_JOIN_WAKER) ||
	            waker_is_none(&task_trailer(t)->join_waker));
	(void)s;
	uint64_t old = atomic_fetch_sub_explicit(&t->state,
	                TASK_JOIN_INTEREST + TASK_REF_ONE, memory_order_acq_rel);
	EXEC_ASSERT((old & TASK_JOIN_INTEREST) && (old >> TASK_REF_SHIFT) != 0);
	if (task_ref_was_last(old))
		task_release(t, old);
}

/* The task is COMPLETE (s, loaded with acquire): take the result and
 * release the handle's interest and reference. */
static inline __attribute__((always_inline))
enum poll task_join_finish(struct join_handle *jh, struct task *t,
                           uint64_t s)
{
	if (!(s & TASK_READY)) {
		jh->result = JOIN_CANCELLED;
	} else {
		jh->result = JOIN_OK;
		if (jh->out)
			task_copy_out(jh->out, (unsigned char *)t + t->out_off,
			              t->out_size);
	}
	jh->task = NULL;
	task_join_release_complete(t, s);
	return POLL_READY;
}

/* The rest of join_handle_poll (task.c). */
enum poll join_handle_poll_slow(struct join_handle *jh, struct context *cx);

/* (10) join_handle_poll (task.h): the two common polls inline, the task
 * is complete (take the output) or this is the first wait with one of
 * our wakers (store a clone, set JOIN_WAKER with one CAS); everything
 * else in join_handle_poll_slow.  Safety: one joiner per handle. */
static inline enum poll join_handle_poll(struct join_handle *jh, struct context *cx)
{
	struct task *t = jh->task;
	if (__builtin_expect(t != NULL, 1)) {
		uint64_t s = task_state(t);
		if (s & TASK_COMPLETE)
			return task_join_finish(jh, t, s);
		/* LAB 3 BEGIN */
		if (!(s & TASK_JOIN_WAKER)) {
			/* JOIN_WAKER clear, not COMPLETE: the slot is ours, empty. */
			struct task_trailer *tr = task_trailer(t);
			if (task_waker_clone_ours(cx->waker, &tr->join_waker) &&
			    atomic_compare_exchange_strong_explicit(&t->state, &s,
			                s | TASK_JOIN_WAKER, memory_order_acq_rel,
			                memory_order_acquire))
				return POLL_PENDING;
		}
		/* LAB 3 STUB
		// (Stub: no inline fast path; join_handle_poll_slow does it all.)
		   LAB 3 END */
	}
	return join_handle_poll_slow(jh, cx);
}

/* ---- Spawning -------------------------------------------------------------*/

/* Everything task_spawn's inline path does not take: other sources, an
 * empty spare word, pinned tasks, errors. */
int task_spawn_slow(struct executor *exec, struct task_src *src,
                    const struct task_desc *d, struct join_handle *jh);

/* (1) Fill t, just taken from src, for d, and publish it.  Not yet
 * visible to anyone but task_pools_each, which looks only at a slot
 * whose state word says live: plain stores, then the state word last,
 * with release.  (t->next is written when t is queued on a list, never
 * read before.)  Every spawn uses it; inline so that a constant d folds.
 * first: TASK_SCHEDULED (a spawn that queues t), or TASK_RUNNING
 * (task_spawn_polled, whose future is in place already: not copied). */
static inline __attribute__((always_inline))
void task_fill(struct task *t, struct executor *exec, struct task_src *src,
               const struct task_desc *d, uint16_t reg_idx, struct join_handle *jh,
               uint64_t first)
{
	size_t fs = d->future_size, trailer_off = TASK_TRAILER_OFF(fs);
	t->exec = exec;
	t->future = (struct future *)(void *)((unsigned char *)t + TASK_CORE_OFF);
	t->src = src;
	t->size = (uint32_t)TASK_SIZE(fs);
	t->out_off = (uint32_t)(TASK_CORE_OFF + d->out_off);
	t->out_size = (uint32_t)d->out_size;
	t->trailer_off = (uint32_t)trailer_off;
	t->reg_idx = reg_idx;
	t->pin = (uint16_t)(d->pin <= EXEC_MAX_WORKERS ? d->pin : 0);
	/* polls, wakes, poll_ns: plain stores (t is not shared yet; a
	 * memset would be a call in a -ffreestanding build) */
	atomic_store_explicit(&t->polls, 0, memory_order_relaxed);
	atomic_store_explicit(&t->wakes, 0, memory_order_relaxed);
#ifdef EXEC_CHECK
	atomic_store_explicit(&t->clones, 0, memory_order_relaxed);
	atomic_store_explicit(&t->drops, 0, memory_order_relaxed);
	atomic_store_explicit(&t->requeues, 0, memory_order_relaxed);
	atomic_store_explicit(&t->pad_check, 0, memory_order_relaxed);
#endif
	atomic_store_explicit(&t->poll_ns, 0, memory_order_relaxed);
	t->name = d->name ? d->name : "?";
	EXEC_TR_SPAWN(t, t->name);
	if (first == TASK_SCHEDULED)
		task_copy_small(t->future, d->future, fs);
	((struct task_trailer *)(void *)((unsigned char *)t + trailer_off))->join_waker =
	        WAKER_NONE;
	uint64_t st = first | TASK_REF_ONE |
	              (reg_idx == TASK_REG_POOL ? TASK_POOLED : 0);
	if (jh) {
		jh->base.vtable = &join_handle_future_vtable;
		jh->task = t;	/* jh->out stays what the caller set */
		jh->result = JOIN_PENDING;
		st += TASK_JOIN_INTEREST + TASK_REF_ONE;
	}
	atomic_store_explicit(&t->state, st, memory_order_release);
}

/* (1) task_spawn (task.h).  Inline so that a descriptor known at compile
 * time (the usual `static const` one or a TASK_DESC) folds: its layout
 * arithmetic, size checks and copy lengths become constants, and what is
 * left is a slot exchange and the header's stores.  Any case it does not
 * cover goes to task_spawn_slow, which does the same thing in general. */
static inline __attribute__((always_inline))
int task_spawn(struct executor *exec, struct task_src *src,
                             const struct task_desc *d, struct join_handle *jh)
{
	struct task_pool *p = (struct task_pool *)src;
	/* An empty asm hides which object src is, so that a caller passing
	 * a plain task_src (no pool behind it) does not get a warning about
	 * the pool fields read below: they are read only when alloc says
	 * src is a pool's.  It costs no instruction. */
	__asm__("" : "+r"(p));
	/* A copy read before the exchange below: the caller's descriptor is
	 * often a compound literal whose address escapes (to the slow path),
	 * so after an atomic the compiler would have to load it again, and
	 * could no longer fold it. */
	const struct task_desc dv = *d;
	if (src->alloc != task_pool_alloc || dv.out_off + dv.out_size > dv.future_size ||
	    dv.pin != 0 || TASK_SIZE(dv.future_size) > p->slot_size)
		return task_spawn_slow(exec, src, d, jh);
	struct task *t = atomic_exchange_explicit(
	        &p->spare[task_spare_hint], NULL,
	        memory_order_acquire);
	if (!t)
		return task_spawn_slow(exec, src, d, jh);
	task_fill(t, exec, src, &dv, TASK_REG_POOL, jh, TASK_SCHEDULED);
	/* Spawning is not a wake: never from an interrupt handler, so the
	 * worker found here is the one running us (or NULL: another thread). */
	struct exec_worker *w = exec_current(exec);
	atomic_fetch_add(&exec->live, 1);
	exec_schedule_lifo(exec, w, t);	/* d->pin == 0; a spawn is no timer's wake */
	return TASK_OK;
}

#endif /* EXECUTOR_TASK_IMPL_H */

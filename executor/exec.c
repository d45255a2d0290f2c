/* The scheduler: worker loops, queue choice, stealing, parking and block_on. */
#include <string.h>

#include "exec.h"
#include "hooks.h"
#include "queue.h"
#include "task.h"
#include "timer.h"

/*
 * Parking protocol (no lost wakeups, one unpark per wake):
 *
 *   waker:  push task; if nsearching > 0 stop (a searcher will
 *           find it); else clear one bit of idle_mask and unpark it.
 *   worker: [search: nsearching+1, steal, inject]  nothing found ->
 *           set my idle bit; nsearching-1; re-check every queue
 *           and the timers; park(deadline); clear my bit.
 *
 * All of these are seq_cst (the queues publish with seq_cst stores and
 * the re-check loads seq_cst; no fences, which ThreadSanitizer cannot
 * model), so for a push racing with a park either the waker sees the idle
 * bit (or the searcher still counted), or the worker's re-check sees the
 * task.  The park hook keeps a token, so an unpark that arrives before
 * the park is not lost either.
 */

static void exec_notify(struct executor *e);

/*
 * One shared timer wheel, several parked workers: each park programs the
 * wheel's next deadline at that moment.  A timer inserted later with an
 * earlier deadline (the wheel calls this, outside its lock) must not wait
 * for the later one: unpark one idle worker, which re-reads the deadline
 * as it parks again.  If a worker is searching, it reads the deadline
 * when it parks anyway; running workers look at the timers every
 * EXEC_INJECT_INTERVAL ticks and before parking.
 */
static void exec_timer_earlier(void *arg)
{
	exec_notify((struct executor *)arg);
}

void exec_init(struct executor *e, const struct exec_hooks *hooks,
               unsigned nworkers, unsigned flags)
{
	EXEC_ASSERT(nworkers >= 1 && nworkers <= EXEC_MAX_WORKERS);
	memset(e, 0, sizeof(*e));
	e->hooks = *hooks;
	e->nworkers = nworkers;
	e->flags = flags;
	inject_init(&e->inject);
	atomic_init(&e->idle_mask, 0);
	atomic_init(&e->nsearching, 0);
	atomic_init(&e->live, 0);
	atomic_init(&e->until_idle, 0);
	atomic_init(&e->stop, false);
	spin_init(&e->reg_lock);
	e->reg_head = NULL;
	timer_wheel_init(&e->wheel, hooks->now_ns(hooks->ctx));
	if (nworkers > 1) {
		e->wheel.on_earlier = exec_timer_earlier;
		e->wheel.on_earlier_arg = e;
	}
	for (unsigned i = 0; i < nworkers; i++) {
		struct exec_worker *w = &e->workers[i];
		runq_init(&w->runq);
		inject_init(&w->pinned);
		w->id = i;
		w->rng = 0x9e3779b9u * (i + 1);
		w->exec = e;
		w->inject_countdown = w->countdown_start = EXEC_INJECT_INTERVAL;
		w->lifo_left = EXEC_LIFO_MAX + 1;
		w->poll_timing = (flags & EXEC_POLL_TIMING) != 0;
		w->waker = (struct waker){ { NULL, &task_waker_vtable } };
		w->cx.waker = &w->waker;
		spin_init(&w->reg.lock);
		w->reg.head = NULL;
	}
}

/* Unpark one idle worker unless someone is already searching. */
static void exec_notify(struct executor *e)
{
	if (atomic_load(&e->nsearching))
		return;
	uint64_t m = atomic_load(&e->idle_mask);
	while (m) {
		unsigned i = 0;
		while (!(m & ((uint64_t)1 << i)))
			i++;
		if (atomic_compare_exchange_weak(&e->idle_mask, &m,
		                                 m & ~((uint64_t)1 << i))) {
			EXEC_TR(PX_TR_UNPARK, i, 0, 0);
			e->hooks.unpark(e->hooks.ctx, i);
			return;
		}
	}
}

static void exec_unpark_all(struct executor *e)
{
	uint64_t m = atomic_exchange(&e->idle_mask, 0);
	for (unsigned i = 0; i < e->nworkers; i++)
		if (m & ((uint64_t)1 << i))
			e->hooks.unpark(e->hooks.ctx, i);
}

/* Local queue of w, or the injection queue when it is full. */
static void exec_push_local(struct exec_worker *w, struct task *t)
{
	struct executor *e = w->exec;
	EXEC_TR(PX_TR_ENQUEUE, PX_TR_Q_LOCAL, t, w->id);
	if (!runq_push(&w->runq, t)) {
		/* full: the injection queue after all */
		EXEC_TR(PX_TR_ENQUEUE, PX_TR_Q_INJECT, t, w->id);
		inject_push(&e->inject, t);
		exec_notify(e);
	} else if (e->nworkers > 1) {
		exec_notify(e);
	}
}

void exec_schedule(struct executor *e, struct task *t)
{
	exec_schedule_on(e, exec_current(e), t);
}

/* From another thread or an interrupt handler (w == NULL): the injection
 * queue, then unpark a worker. */
void exec_schedule_queue(struct executor *e, struct exec_worker *w, struct task *t)
{
	if (!w) {
		EXEC_TR(PX_TR_ENQUEUE, PX_TR_Q_INJECT, t, ~0u);
		inject_push(&e->inject, t);
		exec_notify(e);
		return;
	}
	exec_push_local(w, t);
}

void exec_schedule_pinned(struct executor *e, struct task *t)
{
	unsigned id = t->pin - 1u;
	if (id >= e->nworkers) {
		exec_schedule_queue(e, NULL, t);
		return;
	}
	EXEC_TR(PX_TR_ENQUEUE, PX_TR_Q_PINNED, t, id);
	inject_push(&e->workers[id].pinned, t);
	/* seq_cst after the push: either we see its idle bit, or its park
	 * re-check (worker_park) sees the task. */
	uint64_t bit = (uint64_t)1 << id;
	if (atomic_fetch_and(&e->idle_mask, ~bit) & bit) {
		EXEC_TR(PX_TR_UNPARK, id, 0, 0);
		e->hooks.unpark(e->hooks.ctx, id);
	}
}

/* Fire due timers; their wakes land in this worker's run queue in deadline
 * order (not the LIFO slot, which is for a wake by the running task).
 * With no timer queued there is nothing to fire, and neither the clock
 * nor the wheel's levels need reading: the wheel's own clock then stays
 * where it was until the next advance (an insert meanwhile is filed
 * relative to it, which is correct, only further out). */
static inline __attribute__((always_inline))
uint64_t exec_timers_at(struct exec_worker *w, uint64_t now_ns)
{
	struct executor *e = w->exec;
	if (!timer_wheel_pending(&e->wheel))
		return 0;
	if (!now_ns)
		now_ns = e->hooks.now_ns(e->hooks.ctx);
	w->in_timers = true;
	timer_wheel_advance(&e->wheel, now_ns);
	w->in_timers = false;
	return now_ns;
}

/* Returns the clock reading it fired the timers at, 0 if it read none
 * (no timer queued). */
static inline __attribute__((always_inline))
uint64_t exec_timers(struct exec_worker *w)
{
	return exec_timers_at(w, 0);
}

/* The first task the timers woke, if any; with more behind it, the next
 * turn is a tick again, which takes the next one. */
static inline struct task *due_next(struct exec_worker *w)
{
	struct task *t = w->due_head;
	if (t) {
		w->due_head = t->next;
		if (!w->due_head)
			w->due_tail = NULL;
		else
			exec_tick_next_turn(w);
	}
	return t;
}

static void stat_inc(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/* How many injected tasks one worker takes at once: its share. */
static unsigned inject_share(struct executor *e)
{
	size_t n = atomic_load_explicit(&e->inject.len, memory_order_relaxed);
	n = n / e->nworkers + 1;
	return n > RUNQ_CAP / 2 ? RUNQ_CAP / 2 : (unsigned)n;
}

/*
 * The worker's poll count is its fairness countdown: each turn of the
 * loop counts down once, so the polls since the last flush are
 * countdown_start - inject_countdown, less the turns that polled nothing
 * (the caller says how many).  Flushed into stats.polls on the fairness
 * tick and whenever the worker parks or returns, so a reader on another
 * CPU sees a count at most one interval behind, and the exact count once
 * the worker is idle.  The loop pays nothing extra for it.
 */
static void ticks_flush_idle(struct exec_worker *w, unsigned idle)
{
	/* (in 64 bits: after a tick that found nothing, this is -1) */
	stat_inc(&w->stats.polls,
	         (uint64_t)w->countdown_start - w->inject_countdown - idle);
	w->inject_countdown = w->countdown_start = EXEC_INJECT_INTERVAL;
}

static inline void ticks_flush(struct exec_worker *w)
{
	ticks_flush_idle(w, 0);
}

/* Every EXEC_INJECT_INTERVAL ticks (fairness): due timers first, then
 * injected work, so neither can starve behind local work. */
__attribute__((noinline))
static struct task *tick_check(struct exec_worker *w)
{
	struct executor *e = w->exec;
	struct task *t;
	ticks_flush(w);
	exec_timers(w);
	if ((t = due_next(w)))
		return t;
	if ((t = inject_pop(&e->inject)))
		stat_inc(&w->stats.inject_pops, 1);
	else if (!inject_empty(&w->pinned) && (t = inject_pop(&w->pinned)))
		stat_inc(&w->stats.pinned_pops, 1);
	return t;
}

static struct task *next_shared(struct exec_worker *w);

/* Next task from this worker's own sources, in priority order (the
 * fairness tick is the caller's). */
static inline struct task *next_local(struct exec_worker *w)
{
	struct task *t;

	/* lifo_left counts a streak of LIFO polls down from
	 * EXEC_LIFO_MAX + 1: at 0 the streak is over. */
	if ((t = w->lifo)) {
		w->lifo = NULL;
		if (--w->lifo_left != 0) {
			stat_inc(&w->stats.lifo_polls, 1);
			return t;
		}
		/* Two tasks ping-ponging: send this one to the back.  If the
		 * run queue is empty the back is the front: it would be pushed
		 * and popped again at once, so run it (no other task waits
		 * here). */
		w->lifo_left = EXEC_LIFO_MAX + 1;
		if (runq_empty_owner(&w->runq))
			return t;
		exec_push_local(w, t);
	}
	w->lifo_left = EXEC_LIFO_MAX + 1;
	/* Mostly, once the running task has parked, every queue is empty:
	 * an emptiness test each (no call) says so. */
	if (!runq_empty_owner(&w->runq) && (t = runq_pop(&w->runq)))
		return t;
	if (inject_empty(&w->pinned) && inject_empty(&w->exec->inject))
		return NULL;
	return next_shared(w);
}

/* Local queue empty: tasks pinned here, then a share of the injection
 * queue.  (Both are also looked at on the fairness tick, so local work
 * delays them by at most EXEC_INJECT_INTERVAL polls.) */
__attribute__((noinline))
static struct task *next_shared(struct exec_worker *w)
{
	struct executor *e = w->exec;
	struct task *t;
	if (!inject_empty(&w->pinned) && (t = inject_pop(&w->pinned))) {
		stat_inc(&w->stats.pinned_pops, 1);
		return t;
	}
	if (inject_empty(&e->inject))
		return NULL;
	uint32_t before = runq_len(&w->runq);
	if ((t = inject_pop_batch(&e->inject, &w->runq, inject_share(e)))) {
		stat_inc(&w->stats.inject_pops, 1 + runq_len(&w->runq) - before);
		return t;
	}
	return NULL;
}

static void end_search(struct exec_worker *w)
{
	struct executor *e = w->exec;
	if (!w->searching)
		return;
	w->searching = false;
	/* The last searcher hands the search on if work is left over. */
	if (atomic_fetch_sub(&e->nsearching, 1) == 1 &&
	    (!inject_empty(&e->inject) || runq_len(&w->runq) > 0))
		exec_notify(e);
}

/* Timers, then other workers' queues (steal half), then injection.
 * Called once next_local found nothing: the run queue is empty, and the
 * timers' wakes do not land in it (due list, or a pinned queue), so only
 * due_next can have a task.  *now: the clock reading the timers were
 * fired at, or 0 if none was taken. */
static inline __attribute__((always_inline))
struct task *search(struct exec_worker *w, uint64_t *now)
{
	struct executor *e = w->exec;
	struct task *t;

	*now = exec_timers(w);
	if ((t = due_next(w)))
		return t;
	if (e->nworkers == 1)
		return NULL;
	if (!w->searching) {
		/* At most about half of the workers that are not parked
		 * search at once (Tokio's rule): more would only contend on
		 * the same run queues.  One turned away parks without looking
		 * at the others' run queues; a searcher that finds work wakes
		 * the next worker (end_search), and owners run their own. */
		unsigned ns = atomic_load(&e->nsearching);
		unsigned idle = (unsigned)__builtin_popcountll(atomic_load(&e->idle_mask));
		if (2 * ns >= e->nworkers - idle) {
			w->turned_away = true;
			return NULL;
		}
		w->searching = true;
		atomic_fetch_add(&e->nsearching, 1);
	}
	/* Victims: every other worker once, from a random one on, so that
	 * searchers do not all hit worker 0 first. */
	/* LAB 8 BEGIN */
	w->rng = w->rng * 1103515245u + 12345u;
	unsigned start = (w->rng >> 16) % e->nworkers;
	for (unsigned i = 0; i < e->nworkers; i++) {
		struct exec_worker *v = &e->workers[(start + i) % e->nworkers];
		if (v == w)
			continue;
		if ((t = runq_steal(&v->runq, &w->runq))) {
			EXEC_TR(PX_TR_STEAL, v->id, t, 1 + runq_len(&w->runq));
			stat_inc(&w->stats.steals, 1 + runq_len(&w->runq));
			end_search(w);
			return t;
		}
	}
	/* LAB 8 STUB
	// Stub: never look at another worker's run queue.  Work stays on the
	// hart it was pushed to; only the injection queue spreads it.
	EXEC_LAB_TODO("LAB 8: implement the steal loop of search (executor/exec.c)");
	   LAB 8 END */
	if ((t = inject_pop(&e->inject))) {
		stat_inc(&w->stats.inject_pops, 1);
		end_search(w);
		return t;
	}
	return NULL;
}

/* Work queued anywhere?  w's own run queue only w pushes to: the
 * owner's emptiness test is exact for it (and for one worker, that is
 * every run queue). */
static bool others_work(struct exec_worker *w)
{
	struct executor *e = w->exec;
	for (unsigned i = 0; i < e->nworkers; i++)
		if (i != w->id && runq_len(&e->workers[i].runq))
			return true;
	return false;
}

static inline bool any_work(struct exec_worker *w)
{
	struct executor *e = w->exec;
	return !inject_empty(&e->inject) || !runq_empty_owner(&w->runq) ||
	       (e->nworkers > 1 && others_work(w));
}

static inline bool worker_done(struct exec_worker *w, struct task *until, bool forever)
{
	struct executor *e = w->exec;
	if (until)
		return task_state(until) & TASK_COMPLETE;
	if (atomic_load(&e->stop))
		return true;
	return !forever && atomic_load(&e->live) == 0;
}

/* now: a clock reading of this turn (search's), or 0.  A reading a
 * little old makes a deadline that passed meanwhile look future: the park
 * hook then sees a deadline already past, which it handles anyway (a
 * timer inserted on another worker can be just as close). */
static inline __attribute__((always_inline))
void worker_park(struct exec_worker *w, struct task *until, bool forever, uint64_t now)
{
	struct executor *e = w->exec;
	uint64_t bit = (uint64_t)1 << w->id;

	atomic_fetch_or(&e->idle_mask, bit);
	if (w->searching) {
		w->searching = false;
		atomic_fetch_sub(&e->nsearching, 1);
	}
	uint64_t dl = timer_wheel_next_deadline(&e->wheel);
	bool work = w->turned_away ? !inject_empty(&e->inject) || !runq_empty_owner(&w->runq)
				   : any_work(w);
	w->turned_away = false;
	if (dl != UINT64_MAX && !now)
		now = e->hooks.now_ns(e->hooks.ctx);
	w->park_from_ns = now;
	if (!work && inject_empty(&w->pinned) && !worker_done(w, until, forever) &&
	    (dl == UINT64_MAX || dl > now)) {
		stat_inc(&w->stats.parks, 1);
		EXEC_TR(PX_TR_PARK, 0, 0, dl);
		e->hooks.park(e->hooks.ctx, w->id, dl);
		EXEC_TR(PX_TR_PARKED, 0, 0, 0);
	}
	atomic_fetch_and(&e->idle_mask, ~bit);
}

/*
 * When the loop ends (worker_done) is looked at where it can change
 * without this worker noticing otherwise: before parking, on the
 * fairness tick, and right after polling block_on's own task.  A busy
 * worker thus sees exec_stop, or block_on's task completed on another
 * worker, within EXEC_INJECT_INTERVAL polls; it sees the last task
 * complete (exec_run) when it runs out of work, which is then.
 */
static inline __attribute__((always_inline))
void worker_loop(struct exec_worker *w, struct task *until, bool forever, bool timing)
{
	if (worker_done(w, until, forever))
		return;
	for (;;) {
		struct task *t = NULL;
		if (__builtin_expect(--w->inject_countdown == 0, 0)) {
			if (worker_done(w, until, forever)) {
				ticks_flush_idle(w, 1);
				break;
			}
			t = tick_check(w);
		}
		if (!t)
			t = next_local(w);
		uint64_t now = 0;
		if (!t)
			t = search(w, &now);
		if (!t) {
			ticks_flush_idle(w, 1);
			if (worker_done(w, until, forever))
				break;
			worker_park(w, until, forever, now);
			/* Most often a timer ended the park: its tasks first,
			 * as search would take them, without first finding
			 * every queue empty again (they were when we parked;
			 * an interrupt's wakes wait in the injection queue
			 * for the next turn, which is this task's poll away).
			 * The park hook may have read the clock already.  An
			 * earlier reading than now fires nothing early, and
			 * what it misses the next search finds (the park
			 * before it sees a past deadline and does not sleep).
			 * A hook that hands back park_from_ns (the park ended
			 * before its deadline) saves the advance: the timers
			 * were fired up to that reading before the park, and
			 * anything queued since is due later.
			 * This turn counts as one, as at the top. */
			uint64_t pnow = w->park_now_ns;
			w->park_now_ns = 0;
			if (!pnow || pnow != w->park_from_ns)
				exec_timers_at(w, pnow);
			if (!(t = due_next(w)))
				continue;
			--w->inject_countdown;
		}
		if (__builtin_expect(task_run_inl(t, w, timing), 0)) {
			/* self-woken: back of the queue (the self-wake budget) */
			if (t->pin)
				exec_schedule_pinned(w->exec, t);
			else
				exec_push_local(w, t);
		}
	}
	end_search(w);
}

/* Two copies of the loop: with poll timing (EXEC_POLL_TIMING) and
 * without, so that neither tests the flag on every poll.  search and
 * worker_park are always inline: called from two copies, GCC would keep
 * them out of line, and the calls would cost the wake-up path (the
 * kernel's irq_to_poll) some 45 instructions. */
static void worker_loop_timed(struct exec_worker *w, struct task *until, bool forever)
{
	worker_loop(w, until, forever, true);
}

static void worker_loop_untimed(struct exec_worker *w, struct task *until, bool forever)
{
	worker_loop(w, until, forever, false);
}

_Thread_local struct exec_worker *exec_self;

static void worker_enter(struct exec_worker *w, struct task *until, bool forever)
{
	struct exec_worker *prev = exec_self;
	unsigned prev_hint = task_spare_hint;
	struct task *prev_until = w->until;
	exec_self = w;
	task_spare_hint = w->id % TASK_POOL_SPARES;
	w->until = until;
	if (w->due_head) /* left when the loop last returned */
		exec_tick_next_turn(w);
	if (w->poll_timing)
		worker_loop_timed(w, until, forever);
	else
		worker_loop_untimed(w, until, forever);
	w->until = prev_until;
	task_spare_hint = prev_hint;
	exec_self = prev;
}

void exec_worker_run(struct executor *e, unsigned id, bool forever)
{
	EXEC_ASSERT(id < e->nworkers);
	if (!forever)
		atomic_fetch_add(&e->until_idle, 1);
	worker_enter(&e->workers[id], NULL, forever);
	if (!forever)
		atomic_fetch_sub(&e->until_idle, 1);
}

void exec_run(struct executor *e)
{
	exec_worker_run(e, 0, false);
}

void exec_stop(struct executor *e)
{
	atomic_store(&e->stop, true);
	for (unsigned i = 0; i < e->nworkers; i++)
		e->hooks.unpark(e->hooks.ctx, i);
}

/* Safety: f and the task live on this stack frame, so return only when
 * no reference but ours is left (a waker still held elsewhere would
 * point into a dead frame: that is a bug in a leaf future). */
void exec_block_on(struct executor *e, struct future *f)
{
	struct task t;
	task_init_borrowed(&t, e, f, "block_on");
	inject_push(&e->inject, &t);
	worker_enter(&e->workers[0], &t, true);
	/* A wake racing with completion may still hold a reference for a
	 * moment (between its state change and its unref). */
	for (unsigned long spins = 0; task_refcount(&t) > 1; spins++)
		EXEC_ASSERT(spins < 100000000ul);
	atomic_fetch_and(&t.state, ~(uint64_t)TASK_JOIN_INTEREST);
}

/* Take any task from the registry (shutdown), or NULL if none is left. */
static struct task *reg_any(struct executor *e)
{
	unsigned long fl = spin_lock(&e->reg_lock);
	struct task *t = e->reg_head;
	spin_unlock(&e->reg_lock, fl);
	for (unsigned i = 0; !t && i < e->nworkers; i++) {
		struct exec_reg *r = &e->workers[i].reg;
		fl = spin_lock(&r->lock);
		t = r->head;
		spin_unlock(&r->lock, fl);
	}
	return t;
}

static void shutdown_one(void *arg, struct task *t)
{
	(void)arg;
	task_shutdown(t);
}

/* Called with no worker running. */
void exec_shutdown(struct executor *e)
{
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < e->nworkers; i++) {
			runq_init(&e->workers[i].runq);
			inject_init(&e->workers[i].pinned);
			e->workers[i].lifo = NULL;
		}
		inject_init(&e->inject);
		struct task *t;
		while ((t = reg_any(e)))
			task_shutdown(t);
		task_pools_each(e, shutdown_one, NULL);
	}
}

void exec_reg_shared_add(struct executor *e, struct task *t)
{
	t->reg_idx = 0;
	unsigned long fl = spin_lock(&e->reg_lock);
	exec_reg_link(&e->reg_head, t);
	spin_unlock(&e->reg_lock, fl);
}

void exec_reg_shared_remove(struct executor *e, struct task *t)
{
	unsigned long fl = spin_lock(&e->reg_lock);
	exec_reg_unlink(&e->reg_head, t);
	spin_unlock(&e->reg_lock, fl);
}

/* The rare tail of exec_task_done: the last task, or block_on's. */
void exec_task_done_slow(struct executor *e, struct task *t, size_t live_before)
{
	if (live_before == 1 && atomic_load(&e->until_idle))
		exec_unpark_all(e);
	if (!t->src) {
		/* block_on's task (the only one without storage to free)
		 * completed.  On its own worker: make the loop's next turn
		 * the fairness tick, which sees it (worker_done), keeping the
		 * poll count (ticks_flush_idle) right.  Stolen: its worker
		 * must notice. */
		struct exec_worker *w = exec_current(e);
		if (w && w->until == t) {
			ticks_flush(w);
			w->inject_countdown = w->countdown_start = 1;
		} else if (w != &e->workers[0]) {
			e->hooks.unpark(e->hooks.ctx, 0);
		}
	}
}

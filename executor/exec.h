/* The executor: workers, run queues, parking, block_on, metrics. */
#ifndef EXECUTOR_EXEC_H
#define EXECUTOR_EXEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "future.h"
#include "queue.h"
#include "spin.h"
#include "task.h"
#include "timer.h"
#include "trace.h"

#ifdef SMP_MAX
#define EXEC_MAX_WORKERS SMP_MAX
#else
#define EXEC_MAX_WORKERS 8
#endif

/* Every EXEC_INJECT_INTERVAL ticks a worker looks at the injection queue
 * and the timers before its local queue (Tokio's 61). */
#define EXEC_INJECT_INTERVAL 61u
/* At most this many consecutive polls from the LIFO slot. */
#define EXEC_LIFO_MAX 3u

/* The worker this thread/CPU is running (inside exec_worker_run or
 * exec_block_on), or NULL: outside them, or inside an interrupt handler
 * (exec_interrupt_enter). */
extern _Thread_local struct exec_worker *exec_self;

/* exec_init flags */
#define EXEC_POLL_TIMING 1u	/* measure each poll with now_ns (2 calls) */

struct exec_worker_stats {
	_Atomic uint64_t polls;		/* tasks run: up to date when the
					   worker parks or returns, else at
					   most EXEC_INJECT_INTERVAL behind */
	_Atomic uint64_t parks;
	_Atomic uint64_t steals;	/* tasks taken from other workers */
	_Atomic uint64_t inject_pops;
	_Atomic uint64_t lifo_polls;
	_Atomic uint64_t pinned_pops;	/* tasks from the pinned queue */
};

/* One list of the live-task registry.  A worker's own list is locked
 * without masking interrupts by that worker (no interrupt handler ever
 * spawns or completes a task), and with masking by anyone else. */
struct exec_reg {
	struct spin lock;
	struct task *head;
};

struct exec_worker {
	struct runq runq;
	/* Tasks pinned to this worker (task->pin == 1 + id), woken from
	 * anywhere: never stolen; looked at like the injection queue (when
	 * the local queue is empty, and on the fairness tick). */
	struct exec_inject pinned;
	struct task *lifo;		/* owner only */
	struct task *until;		/* block_on's task, on its worker */
	uint32_t lifo_left;		/* LIFO polls left in this streak, + 1 */
	uint32_t inject_countdown;	/* ticks until the fairness check */
	uint32_t countdown_start;	/* what it counted down from */
	bool poll_timing;		/* exec->flags & EXEC_POLL_TIMING */
	/* The context task_run polls with: cx.waker is &waker, whose data
	 * task_run sets to the task it runs (the vtable is set once). */
	struct waker waker;
	struct context cx;
	bool in_timers;			/* a wake now comes from a timer, not
					   from the running task */
	/* Tasks the timer wheel woke on this worker, in deadline order
	 * (owner only, linked by task->next): they run before any other
	 * local work, so a timer's task runs right after the poll during
	 * which its deadline passed, however many tasks are queued. */
	struct task *due_head, *due_tail;
	/* Optional, for the park hook: a clock reading (ns, as now_ns
	 * gives it) taken after the park ended, stored through exec_self.
	 * The worker then fires its timers up to it instead of reading
	 * the clock again.  0: none; the worker clears it after use. */
	uint64_t park_now_ns;
	/* For the park hook too: the clock reading (ns) the worker compared
	 * the deadline with just before it called park, 0 with no deadline.
	 * A hook that needs the time to compute a relative wait may use it
	 * (the wait then ends a little late, never early).  A hook that
	 * knows its park ended before the deadline (a completion or an
	 * unpark came first) may store it as park_now_ns. */
	uint64_t park_from_ns;
	bool searching;			/* counted in exec->nsearching */
	bool turned_away;		/* too many searchers: parked without */
	unsigned id;
	uint32_t rng;
	struct executor *exec;
	struct exec_reg reg;		/* tasks spawned by this worker's tasks */
	struct exec_worker_stats stats;
#ifdef EXEC_CHECK
	/* The task this worker is completing, from before it is COMPLETE
	 * until the executor's reference is dropped (task_complete_inl):
	 * exec_check_scan does not take that reference for a leak. */
	_Atomic(struct task *) check_completing;
#endif
};

struct executor {
	struct exec_hooks hooks;
	unsigned nworkers;
	unsigned flags;
	struct exec_inject inject;
	_Atomic uint64_t idle_mask;	/* bit w: worker w is (about to) park */
	_Atomic unsigned nsearching;	/* workers looking for work to steal */
	_Atomic size_t live;		/* tasks spawned and not complete */
	_Atomic unsigned until_idle;	/* workers that return when live == 0 */
	_Atomic bool stop;
	/* The registry of live tasks: this shared list for tasks spawned
	 * outside a worker, plus one list per worker (exec_worker.reg). */
	struct spin reg_lock;		/* protects reg_head's list */
	struct task *reg_head;
	struct timer_wheel wheel;
	struct exec_worker workers[EXEC_MAX_WORKERS];
};

/* Set up e with nworkers (1..EXEC_MAX_WORKERS) workers.  The hooks are
 * copied.  Nothing runs until a worker loop is entered. */
void exec_init(struct executor *e, const struct exec_hooks *hooks,
               unsigned nworkers, unsigned flags);

/* Drop every task that never completed (future_drop, joiners see
 * CANCELLED) so storage returns to its pools.  Call with no worker
 * running. */
void exec_shutdown(struct executor *e);

/* Run worker `id` on the calling thread/CPU.  Returns when no task is
 * left (forever == false) or after exec_stop.  Each id on one thread. */
void exec_worker_run(struct executor *e, unsigned id, bool forever);

/* exec_worker_run(e, 0, false): run until every task completed. */
void exec_run(struct executor *e);

/* Run worker 0 on this thread until f is Ready; other tasks run too.
 * f lives in the caller's memory for the whole call. */
void exec_block_on(struct executor *e, struct future *f);

/*
 * An interrupt handler is about to run on this CPU, in the middle of
 * whatever the interrupted worker was doing (perhaps pushing onto its own
 * run queue).  Until exec_interrupt_exit, this CPU counts as no worker:
 * every wake from the handler goes through the injection queue, whose
 * lock masks interrupts, never through the interrupted worker's LIFO
 * slot or run queue.  Pass the returned value to exec_interrupt_exit.  Nested
 * handlers: call it for the outermost only (or for each, in pairs).
 */
static inline struct exec_worker *exec_interrupt_enter(void)
{
	struct exec_worker *w = exec_self;
	exec_self = NULL;
	return w;
}

static inline void exec_interrupt_exit(struct exec_worker *saved)
{
	exec_self = saved;
}

/*
 * The task being polled has held this worker for long (a user process
 * whose time slice ran out, or that an interrupt stopped): make the
 * worker's next turn its fairness tick, so due timers and woken tasks
 * waiting in the injection queue run next instead of up to
 * EXEC_INJECT_INTERVAL polls later (each of which may be just as long).
 * From a poll on a worker; elsewhere it does nothing.
 */
static inline void exec_tick_next_turn(struct exec_worker *w)
{
	/* Keep countdown_start - inject_countdown, the polls since the
	 * last flush (ticks_flush_idle in exec.c). */
	w->countdown_start -= w->inject_countdown - 1;
	w->inject_countdown = 1;
}

static inline void exec_tick_soon(void)
{
	struct exec_worker *w = exec_self;
	if (w)
		exec_tick_next_turn(w);
}

/* Make every worker loop return soon.  Any thread. */
void exec_stop(struct executor *e);

/* The executor's timer wheel (shared by all workers). */
static inline struct timer_wheel *exec_wheel(struct executor *e)
{
	return &e->wheel;
}

static inline uint64_t exec_now(struct executor *e)
{
	return e->hooks.now_ns(e->hooks.ctx);
}

/* Number of tasks spawned and not yet complete. */
static inline size_t exec_live_tasks(struct executor *e)
{
	return atomic_load_explicit(&e->live, memory_order_acquire);
}

/* One line per live task: name, state, polls, wakes, poll time, then one
 * line per worker.  Tasks on the registry lists first (write is called
 * under a list lock with interrupts masked), then those in static pools
 * (holding a reference, no lock): write must not touch the executor (a
 * console putc).  Not from an interrupt handler. */
typedef void (*exec_write_fn)(void *ctx, const char *s, size_t n);
void exec_print_tasks(struct executor *e, exec_write_fn write, void *ctx);

/* ---- Internal, for task.c -------------------------------------------------*/

/* The worker of e that this thread/CPU runs, or NULL (another thread, an
 * executor's non-worker, or an interrupt handler). */
static inline struct exec_worker *exec_current(struct executor *e)
{
	struct exec_worker *w = exec_self;
	return w && w->exec == e ? w : NULL;
}

/* Queue t, which the caller just made SCHEDULED.  Any context. */
void exec_schedule(struct executor *e, struct task *t);
/* Not the LIFO slot: w's run queue (w != NULL) or the injection queue. */
void exec_schedule_queue(struct executor *e, struct exec_worker *w, struct task *t);
/* A pinned task (t->pin != 0): its worker's pinned queue, and unpark
 * that worker if it is idle.  Any context. */
void exec_schedule_pinned(struct executor *e, struct task *t);

/* A task woken (or spawned) on worker w by the task it runs, or by a
 * completion, goes to w's LIFO slot (its data is hot in the cache), and
 * the one it displaces to the back of w's run queue (w NULL: the
 * injection queue).  Not pinned, and not a timer's wake. */
static inline __attribute__((always_inline))
void exec_schedule_lifo(struct executor *e, struct exec_worker *w, struct task *t)
{
	if (w) {
		struct task *old = w->lifo;
		EXEC_TR(PX_TR_ENQUEUE, PX_TR_Q_LIFO, t, w->id);
		w->lifo = t;
		if (old)
			exec_schedule_queue(w->exec, w, old);
		return;
	}
	exec_schedule_queue(e, NULL, t);
}

/* exec_schedule_on for a task known not to be pinned: a timer's wake
 * (in_timers) goes to the worker's due list, in deadline order; anything
 * else to the LIFO slot. */
static inline void exec_schedule_unpinned(struct executor *e,
                                          struct exec_worker *w, struct task *t)
{
	if (w && w->in_timers) {
		EXEC_TR(PX_TR_ENQUEUE, PX_TR_Q_DUE, t, w->id);
		t->next = NULL;
		if (w->due_tail)
			w->due_tail->next = t;
		else
			w->due_head = t;
		w->due_tail = t;
		return;
	}
	exec_schedule_lifo(e, w, t);
}

/* exec_schedule with w = exec_current(e) already known. */
static inline void exec_schedule_on(struct executor *e, struct exec_worker *w,
                                    struct task *t)
{
	if (__builtin_expect(t->pin != 0, 0)) {
		exec_schedule_pinned(e, t);
		return;
	}
	exec_schedule_unpinned(e, w, t);
}
/*
 * Registry: a task spawned by a worker's task goes on that worker's list;
 * one spawned elsewhere (another thread, early kernel code) goes on the
 * shared list.  Completion unlinks it from whichever list it is on:
 * usually the same worker's, uncontended, but a stolen task completes on
 * another worker.  Worker lists are locked without masking interrupts (an
 * exchange and a store), because no interrupt handler spawns or completes
 * a task; the shared list keeps the masking lock, since a trap handler
 * that spawned anyway (against the rule) would land there.
 */
static inline void exec_reg_link(struct task **head, struct task *t)
{
	t->reg_prev = NULL;
	t->reg_next = *head;
	if (*head)
		(*head)->reg_prev = t;
	*head = t;
}

static inline void exec_reg_unlink(struct task **head, struct task *t)
{
	if (t->reg_prev)
		t->reg_prev->reg_next = t->reg_next;
	else
		*head = t->reg_next;
	if (t->reg_next)
		t->reg_next->reg_prev = t->reg_prev;
}

void exec_reg_shared_add(struct executor *e, struct task *t);
void exec_reg_shared_remove(struct executor *e, struct task *t);
void exec_task_done_slow(struct executor *e, struct task *t, size_t live_before);

/* A task was created by worker w (NULL: not on a worker).  Not from an
 * interrupt handler. */
static inline void exec_task_added(struct executor *e, struct exec_worker *w,
                                   struct task *t)
{
	if (t->reg_idx == TASK_REG_POOL) {
		/* registered by its pool slot */
	} else if (w) {
		t->reg_idx = w->id + 1;
		spin_lock_noirq(&w->reg.lock);
		exec_reg_link(&w->reg.head, t);
		spin_unlock_noirq(&w->reg.lock);
	} else {
		exec_reg_shared_add(e, t);
	}
	atomic_fetch_add(&e->live, 1);
}

/* t completed (s: its state word then): leave the registry and the live
 * count.  Not from an interrupt handler. */
static inline void exec_task_done(struct executor *e, struct task *t, uint64_t s)
{
	if (__builtin_expect(s & TASK_POOLED, 1)) {
		/* Its pool slot says COMPLETE now: off the registry.  (A pool
		 * task is never block_on's, which has no storage source.) */
		size_t live = atomic_fetch_sub(&e->live, 1);
		if (live == 1)
			exec_task_done_slow(e, t, live);
		return;
	}
	if (t->reg_idx) {
		struct exec_reg *r = &e->workers[t->reg_idx - 1].reg;
		spin_lock_noirq(&r->lock);
		exec_reg_unlink(&r->head, t);
		spin_unlock_noirq(&r->lock);
	} else {
		exec_reg_shared_remove(e, t);
	}
	size_t live = atomic_fetch_sub(&e->live, 1);
	if (live == 1 || !t->src)
		exec_task_done_slow(e, t, live);
}

#include "task_impl.h"

#endif /* EXECUTOR_EXEC_H */

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

/*
 * What the environment provides at run time.  Every hook gets ctx.
 *
 *   now_ns(ctx)            monotonic time.  Any context.
 *   park(ctx, w, dl)       block worker w until unpark(w), until the time
 *                          dl (ns; UINT64_MAX: none) or spuriously.  An
 *                          unpark that came first must make it return at
 *                          once (a token, as Rust's thread::park).
 *   unpark(ctx, w)         wake worker w or make its next park return.
 *                          Any context, including interrupt handlers;
 *                          must not poll.
 *   current(ctx)           the worker pointer this thread/CPU registered
 *                          with set_current, or NULL.  In the kernel it
 *                          must return NULL in an interrupt handler (so
 *                          its wakes go through the injection queue).
 *                          May be NULL: then every wake is injected.
 *   set_current(ctx, p)    remember p for current() on this thread/CPU.
 */
struct exec_platform {
	uint64_t (*now_ns)(void *ctx);
	void (*park)(void *ctx, unsigned worker, uint64_t deadline_ns);
	void (*unpark)(void *ctx, unsigned worker);
	void *(*current)(void *ctx);
	void (*set_current)(void *ctx, void *worker);
	void *ctx;
};

/* exec_init flags */
#define EXEC_POLL_TIMING 1u	/* measure each poll with now_ns (2 calls) */

struct exec_worker_stats {
	_Atomic uint64_t polls;		/* tasks run */
	_Atomic uint64_t parks;
	_Atomic uint64_t steals;	/* tasks taken from other workers */
	_Atomic uint64_t inject_pops;
	_Atomic uint64_t lifo_polls;
};

struct exec_worker {
	struct exec_ring ring;
	struct task *lifo;		/* owner only */
	unsigned lifo_streak;
	uint32_t tick;
	bool in_poll;			/* a wake now comes from a running task */
	bool searching;			/* counted in exec->nsearching */
	unsigned id;
	uint32_t rng;
	struct executor *exec;
	struct exec_worker_stats stats;
};

struct executor {
	struct exec_platform plat;
	unsigned nworkers;
	unsigned flags;
	struct exec_inject inject;
	_Atomic uint64_t idle_mask;	/* bit w: worker w is (about to) park */
	_Atomic unsigned nsearching;	/* workers looking for work to steal */
	_Atomic size_t live;		/* tasks spawned and not complete */
	_Atomic unsigned until_idle;	/* workers that return when live == 0 */
	_Atomic bool stop;
	struct spin reg_lock;		/* protects the registry list */
	struct task *reg_head;
	struct timer_wheel wheel;
	struct exec_worker workers[EXEC_MAX_WORKERS];
};

/* Set up e with nworkers (1..EXEC_MAX_WORKERS) workers.  The platform is
 * copied.  Nothing runs until a worker loop is entered. */
void exec_init(struct executor *e, const struct exec_platform *plat,
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

/* Make every worker loop return soon.  Any thread. */
void exec_stop(struct executor *e);

/* The executor's timer wheel (shared by all workers). */
struct timer_wheel *exec_wheel(struct executor *e);

static inline uint64_t exec_now(struct executor *e)
{
	return e->plat.now_ns(e->plat.ctx);
}

/* Number of tasks spawned and not yet complete. */
static inline size_t exec_live_tasks(struct executor *e)
{
	return atomic_load_explicit(&e->live, memory_order_acquire);
}

/* One line per live task: name, state, polls, wakes, poll time, then one
 * line per worker.  write is called under the registry lock with
 * interrupts masked: it must not touch the executor (a console putc). */
typedef void (*exec_write_fn)(void *ctx, const char *s, size_t n);
void exec_print_tasks(struct executor *e, exec_write_fn write, void *ctx);

/* ---- Internal, for task.c -------------------------------------------------*/

/* Queue t, which the caller just made SCHEDULED.  Any context. */
void exec_schedule(struct executor *e, struct task *t);
/* A task was created / completed: registry and live count. */
void exec_task_added(struct executor *e, struct task *t);
void exec_task_done(struct executor *e, struct task *t);

#endif /* EXECUTOR_EXEC_H */

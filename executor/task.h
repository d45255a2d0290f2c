/* Tasks: a spawned future with its state word, storage, waker and join handle. */
#ifndef EXECUTOR_TASK_H
#define EXECUTOR_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "future.h"
#include "spin.h"

/* EXEC_CHECK builds count waker traffic per task (check.h). */
#ifdef EXEC_CHECK
#define EXEC_CHECK_COUNT(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)
#else
#define EXEC_CHECK_COUNT(c) ((void)0)
#endif

struct executor;
struct task;

/*
 * Memory layout of one task (one allocation, hot first, cold last):
 *
 *   +-------------------------------+  struct task (header)
 *   | state word (flags + refcount) |  touched by every wake and poll
 *   | queue link, storage, exec     |
 *   | metrics, registry links, name |
 *   +-------------------------------+  core: t->future
 *   | the future (copied at spawn), |
 *   | then its output: the field    |
 *   | the future writes before it   |
 *   | returns Ready, read in place  |
 *   +-------------------------------+  trailer: struct task_trailer
 *   | join waker                    |  touched once per join
 *   +-------------------------------+
 *
 * As in Rust, where the core holds the future and, once it is done, its
 * output in the same memory: a finished future is never polled or
 * dropped again, so its output field stays put until the joiner copies
 * it out; nothing is copied on Ready.
 *
 * State word: low byte flags, the rest a reference count (TASK_REF_ONE).
 *
 *   SCHEDULED     in a run queue, or woken while RUNNING (poll again)
 *   RUNNING       a worker is inside the future's poll
 *   COMPLETE      the future finished or was dropped
 *   CANCELLED     abort requested
 *   JOIN_INTEREST a join handle is alive
 *   JOIN_WAKER    the trailer holds the joiner's waker
 *   READY         (with COMPLETE) the future returned Ready: the output
 *                 is readable.  COMPLETE without READY: cancelled.
 *   POOLED        the storage is a static pool's slot (set at spawn)
 *
 * References: one for the executor (held from spawn until the task is
 * complete), one for the join handle, one per waker clone.  A queue entry
 * needs none: a task is only queued while it is not complete, and then
 * the executor's reference keeps it alive.  The storage goes back to its
 * pool or allocator when the count reaches 0 (task_unref).
 *
 * Lifecycle.  Each numbered transition names the function that performs
 * it (the numbers recur in task.c and task_impl.h):
 *
 *                 (1) task_spawn
 *                       |
 *                       v
 *     +-------->  [SCHEDULED]  <-------------------------------+
 *     |                 |                                      |
 *     |                 | (2) task_run                         |
 *     |                 v                                      |
 *     |            [RUNNING] --(3) task_wake_by_ref/_by_val ---+ (task_run
 *     |              |   |  \                                    requeues
 *     |  (4) task_run|   |   \ (6) task_run: Ready               it at the
 *     |  Pending     |   |    \    -> task_complete              back)
 *     |              v   |     v
 *     |          [IDLE]  |   [COMPLETE] --(8) task_complete: task_waker_wake
 *     |              |   |      ^              on the join waker
 *     +--------------+   |      |
 *  (5) task_wake_by_ref, +------+ (7) task_run on a CANCELLED task:
 *      task_wake_by_val or            future_drop (its safe point),
 *      join_handle_abort              task_complete
 *
 *   (1)  task_spawn (or task_init_borrowed): SCHEDULED, one reference for
 *        the executor and one for the join handle if any; queued.
 *   (2)  task_run: SCHEDULED -> RUNNING, then polls the future.
 *   (3)  task_wake_by_ref / task_wake_by_val on a RUNNING task:
 *        +SCHEDULED; task_run queues it again after the poll.
 *   (4)  task_run: Pending, RUNNING -> IDLE.
 *   (5)  task_wake_by_ref / task_wake_by_val on an IDLE task: +SCHEDULED,
 *        and that caller queues it (exec_schedule_*).
 *   (6)  task_run: Ready -> task_complete: COMPLETE + READY.
 *   (7)  task_run on a CANCELLED task: future_drop, task_complete:
 *        COMPLETE without READY.
 *   (8)  task_complete: task_waker_wake on the join waker (if JOIN_WAKER).
 *   (9)  join_handle_abort: +CANCELLED +SCHEDULED in one RMW, a wake:
 *        queued if IDLE (5), requeued by task_run if RUNNING (3).
 *   (10) join_handle_poll: stores the waker in the trailer, then
 *        +JOIN_WAKER by CAS unless COMPLETE; once COMPLETE, reads output.
 *   (11) join_handle_detach / drop: -JOIN_INTEREST -JOIN_WAKER, unref.
 *   (12) task_unref, task_wake_by_val or task_complete dropping the last
 *        reference: count 0 -> task_release returns the storage.
 *
 * Join waker hand-over (no lock).  Who may touch the trailer's join
 * waker slot is decided by the state word alone:
 *
 *   JOIN_WAKER clear              the join handle owns the slot.
 *   JOIN_WAKER set, not COMPLETE  nobody touches it.  A joiner polled
 *                                 again takes it back by clearing
 *                                 JOIN_WAKER with a CAS (which fails once
 *                                 COMPLETE is set), keeps the waker if it
 *                                 will_wake the new one, and sets the bit
 *                                 again by CAS.
 *   JOIN_WAKER set, COMPLETE      the completer owns it: (8) moves the
 *                                 waker out and wakes it by value, then
 *                                 clears JOIN_WAKER together with its own
 *                                 reference in one RMW.
 *
 * (10) sets JOIN_WAKER only by CAS from a state without COMPLETE, so
 * "JOIN_WAKER clear and COMPLETE" means the completer is done with the
 * slot.  (11) clears JOIN_INTEREST (and JOIN_WAKER, unless the completer
 * owns the slot) and, once COMPLETE, drops its reference in the same RMW
 * (then a fetch_sub: JOIN_INTEREST is known to be set).
 * No waker is woken twice, leaked, or read while it is written.
 *
 * Waking a COMPLETE task, waking a SCHEDULED one, or dropping a waker
 * after completion only touches the count: harmless by construction.
 */
#define TASK_SCHEDULED     (1u << 0)
#define TASK_RUNNING       (1u << 1)
#define TASK_COMPLETE      (1u << 2)
#define TASK_CANCELLED     (1u << 3)
#define TASK_JOIN_INTEREST (1u << 4)
#define TASK_JOIN_WAKER    (1u << 5)
#define TASK_READY         (1u << 6)
#define TASK_POOLED        (1u << 7)
#define TASK_REF_SHIFT     8
#define TASK_REF_ONE       ((uint64_t)1 << TASK_REF_SHIFT)
#define TASK_FLAGS_MASK    (TASK_REF_ONE - 1)

/* task->reg_idx of a task from a static pool: it is on no registry
 * list, its pool slot is its registry entry (task_pools_each). */
#define TASK_REG_POOL      0xffffu

/*
 * Where task memory comes from: a pool (task_pool_src) or an allocator
 * hook the environment supplies.  alloc returns NULL when out of memory;
 * spawn then fails with TASK_ENOMEM.  Both may be called from any worker
 * (free also from an interrupt handler dropping the last waker), so they
 * must be thread- and interrupt-safe.  This is the task's storage vtable.
 */
struct task_src {
	void *(*alloc)(struct task_src *src, size_t size);
	void (*free)(struct task_src *src, void *p, size_t size);
};

struct task_trailer {
	struct waker join_waker;	/* guarded by JOIN_WAKER (see above) */
};

struct task {
	/* hot: every wake and poll */
	_Atomic uint64_t state;
	struct task *next;		/* injection queue link */
	struct executor *exec;
	struct future *future;		/* the core's future */
	/* warm: spawn, completion, join */
	struct task_src *src;		/* NULL: not ours to free */
	uint32_t size;			/* bytes of the whole allocation */
	uint32_t out_off;		/* the output (inside the future), from
					   the task */
	uint32_t out_size;
	uint32_t trailer_off;
	/* metrics (relaxed atomics: printed from other threads); together,
	 * so that a spawn's stores zeroing them are adjacent */
	_Atomic uint32_t polls;
	_Atomic uint32_t wakes;
#ifdef EXEC_CHECK
	/* The waker discipline checks (check.h): clones and drops of its
	 * wakers, wakes by itself during its own poll. */
	_Atomic uint32_t clones, drops, requeues, pad_check;
#endif
	_Atomic uint64_t poll_ns;
	uint16_t reg_idx;		/* registry list: 0 shared, 1 + worker,
					   TASK_REG_POOL: none (its pool) */
	uint16_t pin;			/* 0: any worker; 1 + w: only worker w */
	const char *name;
	struct task *reg_prev, *reg_next;	/* live-task registry */
};

/* Core and trailer offsets: 16-byte aligned core, 8-byte aligned trailer. */
#define TASK_ALIGN_UP(x, a)   (((x) + (a) - 1) & ~(size_t)((a) - 1))
#define TASK_CORE_OFF         TASK_ALIGN_UP(sizeof(struct task), 16)
#define TASK_TRAILER_OFF(fs)  (TASK_CORE_OFF + TASK_ALIGN_UP((size_t)(fs), 8))
/* Bytes of one task whose future is fs bytes (its output included). */
#define TASK_SIZE(fs) \
	TASK_ALIGN_UP(TASK_TRAILER_OFF(fs) + sizeof(struct task_trailer), 16)

/* What to spawn.  The future is copied into the task (it must not have
 * been polled yet); after Ready, the joiner copies out_size bytes at
 * out_off inside it (the output field). */
struct task_desc {
	const char *name;
	const struct future *future;
	size_t future_size;
	size_t out_off;
	size_t out_size;
	/* 0 (what the TASK_DESC macros leave): run on any worker.  1 + w:
	 * the task always runs on worker w: it is never stolen, and every
	 * wake queues it on w's pinned queue (exec.h).  Set it on a copy:
	 *   struct task_desc d = TASK_DESC_VOID(f, "pong"); d.pin = 1 + 2; */
	unsigned pin;
};

/* TASK_DESC(my_future_struct, out_field, "name"): sizes from the types. */
#define TASK_DESC(fut, out_member, nm) \
	((struct task_desc){ (nm), (const struct future *)&(fut), sizeof(fut), \
	  offsetof(__typeof__(fut), out_member), sizeof((fut).out_member), 0 })
/* For a future with no output. */
#define TASK_DESC_VOID(fut, nm) \
	((struct task_desc){ (nm), (const struct future *)&(fut), sizeof(fut), 0, 0, 0 })

/* ---- Static pools -------------------------------------------------------
 *
 *   TASK_POOL(net_pool, struct rx_loop, 16);
 *   task_spawn(exec, &net_pool.src, &desc, &jh);
 *
 * Declares a pool of `count` slots, each big enough for a future of type
 * future_type and an output of output_type, in static storage: no heap,
 * no init call.  Slots are handed out lazily, then recycled through a free
 * list under a spin lock (so a free from an interrupt handler is safe).
 *
 * In front of the lock sit TASK_POOL_SPARES "spare" words, one per worker
 * (indexed by task_spare_hint, which each worker sets for its thread to
 * its id modulo TASK_POOL_SPARES, so no use needs to reduce it):
 * a free swaps the slot into the spare word, an allocation swaps it out,
 * one atomic exchange each and no lock, so a task that is spawned and
 * joined on one worker recycles the same (cache-hot) slot.  The exchange
 * makes every use safe from any thread or interrupt handler, whatever
 * the hint.  A slot in a spare word is free (task_pool_in_use does not
 * count it), and an allocation that finds the free list empty sweeps
 * every spare word before it carves a new slot or fails, so a pool never
 * reports exhaustion while it has a free slot.
 */
#define TASK_POOL_SPARES 8

struct task_pool {
	struct task_src src;		/* first: &pool->src is the source */
	struct spin lock;
	unsigned char *mem;
	size_t slot_size;
	size_t count;
	size_t fresh;			/* slots never handed out start here */
	void *free_list;
	_Atomic size_t fail_count;	/* allocations refused (exhausted) */
	void *_Atomic spare[TASK_POOL_SPARES];
	struct task_pool *next_pool;	/* task_pools list, set once */
};

/*
 * Every pool that ever handed out a slot, newest first (a pool links
 * itself, lock-free, when it carves its first slot).  The pools are the
 * registry of their tasks: a slot holds a live task iff its state word
 * has a reference and no COMPLETE (a free slot keeps the state its last
 * task left, count 0; a never-used one is all zero), so spawning and
 * completing a pool task touch no list.  task_pools_each visits them.
 */
extern struct task_pool *_Atomic task_pools;

/* Call fn(arg, t) for every live task of exec that sits in a static
 * pool, holding a reference on t for the call (so t cannot be freed or
 * reused meanwhile; t may complete).  Any thread; not from an interrupt
 * handler (dropping the reference may free the slot).  Pools in link
 * order (newest pool first), slots in address order. */
void task_pools_each(struct executor *exec,
                     void (*fn)(void *arg, struct task *t), void *arg);

/* Slots holding a task now (a reference on its state word), by looking
 * at every slot: exact when the pool is quiet, a snapshot otherwise.
 * Nothing is counted as slots come and go, so a spawn pays nothing. */
size_t task_pool_in_use(struct task_pool *p);
/* Slots ever handed out: the most the pool has needed at once (an
 * allocation reuses a free slot, also one in a spare word, before it
 * takes a new one; two racing allocations may overshoot by one). */
size_t task_pool_high_water(struct task_pool *p);

void *task_pool_alloc(struct task_src *src, size_t size);
void task_pool_free(struct task_src *src, void *p, size_t size);

/* Which spare word of a pool this thread uses (its worker id modulo
 * TASK_POOL_SPARES; 0 for any other thread).  A hint only: any value
 * below TASK_POOL_SPARES is correct. */
extern _Thread_local unsigned task_spare_hint;

/* mem_ must start zeroed (static storage is): task_pools_each reads the
 * state word of every slot, handed out yet or not. */
#define TASK_POOL_INIT(mem_, slot_size_, count_) \
	{ { task_pool_alloc, task_pool_free }, SPIN_INIT, (unsigned char *)(mem_), \
	  (slot_size_), (count_), 0, NULL, 0, { NULL }, NULL }

#define TASK_POOL(name, future_type, count) \
	static _Alignas(16) unsigned char name##_mem[(count)] \
		[TASK_SIZE(sizeof(future_type))]; \
	static struct task_pool name = TASK_POOL_INIT(name##_mem, \
		TASK_SIZE(sizeof(future_type)), (count))

/* ---- Join handles -------------------------------------------------------*/

enum join_result {
	JOIN_PENDING = 0,
	JOIN_OK,
	JOIN_CANCELLED,
};

/* A future that resolves to the task's result.  Awaiting it copies the
 * output to `out` (set it before the first poll; NULL discards it). */
struct join_handle {
	struct future base;
	struct task *task;		/* NULL: detached or consumed */
	void *out;
	enum join_result result;
};

/* The handle's base.vtable: awaiting it through future_poll works, and
 * dropping it (future_drop) detaches. */
extern const struct future_vtable join_handle_future_vtable;

enum task_err {
	TASK_OK = 0,
	TASK_ENOMEM = -1,		/* the source had no memory */
	TASK_ETOOBIG = -2,		/* the future or output does not fit */
};

/* Spawn desc on exec with storage from src.  On success fills *jh (pass
 * NULL to spawn detached) and schedules the task.  Callable from any
 * thread and from a task; not from an interrupt handler (the registry
 * lock masks interrupts, so it is safe, but spawning is not a wake). */
static inline int task_spawn(struct executor *exec, struct task_src *src,
                             const struct task_desc *desc, struct join_handle *jh);
/* (task_spawn is inline, in task_impl.h: a constant descriptor folds.) */

/* (1)+(2) for a future built in place, polled at once by the caller:
 * a spawn whose first poll needs no trip through a run queue, and
 * leaves no task behind if that poll is Ready.
 *
 * t is storage just taken from src (src->alloc, task_pool_alloc for a
 * static pool), TASK_SIZE(d->future_size) bytes, whose core
 * (TASK_CORE_OFF) already holds the future, never polled; d->future is
 * not read.  t is spawned detached (no join handle, d->pin 0) and its
 * future polled once here with t's own waker, as a worker would.
 *   POLL_READY: the future finished; the task is complete and its
 *     storage goes back to src (at once, or when the last waker clone
 *     taken during the poll is dropped).  t is no longer the caller's.
 *   POLL_PENDING: t is a task like any other after a Pending poll:
 *     IDLE, or queued if it was woken during the poll.  t is no longer
 *     the caller's either (another worker may run and finish it).
 * Callable where task_spawn is, also from inside another task's poll
 * (the future is polled on the caller's stack). */
enum poll task_spawn_polled(struct executor *exec, struct task_src *src, struct task *t,
                            const struct task_desc *d);

/* Poll a join handle: POLL_READY once the task completed or was
 * cancelled (jh->result says which; output copied to jh->out).  After
 * Ready the handle is consumed (it released its reference). */
static inline enum poll join_handle_poll(struct join_handle *jh,
                                        struct context *cx);
/* (inline, in task_impl.h: the complete and first-wait cases.) */

/* Give up interest in the result; the task keeps running.  Idempotent. */
void join_handle_detach(struct join_handle *jh);

/* Ask the task to stop: its future is dropped (drop function called) the
 * next time it is not being polled, and a joiner sees JOIN_CANCELLED.
 * A task that already completed keeps its output.  The handle stays
 * joinable. */
void join_handle_abort(struct join_handle *jh);

/* ---- For the executor (exec.c) and tests ---------------------------------*/

/* The one waker vtable of this executor (waker.c); waker data is the task. */
extern const struct raw_waker_vtable task_waker_vtable;

/* True if w is one of our wakers (vtable address comparison). */
static inline bool task_waker_is_ours(const struct waker *w)
{
	return w->raw.vtable == &task_waker_vtable;
}

/* Clone *w into *out if it is one of our wakers and return true: that
 * is one reference increment, a known and tiny cost, so a sync primitive
 * may do it while holding its spin lock (saving a second lock round
 * trip).  Any other waker: false, nothing done; the caller clones it
 * with waker_clone outside its lock, since that cost is unknown. */
static inline bool task_waker_clone_ours(const struct waker *w, struct waker *out)
{
	if (!task_waker_is_ours(w))
		return false;
	struct task *t = (struct task *)(void *)w->raw.data;
	atomic_fetch_add_explicit(&t->state, TASK_REF_ONE, memory_order_relaxed);
	EXEC_CHECK_COUNT(t->clones);
	*out = *w;
	return true;
}

/* Prepare a task whose future lives elsewhere (exec_block_on's task on
 * the caller's stack): one reference for the executor, one for the
 * caller, SCHEDULED.  The caller schedules it. */
void task_init_borrowed(struct task *t, struct executor *exec,
                        struct future *f, const char *name);

struct exec_worker;

/* (2)-(7): poll t once.  Caller: worker w, which popped t from a queue.
 * Returns true if t was woken during the poll and must be queued again
 * (at the back: that is the self-wake budget). */
bool task_run(struct task *t, struct exec_worker *w);

/* Drop the future of a task that will never be polled again (executor
 * shutdown); completes it as cancelled.  Caller owns it: not queued, not
 * running. */
void task_shutdown(struct task *t);

/* (3)/(5) Wake t; the caller keeps its reference (a waker's wake_by_ref).
 * Any context, including interrupt handlers.  (Inline, in task_impl.h.) */
static inline void task_wake_by_ref(struct task *t);

/* (3)/(5) Wake t and drop the caller's reference, (12) if it was the last
 * (a waker's wake).  w: the worker completing a task, or NULL (any
 * context).  (Inline, in task_impl.h.) */
static inline void task_wake_by_val(struct task *t, struct exec_worker *w);

void task_ref(struct task *t);
void task_unref(struct task *t);

static inline uint64_t task_state(const struct task *t)
{
	return atomic_load_explicit(&((struct task *)t)->state, memory_order_acquire);
}

static inline unsigned task_refcount(const struct task *t)
{
	return (unsigned)(task_state(t) >> TASK_REF_SHIFT);
}

/* The inline hot path (task_spawn among it) needs the executor. */
#include "exec.h"

#endif /* EXECUTOR_TASK_H */

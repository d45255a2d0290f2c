/* Run queues: each worker's bounded local queue with stealing (runq_*), and the shared injection queue. */
#ifndef EXECUTOR_QUEUE_H
#define EXECUTOR_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spin.h"

struct task;

/*
 * Local run queue protocol (a bounded ring buffer).  head and tail are
 * free-running 32-bit counters; slot i lives at buf[i % RUNQ_CAP].
 *
 *   owner push   writes buf[tail], then tail+1 (release).  Never overwrites
 *                an unconsumed slot: it checks tail - head < CAP first.
 *   owner pop    reads buf[head], then CAS head -> head+1.
 *   thief steal  reads n = half of tail - head entries, copies them to its
 *                own run queue beyond its tail, then CAS head -> head+n;
 *                only if that CAS wins does it publish its own tail.
 *
 *        head (CAS: owner and thieves)            tail (owner only)
 *          v                                        v
 *   ... | t | t | t | t | t | t | t | t | t | t |   |   | ...
 *          \______ stolen half ______/
 *
 * A loser of a head CAS drops what it read and retries; slots are atomic
 * so a thief may read a slot the owner is rewriting (it then loses the
 * CAS).  Only the owner may push or pop; anyone may steal.
 */
#define RUNQ_CAP 256u

struct runq {
	_Atomic uint32_t head;
	_Atomic uint32_t tail;
	struct task *_Atomic buf[RUNQ_CAP];
};

void runq_init(struct runq *r);
/* Owner only.  Returns false if full (the caller overflows elsewhere). */
bool runq_push(struct runq *r, struct task *t);
/* Owner only. */
struct task *runq_pop(struct runq *r);
/* Move about half of src's tasks to dst (dst's owner calls this; dst
 * should be empty) and return one of them to run now, or NULL. */
struct task *runq_steal(struct runq *src, struct runq *dst);
/* Approximate, any thread. */
uint32_t runq_len(const struct runq *r);

/* Owner only: nothing to pop.  Exact for the owner (only it pushes;
 * thieves only take), and cheap: two loads, no fence. */
static inline bool runq_empty_owner(const struct runq *r)
{
	struct runq *m = (struct runq *)r;
	return atomic_load_explicit(&m->head, memory_order_relaxed) ==
	       atomic_load_explicit(&m->tail, memory_order_relaxed);
}

/*
 * Injection queue: intrusive FIFO through task->next under a spin lock
 * that masks interrupts, so a wake from a trap handler can push while
 * the interrupted worker was popping on the same CPU without deadlock,
 * and nothing is allocated.  len lets workers skip the lock when empty.
 */
struct exec_inject {
	struct spin lock;
	struct task *head, *tail;
	_Atomic size_t len;
};

void inject_init(struct exec_inject *q);
void inject_push(struct exec_inject *q, struct task *t);
struct task *inject_pop(struct exec_inject *q);
/* Pop one task to run now and move up to max - 1 more into run queue r (whose
 * owner calls this), so that injected tasks then take turns with local
 * ones instead of waiting EXEC_INJECT_INTERVAL ticks each. */
struct task *inject_pop_batch(struct exec_inject *q, struct runq *r,
                              unsigned max);

static inline bool inject_empty(const struct exec_inject *q)
{
	return atomic_load_explicit(&((struct exec_inject *)q)->len,
	                            memory_order_seq_cst) == 0;
}

#endif /* EXECUTOR_QUEUE_H */

/* Run queues: the local run queue (owner push/pop, steal-half) and the injection queue. */
#include "hooks.h"
#include "queue.h"
#include "task.h"

#define RUNQ_MASK (RUNQ_CAP - 1)

void runq_init(struct runq *r)
{
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	for (unsigned i = 0; i < RUNQ_CAP; i++)
		atomic_init(&r->buf[i], NULL);
}

uint32_t runq_len(const struct runq *r)
{
	struct runq *m = (struct runq *)r;
	uint32_t h = atomic_load_explicit(&m->head, memory_order_seq_cst);
	uint32_t t = atomic_load_explicit(&m->tail, memory_order_seq_cst);
	return t - h;
}

/* LAB 3 BEGIN */
bool runq_push(struct runq *r, struct task *task)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	if (t - h >= RUNQ_CAP)
		return false;
	atomic_store_explicit(&r->buf[t & RUNQ_MASK], task, memory_order_relaxed);
	/* seq_cst: pairs with the parking re-check (see exec.c). */
	atomic_store_explicit(&r->tail, t + 1, memory_order_seq_cst);
	return true;
}

struct task *runq_pop(struct runq *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	for (;;) {
		if (h == t)
			return NULL;
		struct task *task = atomic_load_explicit(&r->buf[h & RUNQ_MASK],
		                                         memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + 1,
		                memory_order_acq_rel, memory_order_acquire))
			return task;
	}
}
/* LAB 3 STUB
// Stubs: the run queue is always full (push fails) and empty (pop finds
// nothing), so every task goes through the shared injection queue:
// correct, but every schedule takes its lock.
bool runq_push(struct runq *r, struct task *task)
{
	EXEC_LAB_TODO("LAB 3: implement runq_push and runq_pop (executor/queue.c)");
	(void)r;
	(void)task;
	return false;
}

struct task *runq_pop(struct runq *r)
{
	(void)r;
	return NULL;
}
   LAB 3 END */

/*
 * Steal half: claim the oldest ceil(n/2) of src's n tasks with one CAS on
 * src->head, copied into dst beyond dst's tail first (a CAS that loses
 * means someone else took them: drop the copies and retry), then publish
 * all but the newest with one store of dst->tail and return that one.
 * Safety: only dst's owner calls this, so dst's tail is ours to move.
 */
struct task *runq_steal(struct runq *src, struct runq *dst)
{
	/* LAB 8 BEGIN */
	uint32_t dt = atomic_load_explicit(&dst->tail, memory_order_relaxed);
	uint32_t dh = atomic_load_explicit(&dst->head, memory_order_acquire);
	uint32_t room = RUNQ_CAP - (dt - dh);
	uint32_t h = atomic_load_explicit(&src->head, memory_order_acquire);
	uint32_t n;
	for (;;) {
		uint32_t t = atomic_load_explicit(&src->tail, memory_order_acquire);
		n = t - h;
		if (n == 0 || n > RUNQ_CAP)
			return NULL;	/* empty, or a torn read: give up */
		n -= n / 2;
		if (n > room)
			n = room;
		if (n == 0)
			return NULL;
		for (uint32_t i = 0; i < n; i++) {
			struct task *task = atomic_load_explicit(
			        &src->buf[(h + i) & RUNQ_MASK], memory_order_relaxed);
			atomic_store_explicit(&dst->buf[(dt + i) & RUNQ_MASK], task,
			                      memory_order_relaxed);
		}
		if (atomic_compare_exchange_weak_explicit(&src->head, &h, h + n,
		                memory_order_acq_rel, memory_order_acquire))
			break;
	}
	/* Run the last one now; publish the rest. */
	n--;
	struct task *run = atomic_load_explicit(&dst->buf[(dt + n) & RUNQ_MASK],
	                                        memory_order_relaxed);
	if (n)
		atomic_store_explicit(&dst->tail, dt + n, memory_order_release);
	return run;
	/* LAB 8 STUB
	// Stub: steal nothing.  Every task runs on the hart whose run queue it
	// was pushed to: still correct, just not balanced.
	EXEC_LAB_TODO("LAB 8: implement runq_steal (executor/queue.c)");
	(void)src;
	(void)dst;
	return NULL;
	   LAB 8 END */
}

void inject_init(struct exec_inject *q)
{
	spin_init(&q->lock);
	q->head = q->tail = NULL;
	atomic_init(&q->len, 0);
}

/* Any context, including an interrupt handler. */
void inject_push(struct exec_inject *q, struct task *t)
{
	t->next = NULL;
	unsigned long fl = spin_lock(&q->lock);
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	atomic_store_explicit(&q->len,
	        atomic_load_explicit(&q->len, memory_order_relaxed) + 1,
	        memory_order_seq_cst);
	spin_unlock(&q->lock, fl);
}

struct task *inject_pop(struct exec_inject *q)
{
	if (inject_empty(q))
		return NULL;
	unsigned long fl = spin_lock(&q->lock);
	struct task *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		t->next = NULL;
		atomic_store_explicit(&q->len,
		        atomic_load_explicit(&q->len, memory_order_relaxed) - 1,
		        memory_order_release);
	}
	spin_unlock(&q->lock, fl);
	return t;
}

struct task *inject_pop_batch(struct exec_inject *q, struct runq *r,
                              unsigned max)
{
	if (inject_empty(q))
		return NULL;
	unsigned long fl = spin_lock(&q->lock);
	struct task *first = q->head;
	size_t n = 0;
	if (first) {
		struct task *t = first->next;
		n = 1;
		while (t && n < max && runq_push(r, t)) {
			t = t->next;
			n++;
		}
		q->head = t;
		if (!t)
			q->tail = NULL;
		first->next = NULL;
		atomic_store_explicit(&q->len,
		        atomic_load_explicit(&q->len, memory_order_relaxed) - n,
		        memory_order_release);
	}
	spin_unlock(&q->lock, fl);
	return first;
}

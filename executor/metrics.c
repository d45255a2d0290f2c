/* Metrics: the Ctrl-T table of live tasks and per-worker counters. */
#include <stdatomic.h>
#include <string.h>

#include "exec.h"
#include "task.h"

/* A line buffer with just enough formatting for the table (no libc). */
struct line {
	char buf[96];
	size_t n;
};

static void put_str(struct line *l, const char *s, size_t width)
{
	size_t i = 0;
	for (; s[i] && l->n < sizeof(l->buf) - 1 && (width == 0 || i < width); i++)
		l->buf[l->n++] = s[i];
	for (; i < width && l->n < sizeof(l->buf) - 1; i++)
		l->buf[l->n++] = ' ';
}

/* Right-aligned decimal in `width` columns. */
static void put_u64(struct line *l, uint64_t v, size_t width)
{
	char tmp[21];
	size_t k = 0;
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = k; i < width && l->n < sizeof(l->buf) - 1; i++)
		l->buf[l->n++] = ' ';
	while (k && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = tmp[--k];
}

static void line_flush(struct line *l, exec_write_fn write, void *ctx)
{
	l->buf[l->n++] = '\n';
	write(ctx, l->buf, l->n);
	l->n = 0;
}

static const char *state_name(uint64_t s)
{
	if (s & TASK_COMPLETE)
		return s & TASK_READY ? "done" : "cancelled";
	if (s & TASK_RUNNING)
		return "running";
	if (s & TASK_CANCELLED)
		return "aborting";
	if (s & TASK_SCHEDULED)
		return "ready";
	return "waiting";
}

static void print_task(struct line *l, struct task *t, exec_write_fn write,
                       void *ctx)
{
	put_str(l, t->name, 16);
	put_str(l, " ", 0);
	put_str(l, state_name(task_state(t)), 9);
	put_u64(l, atomic_load_explicit(&t->polls, memory_order_relaxed), 10);
	put_u64(l, atomic_load_explicit(&t->wakes, memory_order_relaxed), 11);
	put_u64(l, atomic_load_explicit(&t->poll_ns, memory_order_relaxed)
	            / 1000, 10);
	line_flush(l, write, ctx);
}

static void print_list(struct spin *lock, struct task *const *head,
                       struct line *l, exec_write_fn write, void *ctx)
{
	unsigned long fl = spin_lock(lock);
	for (struct task *t = *head; t; t = t->reg_next)
		print_task(l, t, write, ctx);
	spin_unlock(lock, fl);
}

struct print_ctx {
	struct line *l;
	exec_write_fn write;
	void *ctx;
};

/* A pool task, with a reference held by task_pools_each (no lock). */
static void print_pool_task(void *arg, struct task *t)
{
	struct print_ctx *p = arg;
	print_task(p->l, t, p->write, p->ctx);
}

/* Lock order: one registry lock at a time; write must not take executor
 * locks.  Tasks spawned outside a worker first, then each worker's, then
 * the tasks in static pools (no lock: a reference on each). */
void exec_print_tasks(struct executor *e, exec_write_fn write, void *ctx)
{
	struct line l = { .n = 0 };
	put_str(&l, "task", 16);
	put_str(&l, " ", 0);
	put_str(&l, "state", 9);
	put_str(&l, "     polls", 0);
	put_str(&l, "      wakes", 0);
	put_str(&l, "   poll_us", 0);
	line_flush(&l, write, ctx);

	print_list(&e->reg_lock, &e->reg_head, &l, write, ctx);
	for (unsigned i = 0; i < e->nworkers; i++)
		print_list(&e->workers[i].reg.lock, &e->workers[i].reg.head,
		           &l, write, ctx);
	struct print_ctx pc = { &l, write, ctx };
	task_pools_each(e, print_pool_task, &pc);

	for (unsigned i = 0; i < e->nworkers; i++) {
		struct exec_worker_stats *s = &e->workers[i].stats;
		put_str(&l, "worker ", 0);
		put_u64(&l, i, 0);
		put_str(&l, ": polls ", 0);
		put_u64(&l, atomic_load_explicit(&s->polls, memory_order_relaxed), 0);
		put_str(&l, " parks ", 0);
		put_u64(&l, atomic_load_explicit(&s->parks, memory_order_relaxed), 0);
		put_str(&l, " steals ", 0);
		put_u64(&l, atomic_load_explicit(&s->steals, memory_order_relaxed), 0);
		put_str(&l, " injected ", 0);
		put_u64(&l, atomic_load_explicit(&s->inject_pops, memory_order_relaxed), 0);
		line_flush(&l, write, ctx);
	}
}

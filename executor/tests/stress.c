/* Multi-threaded stress: 4 workers, 100,000 cross-thread spawns, 1,000,000 cross-thread wakes. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "host/host.h"
#include "task.h"

/*
 * The main thread (not a worker) spawns every task and performs every
 * wake.  Each task, when polled, hands a clone of its waker to the main
 * thread through a lock-free mailbox and returns Pending; the main thread
 * wakes it, often while the task is still inside that poll on a worker (the
 * SCHEDULED-while-RUNNING path).  After ROUNDS wakes the task completes.
 * Checked: each task completes exactly once, every wake causes a poll,
 * nothing is left live or allocated.  Counts can be lowered with argv
 * (tasks rounds) for quick runs; the defaults are the numbers.
 */
#define WORKERS 4
#define INFLIGHT 4000

struct node {
	struct node *next;
	struct waker w;
};

struct stask {
	struct future base;
	int id;
	int rounds;
	struct node node;
};

static struct node *_Atomic mbox;
static atomic_uint_fast64_t completed, polls;
static _Atomic unsigned char *done;

static enum poll stask_poll(struct future *f, struct context *cx)
{
	struct stask *s = (struct stask *)f;
	atomic_fetch_add_explicit(&polls, 1, memory_order_relaxed);
	if (s->rounds-- == 0) {
		atomic_fetch_add(&done[s->id], 1);
		atomic_fetch_add(&completed, 1);
		return POLL_READY;
	}
	s->node.w = waker_clone(cx->waker);
	struct node *h = atomic_load_explicit(&mbox, memory_order_relaxed);
	do
		s->node.next = h;
	while (!atomic_compare_exchange_weak_explicit(&mbox, &h, &s->node,
	                memory_order_release, memory_order_relaxed));
	return POLL_PENDING;
}

static const struct future_vtable stask_vt = { stask_poll, NULL };

/* Phase 2: pairs of tasks taking turns, each turn a wake of the peer from
 * inside a poll on whatever worker runs it (LIFO slot, stealing). */
#define PAIRS 2000
#define TURNS 100

struct pair {
	struct spin lock;
	int turn;
	int done[2];
	struct waker w[2];
};

static struct pair pairs[PAIRS];
static atomic_uint_fast64_t pair_wakes, pair_completed;

struct ptask {
	struct future base;
	struct pair *p;
	int side;
};

static enum poll ptask_poll(struct future *f, struct context *cx)
{
	struct ptask *t = (struct ptask *)f;
	struct pair *p = t->p;
	int s = t->side;
	for (;;) {
		unsigned long fl = spin_lock(&p->lock);
		if (p->turn != s) {
			struct waker old = WAKER_NONE;
			if (!waker_will_wake(&p->w[s], cx->waker)) {
				old = p->w[s];
				p->w[s] = WAKER_NONE;
			}
			spin_unlock(&p->lock, fl);
			waker_drop(&old);
			struct waker c = waker_clone(cx->waker);
			fl = spin_lock(&p->lock);
			if (p->turn == s || !waker_is_none(&p->w[s])) {
				spin_unlock(&p->lock, fl);
				waker_drop(&c);
				continue;	/* our turn came meanwhile */
			}
			p->w[s] = c;
			spin_unlock(&p->lock, fl);
			return POLL_PENDING;
		}
		p->turn = 1 - s;
		bool finished = ++p->done[s] == TURNS;
		struct waker peer = p->w[1 - s], mine = p->w[s];
		p->w[1 - s] = p->w[s] = WAKER_NONE;
		spin_unlock(&p->lock, fl);
		if (!waker_is_none(&peer))
			atomic_fetch_add_explicit(&pair_wakes, 1, memory_order_relaxed);
		waker_wake(&peer);
		waker_drop(&mine);
		if (finished) {
			atomic_fetch_add(&pair_completed, 1);
			return POLL_READY;
		}
	}
}

static const struct future_vtable ptask_vt = { ptask_poll, NULL };

TASK_POOL(stress_pool, struct stask, char, INFLIGHT + 64);

static struct executor ex;
static struct host_platform hp;

static void *runner(void *arg)
{
	(void)arg;
	host_run_threads(&ex, WORKERS, true);
	return NULL;
}

int main(int argc, char **argv)
{
	int ntasks = argc > 1 ? atoi(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	uint64_t wakes = 0;
	int spawned = 0, failed = 0;
	pthread_t th;

	alarm(170);	/* a lost wakeup hangs: die loudly instead */
	done = calloc((size_t)ntasks, 1);
	host_platform_init(&hp);
	exec_init(&ex, &hp.plat, WORKERS, 0);
	pthread_create(&th, NULL, runner, NULL);

	uint64_t t0 = host_now_ns();
	while (atomic_load(&completed) < (uint64_t)ntasks) {
		bool busy = false;
		while (spawned < ntasks &&
		       spawned - (int)atomic_load(&completed) < INFLIGHT) {
			struct stask s = { { &stask_vt }, spawned, rounds, { NULL, WAKER_NONE } };
			struct task_desc d = TASK_DESC_VOID(s, "stress");
			if (task_spawn(&ex, &stress_pool.src, &d, NULL) != TASK_OK)
				break;	/* slots still held by wakers: later */
			spawned++;
			busy = true;
		}
		struct node *n = atomic_exchange_explicit(&mbox, NULL, memory_order_acquire);
		while (n) {
			struct node *next = n->next;
			struct waker w = n->w;
			waker_wake(&w);	/* n may be reused from here on */
			wakes++;
			n = next;
			busy = true;
		}
		if (!busy)
			sched_yield();
	}
	uint64_t t1 = host_now_ns();

	/* Phase 2, spawned from outside while the workers run. */
	for (int i = 0; i < PAIRS; i++) {
		spin_init(&pairs[i].lock);
		pairs[i].w[0] = pairs[i].w[1] = WAKER_NONE;
		for (int side = 0; side < 2; side++) {
			struct ptask pt = { { &ptask_vt }, &pairs[i], side };
			struct task_desc d = TASK_DESC_VOID(pt, "pair");
			while (task_spawn(&ex, &stress_pool.src, &d, NULL) != TASK_OK)
				sched_yield();
		}
	}
	while (atomic_load(&pair_completed) < 2 * PAIRS)
		sched_yield();
	uint64_t t2 = host_now_ns();
	exec_stop(&ex);
	pthread_join(th, NULL);

	for (int i = 0; i < ntasks; i++)
		if (atomic_load(&done[i]) != 1)
			failed++;
	uint64_t expect_wakes = (uint64_t)ntasks * (uint64_t)rounds;
	if (wakes != expect_wakes || atomic_load(&polls) != expect_wakes + (uint64_t)ntasks)
		failed++;
	if (exec_live_tasks(&ex) != 0 || stress_pool.in_use != 0)
		failed++;
	for (int i = 0; i < PAIRS; i++)
		if (pairs[i].done[0] != TURNS || pairs[i].done[1] != TURNS ||
		    !waker_is_none(&pairs[i].w[0]) || !waker_is_none(&pairs[i].w[1]))
			failed++;
	uint64_t steals = 0, parks = 0, injected = 0;
	for (int i = 0; i < WORKERS; i++) {
		steals += ex.workers[i].stats.steals;
		parks += ex.workers[i].stats.parks;
		injected += ex.workers[i].stats.inject_pops;
	}
	printf("stress: %d tasks, %llu cross-thread wakes, %llu polls, %d workers, "
	       "%.2f s; steals %llu parks %llu injected %llu unparks %llu; "
	       "%d problems\n", ntasks, (unsigned long long)wakes,
	       (unsigned long long)atomic_load(&polls), WORKERS,
	       (double)(t1 - t0) / 1e9, (unsigned long long)steals,
	       (unsigned long long)parks, (unsigned long long)injected,
	       (unsigned long long)atomic_load(&hp.futex_wakes), failed);
	printf("stress: %d task pairs x %d turns, %llu task-to-task wakes, %.2f s\n",
	       PAIRS, TURNS, (unsigned long long)atomic_load(&pair_wakes),
	       (double)(t2 - t1) / 1e9);
	printf("test stress_4_workers: %s\n", failed ? "FAILED" : "OK");
	printf("%d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
	free((void *)done);
	return failed ? 1 : 0;
}

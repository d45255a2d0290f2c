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
#include "mpsc.h"
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

TASK_POOL(stress_pool, struct stask, INFLIGHT + 64);

static struct executor ex;
static struct host_platform hp;

/*
 * Phase 3: the fast paths, with a Ctrl-T printer thread running all the
 * while.  Parents (spawned from outside) spawn children from inside their
 * polls and join them: the children come from a pool smaller than the
 * number of parents, so allocations hit the per-worker spare slots, the
 * locked free list and the exhaustion sweep, and frees happen on whatever
 * worker a (possibly stolen) child completes on; every third child is
 * detached instead of joined, racing with its completion.  Some children
 * yield once, so they can be stolen and complete on another worker than
 * the one whose registry list holds them.  Meanwhile pairs of tasks
 * ping-pong through two bounded(1) mpsc channels.
 */
#define PARENTS 64
#define CHILDREN 200
#define MP_PAIRS 16
#define MP_ROUNDS 2000

struct kid {
	struct future base;
	int state;
	long v, out;
};

static enum poll kid_poll(struct future *f, struct context *cx)
{
	struct kid *k = (struct kid *)f;
	ASYNC_BEGIN(k);
	if (k->v % 5 == 0)
		YIELD(k, cx);
	k->out = k->v * 2;
	ASYNC_END(k);
}

static const struct future_vtable kid_vt = { kid_poll, NULL };

TASK_POOL(kid_pool, struct kid, PARENTS / 2);

struct parent {
	struct future base;
	int state;
	int id, i;
	long got, sum, expect;
	struct join_handle jh;
};

static atomic_int parents_done, parents_bad;
static atomic_uint_fast64_t kid_enomem;

static enum poll parent_poll(struct future *f, struct context *cx)
{
	struct parent *p = (struct parent *)f;
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < CHILDREN; p->i++) {
		for (;;) {
			struct kid k = { { &kid_vt }, 0, p->id * 1000L + p->i, 0 };
			struct task_desc d = TASK_DESC(k, out, "kid");
			p->jh.out = &p->got;
			if (task_spawn(&ex, &kid_pool.src, &d, &p->jh) == TASK_OK)
				break;
			atomic_fetch_add_explicit(&kid_enomem, 1, memory_order_relaxed);
			YIELD(p, cx);	/* every slot in use: let others finish */
		}
		if (p->i % 3 == 2) {
			join_handle_detach(&p->jh);
			continue;
		}
		AWAIT(p, join_handle_poll(&p->jh, cx));
		if (p->jh.result != JOIN_OK || p->got != (p->id * 1000L + p->i) * 2)
			atomic_fetch_add(&parents_bad, 1);
		p->sum += p->got;
	}
	if (p->sum != p->expect)
		atomic_fetch_add(&parents_bad, 1);
	atomic_fetch_add(&parents_done, 1);
	ASYNC_END(p);
}

static const struct future_vtable parent_vt = { parent_poll, NULL };

struct mp_pair {
	struct mpsc ping, pong;
	long ping_buf, pong_buf;
};

static struct mp_pair mp[MP_PAIRS];
static atomic_int mp_done, mp_bad;

struct player {
	struct future base;
	int state;
	bool serve;
	struct mp_pair *pp;
	long i, v;
	struct mpsc_send snd;
	struct mpsc_recv rcv;
};

static enum poll player_poll(struct future *f, struct context *cx)
{
	struct player *p = (struct player *)f;
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < MP_ROUNDS; p->i++) {
		if (p->serve) {
			p->v = p->i;
			mpsc_send_init(&p->snd, &p->pp->ping, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
			mpsc_recv_init(&p->rcv, &p->pp->pong, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			if (p->rcv.result != SYNC_OK || p->v != p->i + 1)
				atomic_fetch_add(&mp_bad, 1);
		} else {
			mpsc_recv_init(&p->rcv, &p->pp->ping, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			if (p->rcv.result != SYNC_OK || p->v != p->i)
				atomic_fetch_add(&mp_bad, 1);
			p->v++;
			mpsc_send_init(&p->snd, &p->pp->pong, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
		}
	}
	atomic_fetch_add(&mp_done, 1);
	ASYNC_END(p);
}

static const struct future_vtable player_vt = { player_poll, NULL };

TASK_POOL(p3_pool, struct player, PARENTS + 2 * MP_PAIRS);

static atomic_bool printer_stop;
static atomic_uint_fast64_t printed_lines;

static void sink(void *ctx, const char *str, size_t n)
{
	(void)ctx;
	(void)str;
	if (n && str[n - 1] == '\n')
		atomic_fetch_add_explicit(&printed_lines, 1, memory_order_relaxed);
}

static void *printer(void *arg)
{
	(void)arg;
	while (!atomic_load(&printer_stop)) {
		exec_print_tasks(&ex, sink, NULL);
		usleep(200);
	}
	return NULL;
}

/* Returns the number of problems found. */
static int phase3(void)
{
	pthread_t pr;
	int bad = 0;
	pthread_create(&pr, NULL, printer, NULL);
	for (int i = 0; i < MP_PAIRS; i++) {
		mpsc_init(&mp[i].ping, &mp[i].ping_buf, sizeof(long), 1);
		mpsc_init(&mp[i].pong, &mp[i].pong_buf, sizeof(long), 1);
		for (int side = 0; side < 2; side++) {
			struct player pl;
			memset(&pl, 0, sizeof(pl));
			pl.base.vtable = &player_vt;
			pl.serve = side == 0;
			pl.pp = &mp[i];
			struct task_desc d = TASK_DESC_VOID(pl, "player");
			if (task_spawn(&ex, &p3_pool.src, &d, NULL) != TASK_OK)
				bad++;
		}
	}
	for (int i = 0; i < PARENTS; i++) {
		struct parent p;
		memset(&p, 0, sizeof(p));
		p.base.vtable = &parent_vt;
		p.id = i;
		for (int k = 0; k < CHILDREN; k++)
			if (k % 3 != 2)
				p.expect += (i * 1000L + k) * 2;
		struct task_desc d = TASK_DESC_VOID(p, "parent");
		if (task_spawn(&ex, &p3_pool.src, &d, NULL) != TASK_OK)
			bad++;
	}
	while (atomic_load(&parents_done) < PARENTS || atomic_load(&mp_done) < 2 * MP_PAIRS)
		sched_yield();
	/* Detached children may still be finishing. */
	while (exec_live_tasks(&ex) != 0)
		sched_yield();
	atomic_store(&printer_stop, true);
	pthread_join(pr, NULL);
	bad += atomic_load(&parents_bad) + atomic_load(&mp_bad);
	if (task_pool_in_use(&kid_pool) != 0 || task_pool_in_use(&p3_pool) != 0 ||
	    task_pool_high_water(&kid_pool) > kid_pool.count)
		bad++;
	printf("stress: %d parents x %d children (pool of %zu, %llu spawns refused "
	       "while full), %d mpsc pairs x %d round trips, %llu Ctrl-T lines\n",
	       PARENTS, CHILDREN, kid_pool.count,
	       (unsigned long long)atomic_load(&kid_enomem), MP_PAIRS, MP_ROUNDS,
	       (unsigned long long)atomic_load(&printed_lines));
	return bad;
}

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
	failed += phase3();
	exec_stop(&ex);
	pthread_join(th, NULL);

	for (int i = 0; i < ntasks; i++)
		if (atomic_load(&done[i]) != 1)
			failed++;
	uint64_t expect_wakes = (uint64_t)ntasks * (uint64_t)rounds;
	if (wakes != expect_wakes || atomic_load(&polls) != expect_wakes + (uint64_t)ntasks)
		failed++;
	if (exec_live_tasks(&ex) != 0 || task_pool_in_use(&stress_pool) != 0)
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

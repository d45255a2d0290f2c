/* In-kernel tests of labs 2-4 (futures and wakers, the executor, timers): graded checkpoints (grade/lab*.json). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/combinators.h"
#include "executor/exec.h"
#include "executor/queue.h"
#include "executor/task.h"
#include "executor/timer.h"
#include "kernel/block_on.h"
#include "kernel/ktask.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktimer.h"

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond))                                            \
			KTEST_FAIL("%s:%d: expected %s", __FILE__,      \
				   __LINE__, #cond);                    \
	} while (0)

/* =========================== lab 2: futures and wakers =================== */

/* ---- the block waker: clones and drops balance -------------------------- */

static bool test_waker_clone_drop(void)
{
	struct block_waker bw, other;
	struct waker w = block_waker_new(&bw);
	struct waker o = block_waker_new(&other);
	struct waker c[5];

	for (int i = 0; i < 5; i++) {
		c[i] = waker_clone(i ? &c[i - 1] : &w);
		CHECK(atomic_load(&bw.refs) == 2 + i);
	}
	CHECK(waker_will_wake(&w, &c[4]));
	CHECK(waker_will_wake(&c[0], &c[3]));
	CHECK(!waker_will_wake(&w, &o));
	for (int i = 4; i >= 0; i--) {
		waker_drop(&c[i]);
		CHECK(waker_is_none(&c[i]));
		CHECK(atomic_load(&bw.refs) == 1 + i);
	}
	CHECK(atomic_load(&bw.woken) == 0);   /* drop never wakes */
	waker_drop(&w);
	CHECK(atomic_load(&bw.refs) == 0);
	CHECK(atomic_load(&other.refs) == 1); /* untouched */
	waker_drop(&o);
	printf("    5 clones and 6 drops balance; will_wake tells the two apart\n");
	return true;
}

/* ---- wake consumes, wake_by_ref does not -------------------------------- */

static bool test_waker_wake(void)
{
	struct block_waker bw;
	struct waker w = block_waker_new(&bw);

	waker_wake_by_ref(&w);
	CHECK(atomic_load(&bw.woken) == 1);
	CHECK(atomic_load(&bw.refs) == 1);
	CHECK(!waker_is_none(&w));

	atomic_store(&bw.woken, 0);
	struct waker c = waker_clone(&w);
	CHECK(atomic_load(&bw.refs) == 2);
	waker_wake(&c);
	CHECK(waker_is_none(&c));
	CHECK(atomic_load(&bw.woken) == 1);
	CHECK(atomic_load(&bw.refs) == 1);

	/* Waking twice is harmless; the last wake consumes the last waker. */
	atomic_store(&bw.woken, 0);
	waker_wake_by_ref(&w);
	waker_wake(&w);
	CHECK(atomic_load(&bw.woken) == 1);
	CHECK(atomic_load(&bw.refs) == 0);
	printf("    wake_by_ref keeps the waker, wake consumes it\n");
	return true;
}

/* ---- block_on sleeps only until woken ----------------------------------- */

static volatile int net_fired;

static void net_fn(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
	net_fired = 1;
}

/* Pending `left` times, each time waking itself through a clone it
 * keeps (no interrupt involved), then Ready.  Gives up when the safety
 * net fires, so a waker that does not wake fails instead of hanging. */
struct self_waker {
	struct future base;
	unsigned left, polls;
	struct waker kept;
};

static enum poll self_waker_poll(struct future *f, struct context *cx)
{
	struct self_waker *s = (struct self_waker *)f;
	s->polls++;
	if (waker_is_none(&s->kept))
		s->kept = waker_clone(cx->waker);
	if (s->left == 0 || net_fired) {
		waker_drop(&s->kept);
		return POLL_READY;
	}
	s->left--;
	if (s->left & 1)
		waker_wake_by_ref(&s->kept);
	else
		waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static bool test_block_on_self_wake(void)
{
	static const struct future_vtable vt = { self_waker_poll, NULL };
	struct self_waker s = { { &vt }, 100, 0, WAKER_NONE };

	net_fired = 0;
	uint64_t t0 = arch_timer_now();
	ktimer_arm(t0 + ktimer_us_to_ticks(200000), net_fn, NULL);
	block_on(&s.base);
	uint64_t took = arch_timer_now() - t0;
	ktimer_cancel();
	printf("    %u polls in %llu us\n", s.polls,
	       (unsigned long long)ktimer_ticks_to_us(took));
	if (net_fired)
		KTEST_FAIL("block_on slept until the 200 ms safety net: the wakes were lost");
	CHECK(s.polls == 101);
	return true;
}

/* ---- test futures for the combinators ------------------------------------ */

/* Ready on poll number `ready_at` (1 = the first); counts polls and drops. */
struct countdown {
	struct future base;
	unsigned ready_at, polls, drops, done;
};

static enum poll countdown_poll(struct future *f, struct context *cx)
{
	struct countdown *c = (struct countdown *)f;
	if (c->done)
		return async_resumed_after_done();
	if (++c->polls < c->ready_at) {
		waker_wake_by_ref(cx->waker);
		return POLL_PENDING;
	}
	c->done = 1;
	return POLL_READY;
}

static void countdown_drop(struct future *f)
{
	((struct countdown *)f)->drops++;
}

static const struct future_vtable countdown_vt = { countdown_poll, countdown_drop };

static struct countdown countdown(unsigned ready_at)
{
	return (struct countdown){ { &countdown_vt }, ready_at, 0, 0, 0 };
}

/* async fn add_twice(x) -> u32 { inner.await; x += 1; inner.await; x * 10 }
 * with the inner future held by value in the struct. */
struct add_twice {
	struct future base;
	int state;
	unsigned x, out;
	struct countdown inner;
};

static enum poll add_twice_poll(struct future *f, struct context *cx)
{
	struct add_twice *a = (struct add_twice *)f;
	ASYNC_BEGIN(a);
	a->inner = countdown(2);
	AWAIT(a, future_poll(&a->inner.base, cx));
	a->x += 1;
	a->inner = countdown(3);
	AWAIT(a, future_poll(&a->inner.base, cx));
	a->out = a->x * 10;
	ASYNC_END(a);
}

static const struct future_vtable add_twice_vt = { add_twice_poll, NULL };

/* ---- join2: both polled on every poll until each is done ----------------- */

static bool test_join2(void)
{
	struct context cx = { waker_noop() };
	struct add_twice a = { { &add_twice_vt }, ASYNC_INIT, 4, 0, { { NULL }, 0, 0, 0, 0 } };
	struct countdown b = countdown(2);
	struct join2 j;
	unsigned polls = 0;

	join2_init(&j, &a.base, &b.base);
	/* a needs 2 + 3 polls, b needs 2: polled together, b finishes on
	 * the second poll and a on the fourth (its awaits end back to back). */
	while (join2_poll(&j, &cx) == POLL_PENDING) {
		polls++;
		if (polls == 1 && b.polls != 1)
			KTEST_FAIL("first join2 poll polled b %u times, expected 1 (both must start)",
				   b.polls);
		if (polls > 20)
			KTEST_FAIL("join2 not ready after 20 polls");
	}
	polls++;
	printf("    join2 ready after %u polls; a = %u, b polled %u times\n", polls, a.out, b.polls);
	CHECK(b.polls == 2);      /* never polled again once Ready */
	CHECK(a.out == 50);       /* the nested async fn ran to the end */
	CHECK(polls == 4);
	join2_drop(&j);           /* finished: drops nothing */
	CHECK(b.drops == 0);

	/* a finishes first (on its second poll) and b runs on: a must not be
	 * polled again (a Ready future may not be). */
	struct countdown e = countdown(2), g = countdown(4);
	join2_init(&j, &e.base, &g.base);
	polls = 0;
	while (join2_poll(&j, &cx) == POLL_PENDING)
		if (++polls > 20)
			KTEST_FAIL("join2 of 2 and 4 polls not ready after 20 polls");
	if (e.polls != 2)
		KTEST_FAIL("a was Ready on its poll 2 but polled %u times: join2 polled a finished future again",
			   e.polls);
	CHECK(g.polls == 4);

	/* Dropped while both run: each unfinished future dropped once. */
	struct countdown c = countdown(5), d = countdown(5);
	join2_init(&j, &c.base, &d.base);
	CHECK(join2_poll(&j, &cx) == POLL_PENDING);
	CHECK(c.polls == 1 && d.polls == 1);
	join2_drop(&j);
	CHECK(c.drops == 1 && d.drops == 1);
	return true;
}

/* ---- select2: the first to finish wins, the other is dropped -------------- */

static bool test_select2(void)
{
	struct context cx = { waker_noop() };
	struct select2 s;

	/* b finishes first. */
	struct countdown a = countdown(5), b = countdown(3);
	select2_init(&s, &a.base, &b.base);
	unsigned polls = 0;
	while (select2_poll(&s, &cx) == POLL_PENDING)
		if (++polls > 20)
			KTEST_FAIL("select2 not ready after 20 polls");
	printf("    select2(5 polls, 3 polls): winner %d, loser dropped %u times\n",
	       s.winner, a.drops);
	CHECK(s.winner == 1);
	CHECK(b.polls == 3 && b.drops == 0);
	CHECK(a.polls == 3);
	CHECK(a.drops == 1);      /* dropped at once, before select2_poll returned */
	select2_drop(&s);         /* nothing left to drop */
	CHECK(a.drops == 1 && b.drops == 0);

	/* Both ready on the same poll: a wins (biased), b dropped. */
	struct countdown c = countdown(1), d = countdown(1);
	select2_init(&s, &c.base, &d.base);
	CHECK(select2_poll(&s, &cx) == POLL_READY);
	CHECK(s.winner == 0);
	CHECK(d.polls == 0 || d.polls == 1);
	CHECK(d.drops == 1 && c.drops == 0);

	/* A nested async fn as the winner, a never-ready future as the loser. */
	struct add_twice e = { { &add_twice_vt }, ASYNC_INIT, 1, 0, { { NULL }, 0, 0, 0, 0 } };
	struct countdown never = countdown(1000);
	select2_init(&s, &never.base, &e.base);
	polls = 0;
	while (select2_poll(&s, &cx) == POLL_PENDING)
		if (++polls > 20)
			KTEST_FAIL("select2 with an async fn not ready after 20 polls");
	CHECK(s.winner == 1);
	CHECK(e.out == 20);
	CHECK(never.drops == 1);
	return true;
}

/* =========================== lab 3: the executor ========================== */

/* Async tests: start() hands the runner a future in static storage; it
 * is polled inside the runner's task (so "we" below is that task).  They
 * never sleep (lab 4's timers may be stubs) and never wait unboundedly
 * for something a stub would not do: they YIELD a bounded number of
 * times and then fail with a message. */
static bool lab3_ok;

#define LAB3_FAIL(...)                          \
	do {                                    \
		printf("    " __VA_ARGS__);         \
		printf("\n");                   \
		lab3_ok = false;                \
	} while (0)

static bool lab3_result(void)
{
	return lab3_ok;
}

static uint64_t inject_pops_all(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < kernel_exec.nworkers; i++)
		n += atomic_load(&kernel_exec.workers[i].stats.inject_pops);
	return n;
}

/* ---- run queue: tasks spawned by a task go through the local ring ---------- */

#define RQ_N 100

/* More than a worker's ring holds (RUNQ_CAP): the rest must overflow to
 * the injection queue, none lost, none run twice. */
#define RQ_BIG (RUNQ_CAP + 44)

static unsigned rq_order[RQ_N], rq_ran;
static uint8_t rq_runs[RQ_BIG];

struct rq_child {
	struct future base;
	unsigned idx;
};

static enum poll rq_child_poll(struct future *f, struct context *cx)
{
	(void)cx;
	unsigned idx = ((struct rq_child *)f)->idx;
	if (rq_ran < RQ_N)
		rq_order[rq_ran] = idx;
	rq_ran++;
	if (idx < RQ_BIG && rq_runs[idx] < 255)
		rq_runs[idx]++;
	return POLL_READY;
}

static const struct future_vtable rq_child_vt = { rq_child_poll, NULL };

static struct rq_test {
	struct future base;
	int state;
	unsigned i;
	uint64_t inj0;
} rq_test;

static enum poll rq_poll(struct future *f, struct context *cx)
{
	struct rq_test *t = (struct rq_test *)f;
	ASYNC_BEGIN(t);
	rq_ran = 0;
	t->inj0 = inject_pops_all();
	for (t->i = 0; t->i < RQ_N; t->i++) {
		struct rq_child c = { { &rq_child_vt }, t->i };
		if (KSPAWN(c, "rq-child", NULL) != TASK_OK) {
			LAB3_FAIL("spawn %u failed", t->i);
			ASYNC_RETURN(t);
		}
	}
	for (t->i = 0; t->i < 1000 && __atomic_load_n(&rq_ran, __ATOMIC_ACQUIRE) < RQ_N; t->i++)
		YIELD(t, cx);
	uint64_t inj = inject_pops_all() - t->inj0;
	printf("    %u tasks spawned by a task ran; %llu came through the injection queue\n",
	       rq_ran, (unsigned long long)inj);
	if (rq_ran != RQ_N)
		LAB3_FAIL("only %u of %u ran", rq_ran, RQ_N);
	else if (inj >= RQ_N / 4)
		LAB3_FAIL("tasks spawned by a task must go to the worker's local ring, not the injection queue");
	else if (kernel_exec.nworkers == 1) {
		/* The last one spawned sits in the LIFO slot and runs first;
		 * the ring then hands out the others oldest first. */
		for (unsigned k = 0; k < RQ_N && lab3_ok; k++) {
			unsigned want = k == 0 ? RQ_N - 1 : k - 1;
			if (rq_order[k] != want)
				LAB3_FAIL("run %u was child %u, expected %u (LIFO slot, then FIFO ring)",
					  k, rq_order[k], want);
		}
	}
	if (!lab3_ok)
		ASYNC_RETURN(t);

	/* More than the ring holds: each exactly once. */
	rq_ran = 0;
	memset(rq_runs, 0, sizeof(rq_runs));
	for (t->i = 0; t->i < RQ_BIG; t->i++) {
		struct rq_child c = { { &rq_child_vt }, t->i };
		if (KSPAWN(c, "rq-child", NULL) != TASK_OK) {
			LAB3_FAIL("spawn %u of %u failed", t->i, RQ_BIG);
			ASYNC_RETURN(t);
		}
	}
	for (t->i = 0; t->i < 1000 && __atomic_load_n(&rq_ran, __ATOMIC_ACQUIRE) < RQ_BIG; t->i++)
		YIELD(t, cx);
	YIELD(t, cx);
	for (unsigned k = 0; k < RQ_BIG && lab3_ok; k++)
		if (rq_runs[k] != 1)
			LAB3_FAIL("%u tasks spawned at once (the ring holds %u): child %u ran %u times",
				  RQ_BIG, RUNQ_CAP, k, rq_runs[k]);
	if (lab3_ok)
		printf("    %u tasks spawned at once (the ring holds %u): each ran once\n", RQ_BIG,
		       RUNQ_CAP);
	ASYNC_END(t);
}

static struct future *rq_start(void)
{
	static const struct future_vtable vt = { rq_poll, NULL };
	memset(&rq_test, 0, sizeof(rq_test));
	rq_test.base.vtable = &vt;
	lab3_ok = true;
	return &rq_test.base;
}

/* ---- join handles: the output, and one wake when the task completes -------- */

/* Wakers that only count, each with its own tally (so two of them are
 * different wakers to waker_will_wake): for a joiner polled by hand. */
struct tally {
	unsigned clones, wakes, drops;
};

static const struct raw_waker_vtable tally_vt;

static struct raw_waker tally_clone(const void *data)
{
	((struct tally *)data)->clones++;
	return (struct raw_waker){ data, &tally_vt };
}

static void tally_wake_by_ref(const void *data)
{
	((struct tally *)data)->wakes++;
}

static void tally_drop(const void *data)
{
	((struct tally *)data)->drops++;
}

static void tally_wake(const void *data)
{
	tally_wake_by_ref(data);
	tally_drop(data);
}

static const struct raw_waker_vtable tally_vt = { tally_clone, tally_wake, tally_wake_by_ref,
						  tally_drop };

/* Yields `left` times, then outputs k * k + 7. */
struct jchild {
	struct future base;
	int state;
	unsigned k, left;
	int *done;
	uint32_t out;
};

static enum poll jchild_poll(struct future *f, struct context *cx)
{
	struct jchild *c = (struct jchild *)f;
	ASYNC_BEGIN(c);
	while (c->left) {
		c->left--;
		YIELD(c, cx);
	}
	c->out = c->k * c->k + 7;
	if (c->done)
		__atomic_store_n(c->done, 1, __ATOMIC_RELEASE);
	ASYNC_END(c);
}

static const struct future_vtable jchild_vt = { jchild_poll, NULL };

static int jspawn(struct join_handle *jh, uint32_t *out, unsigned k, unsigned left, int *done)
{
	struct jchild c = { { &jchild_vt }, ASYNC_INIT, k, left, done, 0 };
	int err = task_spawn(&kernel_exec, KTASK_POOL_FOR(sizeof(c)), &TASK_DESC(c, out, "jchild"), jh);
	jh->out = out;
	return err;
}

#define JN 10

static struct join_test {
	struct future base;
	int state;
	unsigned i, polls;
	int done;
	size_t in_use0;
	uint32_t got[JN];
	struct join_handle jh[JN];
	struct tally a, b;
} join_test;

static enum poll join_poll(struct future *f, struct context *cx)
{
	struct join_test *t = (struct join_test *)f;
	ASYNC_BEGIN(t);
	t->in_use0 = task_pool_in_use(&ktask_small);

	/* 1. A child that yields 40 times: we are polled to register our
	 * waker and once more when it completes, not once per yield. */
	if (jspawn(&t->jh[0], &t->got[0], 5, 40, NULL) != TASK_OK) {
		LAB3_FAIL("spawn failed");
		ASYNC_RETURN(t);
	}
	t->polls = 0;
	AWAIT(t, (t->polls++, join_handle_poll(&t->jh[0], cx)));
	printf("    joined a task that yielded 40 times: output %u, joiner polled %u times\n",
	       t->got[0], t->polls);
	if (t->jh[0].result != JOIN_OK || t->got[0] != 5 * 5 + 7)
		LAB3_FAIL("result %d output %u, expected JOIN_OK and %u", t->jh[0].result,
			  t->got[0], 5 * 5 + 7);
	if (t->polls > 3)
		LAB3_FAIL("the joiner was polled %u times: store the waker and wait for the completion to wake it",
			  t->polls);

	/* 2. Ten children, joined in order, finishing in every order. */
	for (t->i = 0; t->i < JN; t->i++)
		if (jspawn(&t->jh[t->i], &t->got[t->i], 100 + t->i, (JN - t->i) * 3, NULL) != TASK_OK) {
			LAB3_FAIL("spawn failed");
			ASYNC_RETURN(t);
		}
	for (t->i = 0; t->i < JN; t->i++) {
		t->polls = 0;
		AWAIT(t, (t->polls++, join_handle_poll(&t->jh[t->i], cx)));
		if (t->jh[t->i].result != JOIN_OK || t->got[t->i] != (100 + t->i) * (100 + t->i) + 7)
			LAB3_FAIL("child %u: result %d output %u", t->i, t->jh[t->i].result, t->got[t->i]);
		if (t->polls > 3)
			LAB3_FAIL("child %u: the joiner was polled %u times", t->i, t->polls);
	}

	/* 3. Joined after it completed: ready on the first poll. */
	t->done = 0;
	if (jspawn(&t->jh[0], &t->got[0], 9, 0, &t->done) != TASK_OK) {
		LAB3_FAIL("spawn failed");
		ASYNC_RETURN(t);
	}
	for (t->i = 0; t->i < 100 && !__atomic_load_n(&t->done, __ATOMIC_ACQUIRE); t->i++)
		YIELD(t, cx);
	t->got[0] = 0;
	if (join_handle_poll(&t->jh[0], cx) != POLL_READY || t->got[0] != 9 * 9 + 7)
		LAB3_FAIL("a completed task's handle was not ready with its output at once");

	/* 4. Polled with one waker, then with another (a handle moved to
	 * another task): the completion wakes the second, once; the first
	 * is given back; every clone is dropped or consumed. */
	t->done = 0;
	if (jspawn(&t->jh[0], &t->got[0], 11, 20, &t->done) != TASK_OK) {
		LAB3_FAIL("spawn failed");
		ASYNC_RETURN(t);
	}
	memset(&t->a, 0, sizeof(t->a));
	memset(&t->b, 0, sizeof(t->b));
	{
		struct waker wa = { { &t->a, &tally_vt } }, wb = { { &t->b, &tally_vt } };
		struct context ca = { &wa }, cb = { &wb };
		if (join_handle_poll(&t->jh[0], &ca) != POLL_PENDING ||
		    join_handle_poll(&t->jh[0], &cb) != POLL_PENDING)
			LAB3_FAIL("a running task's handle was ready");
	}
	for (t->i = 0; t->i < 200 && t->b.wakes + t->a.wakes == 0; t->i++)
		YIELD(t, cx);
	if (t->a.wakes || t->b.wakes != 1)
		LAB3_FAIL("joiner polled with waker A, then B: the completion woke A %u and B %u "
			  "times (expected B once)", t->a.wakes, t->b.wakes);
	if (t->a.clones != t->a.drops)
		LAB3_FAIL("waker A: %u clones, %u dropped: the replaced waker must be dropped",
			  t->a.clones, t->a.drops);
	if (t->b.clones != t->b.drops || t->b.clones == 0)
		LAB3_FAIL("waker B: %u clones, %u consumed or dropped: store a clone, not the waker",
			  t->b.clones, t->b.drops);
	t->got[0] = 0;
	if (join_handle_poll(&t->jh[0], cx) != POLL_READY || t->got[0] != 11 * 11 + 7)
		LAB3_FAIL("after its wake the handle was not ready with the output");

	/* Every handle released its reference: the slots are free again. */
	for (t->i = 0; t->i < 100 && task_pool_in_use(&ktask_small) != t->in_use0; t->i++)
		YIELD(t, cx);
	if (task_pool_in_use(&ktask_small) != t->in_use0)
		LAB3_FAIL("%zu task slots still in use after every join",
			  (size_t)(task_pool_in_use(&ktask_small) - t->in_use0));
	ASYNC_END(t);
}

static struct future *join_start(void)
{
	static const struct future_vtable vt = { join_poll, NULL };
	memset(&join_test, 0, sizeof(join_test));
	join_test.base.vtable = &vt;
	lab3_ok = true;
	return &join_test.base;
}

/* ---- abort: the future is dropped at a safe point, the joiner sees CANCELLED */

/* Pending until aborted (it keeps its waker, which nobody wakes).  With
 * abort_self it aborts its own task from inside its poll. */
struct victim {
	struct future base;
	struct join_handle *self;
	struct waker kept;
	uint32_t out;
};

static unsigned victim_polls, victim_drops, victim_drops_in_poll;
static int victim_in_poll;

static enum poll victim_poll(struct future *f, struct context *cx)
{
	struct victim *v = (struct victim *)f;
	victim_in_poll = 1;
	victim_polls++;
	waker_register(&v->kept, cx->waker);
	if (v->self)
		join_handle_abort(v->self);
	victim_in_poll = 0;
	return POLL_PENDING;
}

static void victim_drop(struct future *f)
{
	struct victim *v = (struct victim *)f;
	victim_drops++;
	if (victim_in_poll)
		victim_drops_in_poll++;
	waker_drop(&v->kept);
}

static const struct future_vtable victim_vt = { victim_poll, victim_drop };

static int vspawn(struct join_handle *jh, bool self)
{
	struct victim v = { { &victim_vt }, self ? jh : NULL, WAKER_NONE, 0 };
	victim_polls = victim_drops = victim_drops_in_poll = 0;
	return task_spawn(&kernel_exec, KTASK_POOL_FOR(sizeof(v)), &TASK_DESC(v, out, "victim"), jh);
}

static struct abort_test {
	struct future base;
	int state;
	unsigned i, phase;
	int done;
	uint32_t got;
	struct join_handle jh;
} abort_test;

static const char *const abort_phase[] = {
	"aborted while idle", "aborted itself while running", "aborted before its first poll",
};

static enum poll abort_poll(struct future *f, struct context *cx)
{
	struct abort_test *t = (struct abort_test *)f;
	ASYNC_BEGIN(t);
	for (t->phase = 0; t->phase < 3; t->phase++) {
		if (vspawn(&t->jh, t->phase == 1) != TASK_OK) {
			LAB3_FAIL("spawn failed");
			ASYNC_RETURN(t);
		}
		t->jh.out = &t->got;
		if (t->phase == 0) {
			for (t->i = 0; t->i < 100 && __atomic_load_n(&victim_polls, __ATOMIC_ACQUIRE) == 0; t->i++)
				YIELD(t, cx);
			join_handle_abort(&t->jh);
		} else if (t->phase == 2) {
			join_handle_abort(&t->jh);  /* it is queued, not yet polled */
		}
		for (t->i = 0; t->i < 100 && __atomic_load_n(&victim_drops, __ATOMIC_ACQUIRE) == 0; t->i++)
			YIELD(t, cx);
		if (victim_drops != 1) {
			LAB3_FAIL("%s: its future was dropped %u times, expected once",
				  abort_phase[t->phase], victim_drops);
			join_handle_detach(&t->jh);   /* leave it; it never finishes */
			ASYNC_RETURN(t);
		}
		AWAIT(t, join_handle_poll(&t->jh, cx));
		printf("    %s: polled %u times, dropped once%s, joiner sees %s\n",
		       abort_phase[t->phase], victim_polls,
		       victim_drops_in_poll ? " (INSIDE its poll)" : "",
		       t->jh.result == JOIN_CANCELLED ? "CANCELLED" : "OK");
		if (victim_drops_in_poll)
			LAB3_FAIL("the future was dropped while it was being polled");
		if (t->jh.result != JOIN_CANCELLED)
			LAB3_FAIL("the joiner must see JOIN_CANCELLED");
		if (t->phase == 2 && victim_polls != 0)
			LAB3_FAIL("a task aborted before its first poll was polled");
	}

	/* Aborting a task that already completed changes nothing. */
	t->done = 0;
	if (jspawn(&t->jh, &t->got, 6, 2, &t->done) != TASK_OK) {
		LAB3_FAIL("spawn failed");
		ASYNC_RETURN(t);
	}
	for (t->i = 0; t->i < 100 && !__atomic_load_n(&t->done, __ATOMIC_ACQUIRE); t->i++)
		YIELD(t, cx);
	YIELD(t, cx);
	join_handle_abort(&t->jh);
	AWAIT(t, join_handle_poll(&t->jh, cx));
	if (t->jh.result != JOIN_OK || t->got != 6 * 6 + 7)
		LAB3_FAIL("abort after completion: result %d output %u, expected JOIN_OK and %u",
			  t->jh.result, t->got, 6 * 6 + 7);
	ASYNC_END(t);
}

static struct future *abort_start(void)
{
	static const struct future_vtable vt = { abort_poll, NULL };
	memset(&abort_test, 0, sizeof(abort_test));
	abort_test.base.vtable = &vt;
	lab3_ok = true;
	return &abort_test.base;
}

/* =========================== lab 4: timers ================================ */

/* A recording waker for wheels driven by a fake clock: the data is the
 * index of a sleep; wake logs it with the fake time. */
#define NTIMERS 1000

static struct timer_wheel tw;
static struct sleep sl[NTIMERS];
static uint64_t fake_now;
static unsigned nfired;
static uint16_t fire_idx[NTIMERS];
static uint64_t fired_at[NTIMERS];
static uint8_t fired[NTIMERS];
static unsigned wakes_bad, drops[NTIMERS];
static int live_refs;

static const struct raw_waker_vtable rec_vt;

static struct raw_waker rec_clone(const void *data)
{
	live_refs++;
	return (struct raw_waker){ data, &rec_vt };
}

static void rec_wake_by_ref(const void *data)
{
	unsigned i = (unsigned)(uintptr_t)data;
	if (i >= NTIMERS || fired[i] || nfired >= NTIMERS) {
		wakes_bad++;
		return;
	}
	fired[i] = 1;
	fired_at[i] = fake_now;
	fire_idx[nfired++] = (uint16_t)i;
}

static void rec_drop(const void *data)
{
	unsigned i = (unsigned)(uintptr_t)data;
	if (i < NTIMERS)
		drops[i]++;
	live_refs--;
}

static void rec_wake(const void *data)
{
	rec_wake_by_ref(data);
	live_refs--;
}

static const struct raw_waker_vtable rec_vt = { rec_clone, rec_wake, rec_wake_by_ref, rec_drop };

static void rec_reset(void)
{
	nfired = 0;
	wakes_bad = 0;
	live_refs = 0;
	memset(fired, 0, sizeof(fired));
	memset(drops, 0, sizeof(drops));
}

/* The tick boundary at or after d: the earliest `now` that may fire d. */
static uint64_t round_up(uint64_t d, unsigned shift)
{
	uint64_t m = ((uint64_t)1 << shift) - 1;
	return (d + m) & ~m;
}

/* Polls sleep i once (it must stay pending: its deadline is in the future). */
static bool arm(unsigned i, uint64_t deadline)
{
	struct waker w = { { (const void *)(uintptr_t)i, &rec_vt } };
	struct context cx = { &w };
	sleep_init(&sl[i], &tw, deadline);
	if (sleep_poll(&sl[i], &cx) != POLL_PENDING)
		KTEST_FAIL("sleep %u (due in %llu ns) was ready when first polled", i,
			   (unsigned long long)(deadline - fake_now));
	if (fired[i])
		KTEST_FAIL("sleep %u (due in %llu ns) woke when first polled", i,
			   (unsigned long long)(deadline - fake_now));
	return true;
}

/* Advances the fake clock to `now` and checks the wheel against the
 * model: exactly the live entries whose rounded deadline is <= now have
 * fired, each once, and next_deadline names the earliest of the rest. */
static bool step(uint64_t now, unsigned n, const uint64_t *dl, const uint8_t *cancelled)
{
	unsigned before = nfired;
	fake_now = now;
	unsigned got = timer_wheel_advance(&tw, now);
	if (got != nfired - before)
		KTEST_FAIL("advance returned %u, but %u wakers were woken", got, nfired - before);
	if (wakes_bad)
		KTEST_FAIL("a waker was woken twice or with a bad index");
	uint64_t next = UINT64_MAX;
	unsigned pending = 0;
	for (unsigned i = 0; i < n; i++) {
		if (cancelled && cancelled[i]) {
			if (fired[i])
				KTEST_FAIL("cancelled sleep %u fired", i);
			continue;
		}
		uint64_t r = round_up(dl[i], tw.shift);
		if (r <= now && !fired[i])
			KTEST_FAIL("sleep %u due at +%llu ns has not fired at +%llu ns", i,
				   (unsigned long long)(dl[i] - dl[n]), (unsigned long long)(now - dl[n]));
		if (r > now && fired[i])
			KTEST_FAIL("sleep %u due at +%llu ns fired early, at +%llu ns", i,
				   (unsigned long long)(dl[i] - dl[n]), (unsigned long long)(now - dl[n]));
		if (!fired[i]) {
			pending++;
			if (r < next)
				next = r;
		}
	}
	if (timer_wheel_pending(&tw) != pending)
		KTEST_FAIL("wheel says %u pending, expected %u", timer_wheel_pending(&tw), pending);
	if (timer_wheel_next_deadline(&tw) != next)
		KTEST_FAIL("next deadline +%llu ns, expected +%llu ns",
			   (unsigned long long)(timer_wheel_next_deadline(&tw) - dl[n]),
			   (unsigned long long)(next - dl[n]));
	/* Fired in deadline order (equal rounded deadlines: any order). */
	for (unsigned k = before ? before : 1; k < nfired; k++)
		if (round_up(dl[fire_idx[k]], tw.shift) < round_up(dl[fire_idx[k - 1]], tw.shift))
			KTEST_FAIL("sleep %u fired after sleep %u, which is due later",
				   fire_idx[k], fire_idx[k - 1]);
	return true;
}

/* A random start, away from 0 and tick-unaligned. */
static uint64_t fake_start(void)
{
	return ((ktest_rng() & 0xffffff) << 24) + 123457;
}

static uint64_t deadlines[NTIMERS + 1];   /* [n]: the start, for messages */
static uint8_t cancelled[NTIMERS];

/* Drives the fake clock until every live entry fired, mixing exact jumps
 * to the next deadline, to just before it, and random jumps. */
static bool run_until_done(unsigned n, unsigned live)
{
	for (unsigned iter = 0; nfired < live; iter++) {
		if (iter > 40 * NTIMERS)
			KTEST_FAIL("%u of %u fired after %u advances", nfired, live, iter);
		uint64_t next = timer_wheel_next_deadline(&tw), now = fake_now;
		if (next == UINT64_MAX)
			KTEST_FAIL("%u of %u fired and the wheel says nothing is pending", nfired, live);
		switch (ktest_rng() % 4) {
		case 0: now = next; break;
		case 1: now = next - 1 > now ? next - 1 : now; break;
		case 2: now += 1 + ktest_rng() % TIMER_MS(80); break;
		default: now = next + ktest_rng() % TIMER_MS(500); break;
		}
		if (!step(now, n, deadlines, cancelled))
			return false;
	}
	return true;
}

/* ---- 1,000 timers on every level fire in order, on time ----------------- */

static bool test_wheel_order(void)
{
	rec_reset();
	fake_now = fake_start();
	timer_wheel_init_shift(&tw, fake_now, TIMER_DEFAULT_SHIFT);
	memset(cancelled, 0, sizeof(cancelled));
	deadlines[NTIMERS] = fake_now;
	for (unsigned i = 0; i < NTIMERS; i++) {
		/* level 0..4: up to 64^(level+1) ticks away */
		unsigned level = (unsigned)(ktest_rng() % 5);
		uint64_t span = ((uint64_t)1 << (6 * (level + 1) + TIMER_DEFAULT_SHIFT));
		deadlines[i] = fake_now + 1 + (ktest_rng() << 20 | ktest_rng()) % span;
		if (!arm(i, deadlines[i]))
			return false;
	}
	if (timer_wheel_pending(&tw) != NTIMERS)
		KTEST_FAIL("%u pending after %u inserts", timer_wheel_pending(&tw), NTIMERS);
	if (!run_until_done(NTIMERS, NTIMERS))
		return false;
	for (unsigned i = 0; i < NTIMERS; i++) {
		struct context cx = { waker_noop() };
		if (sleep_poll(&sl[i], &cx) != POLL_READY)
			KTEST_FAIL("sleep %u woke but is not ready", i);
	}
	if (live_refs != 0)
		KTEST_FAIL("%d waker clones were never woken or dropped", live_refs);
	printf("    %u timers over 5 levels fired in deadline order, none early or late\n",
	       NTIMERS);
	return true;
}

/* ---- cancelled timers never fire ------------------------------------------ */

#define NCANCEL 400

static bool test_wheel_cancel(void)
{
	rec_reset();
	fake_now = fake_start();
	timer_wheel_init_shift(&tw, fake_now, TIMER_DEFAULT_SHIFT);
	memset(cancelled, 0, sizeof(cancelled));
	deadlines[NCANCEL] = fake_now;
	unsigned earliest = 0;
	for (unsigned i = 0; i < NCANCEL; i++) {
		unsigned level = (unsigned)(ktest_rng() % 4);
		uint64_t span = ((uint64_t)1 << (6 * (level + 1) + TIMER_DEFAULT_SHIFT));
		deadlines[i] = fake_now + 1 + (ktest_rng() << 20 | ktest_rng()) % span;
		if (deadlines[i] < deadlines[earliest])
			earliest = i;
		if (!arm(i, deadlines[i]))
			return false;
	}
	/* Cancel half at random, and surely the earliest (the cached minimum). */
	unsigned live = NCANCEL;
	for (unsigned i = 0; i < NCANCEL; i++) {
		if (i != earliest && ktest_rng() % 2)
			continue;
		sleep_drop(&sl[i]);
		cancelled[i] = 1;
		live--;
		if (drops[i] != 1)
			KTEST_FAIL("cancelling sleep %u dropped its waker %u times", i, drops[i]);
	}
	if (!step(fake_now, NCANCEL, deadlines, cancelled))
		return false;
	/* One cancelled sleep armed again, later: it fires at its new deadline. */
	unsigned again = earliest;
	deadlines[again] += TIMER_SEC(3);
	cancelled[again] = 0;
	live++;
	if (!arm(again, deadlines[again]))
		return false;
	if (!run_until_done(NCANCEL, live))
		return false;
	/* Long after every deadline: still nothing from the cancelled ones. */
	if (!step(fake_now + TIMER_SEC(3600 * 24 * 30), NCANCEL, deadlines, cancelled))
		return false;
	if (live_refs != 0)
		KTEST_FAIL("%d waker clones were never woken or dropped", live_refs);
	printf("    %u of %u cancelled (the earliest first): none fired, the rest on time\n",
	       NCANCEL - live + 1, NCANCEL);
	return true;
}

/* ---- cascade: deadlines seconds to weeks away, at level boundaries -------- */

static bool test_wheel_cascade(void)
{
	rec_reset();
	fake_now = fake_start();
	timer_wheel_init_shift(&tw, fake_now, TIMER_DEFAULT_SHIFT);
	memset(cancelled, 0, sizeof(cancelled));
	unsigned n = 0;
	uint64_t tick0 = fake_now >> TIMER_DEFAULT_SHIFT;
	/* For levels 1..6: the first tick of the next level-k slot, one tick
	 * before and after it, the same a few slots later, and an unaligned
	 * deadline inside. */
	for (unsigned k = 1; k <= 6; k++) {
		uint64_t span = (uint64_t)1 << (6 * k);
		uint64_t b = (tick0 / span + 1) * span;
		uint64_t ticks[] = { b - 1, b, b + 1, b + 5 * span, b + 5 * span - 1 };
		for (unsigned j = 0; j < sizeof(ticks) / sizeof(ticks[0]); j++)
			deadlines[n++] = ticks[j] << TIMER_DEFAULT_SHIFT;
		deadlines[n++] = (b << TIMER_DEFAULT_SHIFT) + 777 + ktest_rng() % (span << TIMER_DEFAULT_SHIFT);
	}
	deadlines[n] = fake_now;
	for (unsigned i = 0; i < n; i++)
		if (!arm(i, deadlines[i]))
			return false;
	/* Visit every deadline: one ns before (nothing new), then at it. */
	while (nfired < n) {
		uint64_t next = timer_wheel_next_deadline(&tw);
		if (next == UINT64_MAX)
			KTEST_FAIL("%u of %u fired, the wheel is empty", nfired, n);
		unsigned before = nfired;
		if (!step(next - 1, n, deadlines, NULL))
			return false;
		if (nfired != before)
			KTEST_FAIL("a timer fired one ns before the next deadline");
		if (!step(next, n, deadlines, NULL))
			return false;
		if (nfired == before)
			KTEST_FAIL("nothing fired at the next deadline");
	}
	printf("    %u deadlines up to %llu days away fired exactly on their ticks\n", n,
	       (unsigned long long)((deadlines[n - 2] - deadlines[n]) / TIMER_SEC(86400)));
	return true;
}

/* ---- timeout: the inner future or the deadline, whichever comes first ----- */

/* Pending until *open; counts drops. */
struct gate {
	struct future base;
	int open;
	unsigned drops;
};

static enum poll gate_poll(struct future *f, struct context *cx)
{
	(void)cx;
	return ((struct gate *)f)->open ? POLL_READY : POLL_PENDING;
}

static void gate_drop(struct future *f)
{
	((struct gate *)f)->drops++;
}

static const struct future_vtable gate_vt = { gate_poll, gate_drop };

static bool test_timeout(void)
{
	rec_reset();
	fake_now = fake_start();
	timer_wheel_init_shift(&tw, fake_now, TIMER_DEFAULT_SHIFT);
	struct waker w = { { (const void *)(uintptr_t)0, &rec_vt } };
	struct context cx = { &w };
	struct timeout t;

	/* Inner first: OK, the sleep leaves the wheel. */
	struct gate g = { { &gate_vt }, 0, 0 };
	timeout_init(&t, &g.base, &tw, fake_now + TIMER_MS(10));
	CHECK(timeout_poll(&t, &cx) == POLL_PENDING);
	CHECK(timer_wheel_pending(&tw) == 1);
	fake_now += TIMER_MS(5);
	timer_wheel_advance(&tw, fake_now);
	CHECK(nfired == 0);
	g.open = 1;
	CHECK(timeout_poll(&t, &cx) == POLL_READY);
	CHECK(t.result == TIMEOUT_OK);
	CHECK(g.drops == 0);
	CHECK(timer_wheel_pending(&tw) == 0);
	CHECK(live_refs == 0);

	/* Deadline first: ELAPSED, the inner future dropped exactly once. */
	rec_reset();
	struct gate h = { { &gate_vt }, 0, 0 };
	timeout_init(&t, &h.base, &tw, fake_now + TIMER_MS(10));
	CHECK(timeout_poll(&t, &cx) == POLL_PENDING);
	fake_now += TIMER_MS(9);
	timer_wheel_advance(&tw, fake_now);
	CHECK(nfired == 0);
	CHECK(timeout_poll(&t, &cx) == POLL_PENDING);
	fake_now += TIMER_MS(2);
	timer_wheel_advance(&tw, fake_now);
	if (nfired != 1)
		KTEST_FAIL("the deadline passed but the timeout's task was not woken");
	if (timeout_poll(&t, &cx) != POLL_READY)
		KTEST_FAIL("the deadline passed but the timeout is still pending");
	CHECK(t.result == TIMEOUT_ELAPSED);
	CHECK(h.drops == 1);
	timeout_drop(&t);           /* already finished: drops nothing again */
	CHECK(h.drops == 1);
	CHECK(live_refs == 0);

	/* Both ready on the same poll: the inner future wins. */
	rec_reset();
	struct gate k = { { &gate_vt }, 0, 0 };
	timeout_init(&t, &k.base, &tw, fake_now + TIMER_MS(1));
	CHECK(timeout_poll(&t, &cx) == POLL_PENDING);
	fake_now += TIMER_MS(3);
	timer_wheel_advance(&tw, fake_now);
	k.open = 1;
	CHECK(timeout_poll(&t, &cx) == POLL_READY);
	CHECK(t.result == TIMEOUT_OK);
	CHECK(k.drops == 0);

	/* Dropped while pending: inner dropped once, sleep cancelled. */
	rec_reset();
	struct gate m = { { &gate_vt }, 0, 0 };
	timeout_init(&t, &m.base, &tw, fake_now + TIMER_MS(1));
	CHECK(timeout_poll(&t, &cx) == POLL_PENDING);
	timeout_drop(&t);
	CHECK(m.drops == 1);
	CHECK(timer_wheel_pending(&tw) == 0);
	CHECK(live_refs == 0);
	printf("    inner first: OK; deadline first: ELAPSED and inner dropped once\n");
	return true;
}

/* =========================== tables ======================================= */

const struct ktest_sync ktest_exec_sync[] = {
	/* lab 2 */
	{ "waker_clone_drop", test_waker_clone_drop },
	{ "waker_wake", test_waker_wake },
	{ "block_on_self_wake", test_block_on_self_wake },
	{ "join2", test_join2 },
	{ "select2", test_select2 },
	/* lab 4 */
	{ "wheel_order", test_wheel_order },
	{ "wheel_cancel", test_wheel_cancel },
	{ "wheel_cascade", test_wheel_cascade },
	{ "timeout", test_timeout },
	{ NULL, NULL },
};

const struct ktest_async ktest_exec_async[] = {
	/* lab 3 */
	{ "run_queue_local", rq_start, lab3_result },
	{ "join_handle", join_start, lab3_result },
	{ "abort", abort_start, lab3_result },
	{ NULL, NULL, NULL },
};

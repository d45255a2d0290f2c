/* The executor on real threads with the host hooks: stealing, parking, block_on. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "exec.h"
#include "host/host.h"
#include "task.h"
#include "test.h"

static struct executor hex;
static struct host_hooks hh;
static atomic_int done_count;
static atomic_int done_twice;

struct yielder {
	struct future base;
	int left;
	int id;
	unsigned char *seen;
};

static enum poll yielder_poll(struct future *f, struct context *cx)
{
	struct yielder *y = (struct yielder *)f;
	if (y->left-- > 0) {
		waker_wake_by_ref(cx->waker);
		return POLL_PENDING;
	}
	if (y->seen[y->id]++)
		atomic_fetch_add(&done_twice, 1);
	atomic_fetch_add(&done_count, 1);
	return POLL_READY;
}

static const struct future_vtable yielder_vt = { yielder_poll, NULL };

TASK_POOL(host_pool, struct yielder, 2048);

/* Spawned from outside, run by two worker threads until none is left. */
TEST(exec_host_two_workers_run_everything_once)
{
	static unsigned char seen[2000];
	memset(seen, 0, sizeof(seen));
	host_hooks_init(&hh);
	exec_init(&hex, &hh.hooks, 2, 0);
	atomic_store(&done_count, 0);
	atomic_store(&done_twice, 0);
	for (int i = 0; i < 2000; i++) {
		struct yielder y = { { &yielder_vt }, i % 5, i, seen };
		struct task_desc d = TASK_DESC_VOID(y, "y");
		CHECK_EQ(task_spawn(&hex, &host_pool.src, &d, NULL), TASK_OK);
	}
	host_run_threads(&hex, 2, false);
	CHECK_EQ(atomic_load(&done_count), 2000);
	CHECK_EQ(atomic_load(&done_twice), 0);
	CHECK_EQ(exec_live_tasks(&hex), 0);
	CHECK_EQ(task_pool_in_use(&host_pool), 0);
	uint64_t polls = hex.workers[0].stats.polls + hex.workers[1].stats.polls;
	CHECK_EQ(polls, 2000 + 2000 * 2);	/* 0+1+2+3+4 yields per 5 */
}

/* A wake from a plain thread (not a worker) unparks a parked worker. */
struct waiter {
	struct future base;
	atomic_int *flag;
	struct waker *slot;
	pthread_mutex_t *mu;
};

static enum poll waiter_poll(struct future *f, struct context *cx)
{
	struct waiter *w = (struct waiter *)f;
	pthread_mutex_lock(w->mu);
	if (atomic_load(w->flag)) {
		waker_drop(w->slot);
		pthread_mutex_unlock(w->mu);
		return POLL_READY;
	}
	waker_register(w->slot, cx->waker);
	pthread_mutex_unlock(w->mu);
	return POLL_PENDING;
}

static const struct future_vtable waiter_vt = { waiter_poll, NULL };

static atomic_int wflag;
static struct waker wslot;
static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;

static void *setter(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&wmu);
	atomic_store(&wflag, 1);
	struct waker w = wslot;
	wslot = WAKER_NONE;
	pthread_mutex_unlock(&wmu);
	waker_wake(&w);
	return NULL;
}

TEST(exec_host_block_on_woken_from_other_thread)
{
	struct waiter w = { { &waiter_vt }, &wflag, &wslot, &wmu };
	pthread_t th;
	host_hooks_init(&hh);
	exec_init(&hex, &hh.hooks, 1, EXEC_POLL_TIMING);
	atomic_store(&wflag, 0);
	wslot = WAKER_NONE;
	pthread_create(&th, NULL, setter, NULL);
	exec_block_on(&hex, &w.base);
	pthread_join(th, NULL);
	CHECK_EQ(atomic_load(&wflag), 1);
	/* Normally one park and one futex wake; if the wake beats the park
	 * (slow machine, valgrind) there may be none.  Never more. */
	CHECK(hex.workers[0].stats.parks <= 1);
	CHECK(atomic_load(&hh.futex_wakes) <= 1);
	CHECK(atomic_load(&hh.unparks) <= 1);
	CHECK_EQ(exec_live_tasks(&hex), 0);
}

/* block_on on worker 0 while workers 1 and 2 run forever and steal: the
 * parent spawns children, joins every one of them (wakes cross threads),
 * and block_on returns even if its own task was stolen. */
#define NKIDS 300

struct kid {
	struct future base;
	int left;
	int out;
};

static enum poll kid_poll(struct future *f, struct context *cx)
{
	struct kid *k = (struct kid *)f;
	if (k->left-- > 0) {
		waker_wake_by_ref(cx->waker);
		return POLL_PENDING;
	}
	k->out = k->out * 2;
	return POLL_READY;
}

static const struct future_vtable kid_vt = { kid_poll, NULL };
TASK_POOL(kid_pool, struct kid, NKIDS);

struct boss {
	struct future base;
	int state;
	int i;
	long sum;
	int got[NKIDS];
	struct join_handle jh[NKIDS];
};

static enum poll boss_poll(struct future *f, struct context *cx)
{
	struct boss *b = (struct boss *)f;
	ASYNC_BEGIN(b);
	for (b->i = 0; b->i < NKIDS; b->i++) {
		struct kid k = { { &kid_vt }, b->i % 7, b->i };
		struct task_desc d = TASK_DESC(k, out, "kid");
		b->jh[b->i].out = &b->got[b->i];
		if (task_spawn(&hex, &kid_pool.src, &d, &b->jh[b->i]) != TASK_OK)
			ASYNC_RETURN(b);
	}
	for (b->i = 0; b->i < NKIDS; b->i++) {
		AWAIT(b, join_handle_poll(&b->jh[b->i], cx));
		if (b->jh[b->i].result == JOIN_OK)
			b->sum += b->got[b->i];
	}
	ASYNC_END(b);
}

static const struct future_vtable boss_vt = { boss_poll, NULL };

static void *forever_worker(void *arg)
{
	exec_worker_run(&hex, (unsigned)(uintptr_t)arg, true);
	return NULL;
}

TEST(exec_host_block_on_with_stealing_workers)
{
	static struct boss b;
	pthread_t th[2];
	for (int round = 0; round < 20; round++) {
		memset(&b, 0, sizeof(b));
		b.base.vtable = &boss_vt;
		host_hooks_init(&hh);
		exec_init(&hex, &hh.hooks, 3, 0);
		for (uintptr_t i = 1; i <= 2; i++)
			pthread_create(&th[i - 1], NULL, forever_worker, (void *)i);
		exec_block_on(&hex, &b.base);
		exec_stop(&hex);
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		CHECK_EQ(b.sum, (long)NKIDS * (NKIDS - 1));	/* sum of 2*i */
		CHECK_EQ(exec_live_tasks(&hex), 0);
		CHECK_EQ(task_pool_in_use(&kid_pool), 0);
	}
}

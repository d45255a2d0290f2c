/* Waker contract on task wakers: refcount balance, late and double wakes, threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "exec.h"
#include "host/host.h"
#include "task.h"
#include "test.h"
#include "test_exec_fake.h"

static struct executor ex;
static struct fx_fut *ta;
static struct task *tt;
static unsigned r_stored, r_cloned, r_dropped;
static struct waker late;

/* Runs inside the fake park: the task is idle with one stored clone. */
static void balance_hook(unsigned w)
{
	(void)w;
	r_stored = task_refcount(tt);
	struct waker c1 = waker_clone(&ta->w);
	struct waker c2 = waker_clone(&c1);
	r_cloned = task_refcount(tt);
	waker_drop(&c1);
	waker_drop(&c2);
	r_dropped = task_refcount(tt);
	late = waker_clone(&ta->w);
	fx_fut_wake(ta);
}

TEST(waker_clone_drop_balance_is_counted)
{
	struct fx_fut a;
	struct join_handle jh;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 1, 0);
	jh.out = NULL;
	ta = fx_spawn(&ex, &a, &jh);
	tt = jh.task;
	CHECK_EQ(task_refcount(tt), 2);		/* executor + handle */
	fx.on_park = balance_hook;
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll A park(0,inf) wake A unpark(0) poll A");
	CHECK_EQ(r_stored, 3);			/* + the future's clone */
	CHECK_EQ(r_cloned, 5);
	CHECK_EQ(r_dropped, 3);
	/* Complete: the handle and our late clone remain. */
	CHECK_EQ(task_refcount(tt), 2);
	join_handle_detach(&jh);
	CHECK_EQ(fx_live_allocs, 1);		/* the late waker keeps it */
	/* Waking a completed task does nothing, however often. */
	waker_wake_by_ref(&late);
	waker_wake_by_ref(&late);
	CHECK_EQ(inject_empty(&ex.inject), 1);
	CHECK_EQ(runq_len(&ex.workers[0].runq), 0);
	CHECK_EQ(atomic_load(&tt->wakes), 3);
	waker_wake(&late);			/* last reference: freed */
	CHECK_EQ(fx_live_allocs, 0);
	CHECK(waker_is_none(&late));
}

TASK_POOL(pool1, struct fx_fut, 1);
static struct waker kept;
static void keep_hook(unsigned w)
{
	(void)w;
	kept = waker_clone(&ta->w);
	fx_fut_wake(ta);
}

/* A pool slot returns only when the last waker is gone. */
TEST(waker_outliving_task_keeps_pool_slot)
{
	struct fx_fut a;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 1, 0);
	struct task_desc d = TASK_DESC(a, out, "A");
	CHECK_EQ(task_spawn(&ex, &pool1.src, &d, NULL), TASK_OK);
	/* A pool task is on no registry list: its slot is the first. */
	ta = (struct fx_fut *)(void *)(pool1_mem[0] + TASK_CORE_OFF);
	fx.on_park = keep_hook;
	exec_run(&ex);
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK_EQ(task_pool_in_use(&pool1), 1);
	CHECK_EQ(task_spawn(&ex, &pool1.src, &d, NULL), TASK_ENOMEM);
	waker_drop(&kept);
	CHECK_EQ(task_pool_in_use(&pool1), 0);
	a.pends = 0;
	CHECK_EQ(task_spawn(&ex, &pool1.src, &d, NULL), TASK_OK);
	exec_run(&ex);
	CHECK_EQ(task_pool_in_use(&pool1), 0);
}

static void double_wake_hook(unsigned w)
{
	(void)w;
	waker_wake_by_ref(&ta->w);
	waker_wake_by_ref(&ta->w);
}

/* Two wakes before the task runs again: one poll, one unpark. */
TEST(waker_double_wake_polls_once)
{
	struct fx_fut a;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 1, 0);
	ta = fx_spawn(&ex, &a, NULL);
	fx.on_park = double_wake_hook;
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll A park(0,inf) unpark(0) poll A");
	CHECK_EQ(fx_live_allocs, 0);
}

/* A wake from another thread while the task is inside its poll must
 * cause another poll (the SCHEDULED-while-RUNNING path), never a park. */
struct xwake {
	struct future base;
	int polls;
	int rounds;
};

static void *xwake_thread(void *arg)
{
	struct waker *w = arg;
	waker_wake(w);		/* consumes the clone */
	return NULL;
}

static enum poll xwake_poll(struct future *f, struct context *cx)
{
	struct xwake *x = (struct xwake *)f;
	x->polls++;
	if (x->polls > x->rounds)
		return POLL_READY;
	struct waker c = waker_clone(cx->waker);
	pthread_t th;
	pthread_create(&th, NULL, xwake_thread, &c);
	pthread_join(th, NULL);	/* the wake happened during this poll */
	return POLL_PENDING;
}

static const struct future_vtable xwake_vt = { xwake_poll, NULL };

TEST(waker_wake_from_thread_during_poll_is_not_lost)
{
	struct xwake x = { { &xwake_vt }, 0, 200 };
	struct join_handle jh;
	int polls = 0;
	fx_init(&ex, 1, 0);
	struct task_desc d = TASK_DESC(x, polls, "X");
	jh.out = &polls;
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, &jh), TASK_OK);
	exec_run(&ex);
	CHECK_STR(fx_get(), "");		/* never parked */
	CHECK_EQ(join_handle_poll(&jh, &(struct context){ waker_noop() }), POLL_READY);
	CHECK_EQ(polls, 201);
	CHECK_EQ(atomic_load(&ex.workers[0].stats.polls), 201);
	CHECK_EQ(fx_live_allocs, 0);
}

/* A foreign waker (here a counting one) works on a join handle. */
static atomic_int fw_wakes, fw_clones, fw_drops;
static struct raw_waker fw_clone(const void *d);
static void fw_wake(const void *d) { (void)d; fw_wakes++; fw_drops++; }
static void fw_wake_by_ref(const void *d) { (void)d; fw_wakes++; }
static void fw_drop(const void *d) { (void)d; fw_drops++; }
static const struct raw_waker_vtable fw_vt = { fw_clone, fw_wake, fw_wake_by_ref, fw_drop };
static struct raw_waker fw_clone(const void *d)
{
	fw_clones++;
	return (struct raw_waker){ d, &fw_vt };
}

TEST(waker_foreign_waker_on_join_handle)
{
	struct fx_fut a;
	struct join_handle jh;
	int out = 0;
	struct waker fw = { { NULL, &fw_vt } };
	struct context cx = { &fw };
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 0, 11);
	jh.out = &out;
	fx_spawn(&ex, &a, &jh);
	CHECK(!task_waker_is_ours(&fw));
	CHECK_EQ(join_handle_poll(&jh, &cx), POLL_PENDING);
	CHECK_EQ(join_handle_poll(&jh, &cx), POLL_PENDING);
	CHECK_EQ(fw_clones, 1);		/* same waker: kept, not re-cloned */
	struct waker fw2 = { { &fw_clones, &fw_vt } };
	struct context cx2 = { &fw2 };
	CHECK_EQ(join_handle_poll(&jh, &cx2), POLL_PENDING);
	CHECK_EQ(fw_clones, 2);
	CHECK_EQ(fw_drops, 1);		/* the first clone was replaced */
	exec_run(&ex);
	CHECK_EQ(fw_wakes, 1);
	CHECK_EQ(fw_drops, 2);		/* woken by value: consumed */
	CHECK_EQ(join_handle_poll(&jh, &cx), POLL_READY);
	CHECK_EQ(out, 11);
	CHECK_EQ(fw_clones, fw_drops);
	CHECK_EQ(fx_live_allocs, 0);
}

TEST(waker_noop_is_harmless)
{
	struct waker c = waker_clone(waker_noop());
	waker_wake_by_ref(&c);
	waker_wake(&c);
	CHECK(waker_is_none(&c));
	c = waker_clone(waker_noop());
	CHECK(waker_will_wake(&c, waker_noop()));
	waker_drop(&c);
	struct waker none = WAKER_NONE;
	waker_wake(&none);
	waker_drop(&none);
}

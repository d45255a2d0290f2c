/* Multi-worker additions: pinned tasks stay on their worker; earlier timers notify the executor. */
#include <stdatomic.h>
#include <string.h>

#include "exec.h"
#include "host/host.h"
#include "task.h"
#include "test.h"
#include "timer.h"

static struct executor pex;
static struct host_hooks phh;
static atomic_int wrong_worker, pinned_polls, free_polls;

struct pinned_yielder {
	struct future base;
	int left;
	unsigned want;   /* worker id, or ~0u: any */
};

static enum poll pinned_yielder_poll(struct future *f, struct context *cx)
{
	struct pinned_yielder *y = (struct pinned_yielder *)f;
	struct exec_worker *w = exec_current(&pex);
	if (y->want != ~0u) {
		atomic_fetch_add(&pinned_polls, 1);
		if (!w || w->id != y->want)
			atomic_fetch_add(&wrong_worker, 1);
	} else {
		atomic_fetch_add(&free_polls, 1);
	}
	if (y->left-- > 0) {
		waker_wake_by_ref(cx->waker);
		return POLL_PENDING;
	}
	return POLL_READY;
}

static const struct future_vtable pinned_yielder_vt = { pinned_yielder_poll, NULL };

TASK_POOL(pin_pool, struct pinned_yielder, 1024);

/* Three workers; tasks pinned to workers 1 and 2 among 600 free ones that
 * get stolen back and forth: every poll of a pinned task is on its worker. */
TEST(exec_pinned_tasks_stay_on_their_worker)
{
	host_hooks_init(&phh);
	exec_init(&pex, &phh.hooks, 3, 0);
	atomic_store(&wrong_worker, 0);
	atomic_store(&pinned_polls, 0);
	atomic_store(&free_polls, 0);
	for (int i = 0; i < 600; i++) {
		struct pinned_yielder y = { { &pinned_yielder_vt }, 10, ~0u };
		struct task_desc d = TASK_DESC_VOID(y, "free");
		CHECK_EQ(task_spawn(&pex, &pin_pool.src, &d, NULL), TASK_OK);
		if (i % 20 == 0) {
			struct pinned_yielder p = { { &pinned_yielder_vt }, 50, 1u + (i / 20) % 2 };
			struct task_desc pd = TASK_DESC_VOID(p, "pinned");
			pd.pin = 1 + p.want;
			CHECK_EQ(task_spawn(&pex, &pin_pool.src, &pd, NULL), TASK_OK);
		}
	}
	host_run_threads(&pex, 3, false);
	CHECK_EQ(atomic_load(&pinned_polls), 30 * 51);
	CHECK_EQ(atomic_load(&free_polls), 600 * 11);
	CHECK_EQ(atomic_load(&wrong_worker), 0);
	CHECK_EQ(exec_live_tasks(&pex), 0);
	CHECK(pex.workers[1].stats.pinned_pops + pex.workers[2].stats.pinned_pops >= 30 * 51);
	CHECK_EQ(task_pool_in_use(&pin_pool), 0);
}

static int earlier_calls;

static void count_earlier(void *arg)
{
	(void)arg;
	earlier_calls++;
}

/* The wheel reports an insert that moves its earliest deadline earlier,
 * and only that. */
TEST(timer_on_earlier_reports_new_minimum)
{
	struct timer_wheel w;
	struct timer_entry a, b, c;
	struct context cx = { waker_noop() };
	timer_wheel_init_shift(&w, 0, 10);
	w.on_earlier = count_earlier;
	earlier_calls = 0;
	timer_entry_init(&a);
	timer_entry_init(&b);
	timer_entry_init(&c);
	CHECK_EQ(timer_entry_poll(&w, &a, 1000000, &cx), POLL_PENDING);
	CHECK_EQ(earlier_calls, 1);	/* first entry: earlier than "none" */
	CHECK_EQ(timer_entry_poll(&w, &b, 5000000, &cx), POLL_PENDING);
	CHECK_EQ(earlier_calls, 1);	/* later: nobody needs to know */
	CHECK_EQ(timer_entry_poll(&w, &c, 100000, &cx), POLL_PENDING);
	CHECK_EQ(earlier_calls, 2);	/* earlier: reported */
	CHECK_EQ(timer_entry_poll(&w, &c, 100000, &cx), POLL_PENDING);
	CHECK_EQ(earlier_calls, 2);	/* re-poll of a queued entry: no insert */
	timer_entry_cancel(&w, &a);
	timer_entry_cancel(&w, &b);
	timer_entry_cancel(&w, &c);
}

/* The waker discipline checks (check.h): each kind of note, from a task that breaks its rule. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "exec.h"
#include "task.h"
#include "test.h"
#include "test_exec_fake.h"

/* Notes drained into a list the test can look at. */
static struct check_note got[8];
static unsigned ngot;

static void keep(void *arg, const struct check_note *n)
{
	(void)arg;
	if (ngot < 8)
		got[ngot++] = *n;
}

static unsigned drain(void)
{
	ngot = 0;
	exec_check_drain(keep, NULL);
	return ngot;
}

/* A future that returns Pending once without storing its waker: the
 * classic lost wake-up (a leaf future that forgot waker_clone). */
struct forgets {
	struct future base;
	int polls;
};

static enum poll forgets_poll(struct future *f, struct context *cx)
{
	(void)cx;
	return ++((struct forgets *)f)->polls > 1 ? POLL_READY : POLL_PENDING;
}

static const struct future_vtable forgets_vt = { forgets_poll, NULL };

/* Room for the largest future below. */
union check_futs {
	struct forgets f;
	struct { struct future base; struct { struct future b; int s; } c; } r;
};
TASK_POOL(check_pool, union check_futs, 4);

/* The idle executor (a park with nothing to run) looks for lost wakes,
 * as the kernel's test runner does while a test waits. */
static void scan_on_park(unsigned worker)
{
	(void)worker;
	if (exec_check_scan(fx.e, CHECK_SCAN_LOST))
		exec_stop(fx.e);
}

TEST(check_lost_wake_names_the_task)
{
	struct executor ex;
	fx_init(&ex, 1, 0);
	fx.on_park = scan_on_park;
	struct forgets f = { { &forgets_vt }, 0 };
	struct task_desc d = TASK_DESC_VOID(f, "join2");
	CHECK_EQ(task_spawn(&ex, &check_pool.src, &d, NULL), TASK_OK);
	drain();
	exec_run(&ex);	/* returns: the scan found the lost wake and stopped it */
	CHECK_EQ(drain(), 1);
	CHECK_EQ(got[0].kind, CHECK_LOST_WAKE);
	CHECK_STR(got[0].name, "join2");
	CHECK_EQ(got[0].polls, 1);
	CHECK_EQ(got[0].refs, 1);	/* the executor's: no waker */
	CHECK_STR(exec_check_kind_name(got[0].kind), "lost wake");
	exec_shutdown(&ex);
	drain();
}

/* A well-behaved waiter (fx_fut stores a clone) is not a lost wake:
 * idle, the scan finds nothing, and "an interrupt" then wakes it. */
static struct fx_fut *waiter;
static unsigned idle_scans;

static void scan_then_wake(unsigned worker)
{
	(void)worker;
	idle_scans += exec_check_scan(fx.e, CHECK_SCAN_ALL) + 1000;
	fx_irq_enter();
	fx_fut_wake(waiter);
	fx_irq_exit();
}

TEST(check_stored_waker_is_no_lost_wake)
{
	struct executor ex;
	fx_init(&ex, 1, 0);
	fx.on_park = scan_then_wake;
	struct fx_fut f;
	fx_fut_init(&f, "A", 1, 0);
	waiter = fx_spawn(&ex, &f, NULL);
	idle_scans = 0;
	drain();
	exec_run(&ex);
	CHECK_EQ(idle_scans, 1000);	/* one idle park, nothing noted */
	CHECK_EQ(drain(), 0);
}

/* A future that keeps a clone of its waker past its end. */
static struct waker kept;

static enum poll keeper_poll(struct future *f, struct context *cx)
{
	(void)f;
	kept = waker_clone(cx->waker);
	return POLL_READY;
}

static const struct future_vtable keeper_vt = { keeper_poll, NULL };

TEST(check_leaked_waker_after_the_task_ended)
{
	struct executor ex;
	fx_init(&ex, 1, 0);
	struct forgets f = { { &keeper_vt }, 0 };
	struct task_desc d = TASK_DESC_VOID(f, "keeper");
	CHECK_EQ(task_spawn(&ex, &check_pool.src, &d, NULL), TASK_OK);
	drain();
	exec_run(&ex);
	CHECK_EQ(exec_check_scan(NULL, CHECK_SCAN_LEAKS), 1);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(got[0].kind, CHECK_LEAKED_WAKER);
	CHECK_STR(got[0].name, "keeper");
	CHECK_EQ(got[0].clones, 1);
	CHECK_EQ(got[0].drops, 0);
	CHECK_EQ(got[0].refs, 1);
	waker_drop(&kept);	/* the last reference: the slot goes back */
	CHECK_EQ(exec_check_scan(NULL, CHECK_SCAN_LEAKS), 0);
	drain();
}

/* A task being completed still holds the executor's reference, which is
 * dropped last: a scan in that moment (here from inside the completion,
 * where the join waker is woken; in the kernel, a test runner on another
 * hart) must not take it for a leak. */
static const struct raw_waker_vtable scanning_vt;
static unsigned scan_found, scan_wakes;

static struct raw_waker scanning_clone(const void *data)
{
	return (struct raw_waker){ data, &scanning_vt };
}

static void scanning_wake(const void *data)
{
	(void)data;
	scan_wakes++;
	scan_found += exec_check_scan(NULL, CHECK_SCAN_LEAKS);
}

static void scanning_drop(const void *data)
{
	(void)data;
}

static const struct raw_waker_vtable scanning_vt = {
	scanning_clone, scanning_wake, scanning_wake, scanning_drop,
};

static enum poll ready_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	return POLL_READY;
}

static const struct future_vtable ready_vt = { ready_poll, NULL };

TEST(check_completing_task_is_no_leak)
{
	struct executor ex;
	fx_init(&ex, 1, 0);
	struct forgets f = { { &ready_vt }, 0 };
	struct task_desc d = TASK_DESC_VOID(f, "ending");
	struct join_handle jh;
	jh.out = NULL;
	CHECK_EQ(task_spawn(&ex, &check_pool.src, &d, &jh), TASK_OK);
	struct waker w = { { NULL, &scanning_vt } };
	struct context cx = { &w };
	CHECK_EQ(join_handle_poll(&jh, &cx), POLL_PENDING);
	drain();
	scan_found = scan_wakes = 0;
	exec_run(&ex);
	CHECK_EQ(scan_wakes, 1);	/* the scan ran inside the completion */
	CHECK_EQ(scan_found, 0);
	CHECK_EQ(drain(), 0);
	CHECK_EQ(join_handle_poll(&jh, &cx), POLL_READY);
	CHECK_EQ(exec_check_scan(NULL, CHECK_SCAN_LEAKS), 0);
	CHECK_EQ(drain(), 0);
}

/* An async function, and a parent that polls it again after Ready. */
struct child {
	struct future base;
	int state;
};

static enum poll child_poll(struct future *f, struct context *cx)
{
	struct child *c = (struct child *)f;
	(void)cx;
	ASYNC_BEGIN(c);
	ASYNC_END(c);
}

struct repoller {
	struct future base;
	struct child c;
};

static enum poll repoller_poll(struct future *f, struct context *cx)
{
	struct repoller *r = (struct repoller *)f;
	child_poll(&r->c.base, cx);
	child_poll(&r->c.base, cx);	/* the bug: once more after Ready */
	return POLL_READY;
}

static const struct future_vtable repoller_vt = { repoller_poll, NULL };

TEST(check_poll_after_ready_names_the_task)
{
	struct executor ex;
	fx_init(&ex, 1, 0);
	struct repoller r = { { &repoller_vt }, { { NULL }, ASYNC_INIT } };
	struct task_desc d = TASK_DESC_VOID(r, "repoller");
	CHECK_EQ(task_spawn(&ex, &check_pool.src, &d, NULL), TASK_OK);
	drain();
	exec_run(&ex);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(got[0].kind, CHECK_POLL_AFTER_READY);
	CHECK_STR(got[0].name, "repoller");
}

/* A task that wakes itself on every poll: a storm, noted as it ends. */
struct spinner {
	struct future base;
	int polls;
};

static enum poll spinner_poll(struct future *f, struct context *cx)
{
	struct spinner *s = (struct spinner *)f;
	if (++s->polls == 100)
		return POLL_READY;
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable spinner_vt = { spinner_poll, NULL };

TEST(check_self_wake_storm)
{
	struct executor ex;
	fx_init(&ex, 1, 0);
	struct spinner s = { { &spinner_vt }, 0 };
	struct task_desc d = TASK_DESC_VOID(s, "spinner");
	CHECK_EQ(task_spawn(&ex, &check_pool.src, &d, NULL), TASK_OK);
	drain();
	exec_run(&ex);
	CHECK_EQ(drain(), 1);
	CHECK_EQ(got[0].kind, CHECK_SELF_WAKE_STORM);
	CHECK_STR(got[0].name, "spinner");
	CHECK_EQ(got[0].polls, 100);
	CHECK_EQ(got[0].requeues, 99);
	/* A test may allow it. */
	exec_check_allow(CHECK_ALLOW(CHECK_SELF_WAKE_STORM));
	s.polls = 0;
	CHECK_EQ(task_spawn(&ex, &check_pool.src, &d, NULL), TASK_OK);
	exec_run(&ex);
	CHECK_EQ(drain(), 0);
}

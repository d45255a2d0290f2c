/* Scheduler tests: exact traces of polls, wakes and parks on the fake hooks. */
#include <stdio.h>
#include <string.h>

#include "exec.h"
#include "task.h"
#include "test.h"
#include "test_exec_fake.h"
#include "timer.h"

static struct executor ex;

TEST(exec_runs_spawned_tasks_in_fifo_order)
{
	struct fx_fut a, b, c;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 0, 1);
	fx_fut_init(&b, "B", 0, 2);
	fx_fut_init(&c, "C", 0, 3);
	CHECK(fx_spawn(&ex, &a, NULL));
	CHECK(fx_spawn(&ex, &b, NULL));
	CHECK(fx_spawn(&ex, &c, NULL));
	CHECK_EQ(exec_live_tasks(&ex), 3);
	exec_run(&ex);
	/* No park: the run ends when the last task completes. */
	CHECK_STR(fx_get(), "poll A poll B poll C");
	CHECK_EQ(exec_live_tasks(&ex), 0);
	CHECK_EQ(fx_live_allocs, 0);
}

/* A wake from an "interrupt handler" while the worker is parked goes
 * through the injection queue and unparks exactly that worker. */
static struct fx_fut *irq_target;
static void irq_wake(unsigned w)
{
	(void)w;
	fx_fut_wake(irq_target);
}

TEST(exec_irq_wake_unparks_worker)
{
	struct fx_fut a;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 1, 0);
	irq_target = fx_spawn(&ex, &a, NULL);
	fx.on_park = irq_wake;
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll A park(0,inf) wake A unpark(0) poll A");
	CHECK_EQ(ex.workers[0].stats.parks, 1);
	/* the spawn from outside the worker, and the interrupt's wake */
	CHECK_EQ(ex.workers[0].stats.inject_pops, 2);
	CHECK_EQ(fx_live_allocs, 0);
}

/* A task that wakes itself goes to the back: two yielding tasks alternate. */
TEST(exec_self_wake_goes_to_back)
{
	struct fx_fut a, b;
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "A", 2, 0);
	fx_fut_init(&b, "B", 2, 0);
	a.yield = b.yield = true;
	fx_spawn(&ex, &a, NULL);
	fx_spawn(&ex, &b, NULL);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll A poll B poll A poll B poll A poll B");
}

/* B, woken by the running task A, runs next (LIFO slot), before C. */
TEST(exec_lifo_slot_runs_woken_task_next)
{
	struct fx_fut a, b, c;
	fx_init(&ex, 1, 0);
	fx_fut_init(&b, "B", 1, 0);
	fx_fut_init(&a, "A", 0, 0);
	fx_fut_init(&c, "C", 0, 0);
	struct fx_fut *tb = fx_spawn(&ex, &b, NULL);
	a.wake_other = tb;
	/* Run B once so it stores its waker, then spawn A and C. */
	fx_spawn(&ex, &a, NULL);
	fx_spawn(&ex, &c, NULL);
	exec_run(&ex);
	CHECK_STR(fx_get(), "poll B poll A wake B poll B poll C");
	CHECK_EQ(ex.workers[0].stats.lifo_polls, 1);
}

/* Two tasks waking each other forever would live in the LIFO slot; after
 * EXEC_LIFO_MAX LIFO polls the slot's task goes to the back, so C runs. */
TEST(exec_lifo_cap_lets_others_run)
{
	struct fx_fut p, q, c;
	fx_init(&ex, 1, 0);
	fx_fut_init(&p, "P", 6, 0);
	fx_fut_init(&q, "Q", 6, 0);
	fx_fut_init(&c, "C", 0, 0);
	struct fx_fut *tp = fx_spawn(&ex, &p, NULL);
	struct fx_fut *tq = fx_spawn(&ex, &q, NULL);
	fx_spawn(&ex, &c, NULL);
	tp->wake_other = tq;
	tq->wake_other = tp;
	exec_run(&ex);
	/* P and Q come first from the queue; Q wakes P into the LIFO slot and
	 * they ping-pong through it: P, Q, P (three LIFO polls), then Q, due
	 * next, goes to the back of the queue behind C, so C runs. */
	CHECK_STR(fx_get(),
	          "poll P poll Q wake P poll P wake Q poll Q wake P poll P wake Q "
	          "poll C "
	          "poll Q wake P poll P wake Q poll Q wake P poll P wake Q "
	          "poll Q wake P poll P wake Q poll Q wake P poll P wake Q poll Q");
	CHECK_EQ(ex.workers[0].stats.lifo_polls, 9);
}

/* A task that always yields keeps the local queue non-empty; an injected
 * task still runs within EXEC_INJECT_INTERVAL ticks. */
static int spin_polls, b_seen_at;
static struct fx_fut *inj_b;

struct spinner {
	struct future base;
	int left;
};

static enum poll spinner_poll(struct future *f, struct context *cx)
{
	struct spinner *s = (struct spinner *)f;
	spin_polls++;
	if (spin_polls == 1) {
		fx_irq_enter();	/* an interrupt arrives mid-poll */
		fx_fut_wake(inj_b);
		fx_irq_exit();
	}
	/* B's task is freed once it completes: look at the trace instead. */
	if (!b_seen_at && strcmp(fx_get(), "poll B wake B poll B") == 0)
		b_seen_at = spin_polls;
	if (--s->left == 0)
		return POLL_READY;
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable spinner_vt = { spinner_poll, NULL };

TEST(exec_injection_checked_every_61_ticks)
{
	/* Its busy task yields on every poll on purpose (check.h). */
	exec_check_allow(CHECK_ALLOW(CHECK_SELF_WAKE_STORM));
	struct fx_fut b;
	struct spinner sp = { { &spinner_vt }, 200 };
	fx_init(&ex, 1, 0);
	fx_fut_init(&b, "B", 1, 0);
	inj_b = fx_spawn(&ex, &b, NULL);
	struct task_desc d = TASK_DESC_VOID(sp, "spin");
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	spin_polls = b_seen_at = 0;
	exec_run(&ex);
	/* tick 1: B, ticks 2..60: the spinner (59 polls), tick 61: B. */
	CHECK_EQ(b_seen_at, 60);
	CHECK_EQ(spin_polls, 200);
	CHECK_STR(fx_get(), "poll B wake B poll B");
}

/* The loop looks at exec_stop on the fairness tick (and before parking),
 * not before every poll: a worker kept busy by a task that always yields
 * returns within EXEC_INJECT_INTERVAL polls of the stop. */
static int stopper_polls, stopped_at;

static enum poll stopper_poll(struct future *f, struct context *cx)
{
	(void)f;
	if (++stopper_polls == 10) {
		exec_stop(&ex);
		stopped_at = stopper_polls;
	}
	if (stopper_polls == 500)
		return POLL_READY;	/* a loop that missed the stop ends here */
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable stopper_vt = { stopper_poll, NULL };

TEST(exec_stop_seen_by_busy_worker_within_61_polls)
{
	struct spinner st = { { &stopper_vt }, 0 };
	fx_init(&ex, 1, 0);
	fx.trace_unpark = false;
	stopper_polls = stopped_at = 0;
	struct task_desc d = TASK_DESC_VOID(st, "stopper");
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	exec_run(&ex);
	atomic_store(&ex.stop, false);
	CHECK_EQ(stopped_at, 10);
	CHECK(stopper_polls > 10);
	CHECK(stopper_polls <= 10 + (int)EXEC_INJECT_INTERVAL);
	exec_shutdown(&ex);
	CHECK_EQ(fx_live_allocs, 0);
}

/* A pinned task woken while its worker is busy waits at most until the
 * fairness tick: the pinned queue is looked at like the injection
 * queue, not before every poll.  The spinner spawns the pinned task on
 * its 5th poll, when the worker's ring already holds the spinner. */
static int pin_spin_polls, pinned_spawned_at, pinned_seen_at;
static struct fx_fut pin_p;

static enum poll pin_spinner_poll(struct future *f, struct context *cx)
{
	struct spinner *s = (struct spinner *)f;
	pin_spin_polls++;
	if (!pinned_seen_at && strstr(fx_get(), "poll P"))
		pinned_seen_at = pin_spin_polls;
	if (pin_spin_polls == 5) {
		struct task_desc dp = TASK_DESC(pin_p, out, "P");
		dp.pin = 1;	/* worker 0, this one */
		if (task_spawn(&ex, &fx_src, &dp, NULL) == TASK_OK)
			pinned_spawned_at = pin_spin_polls;
	}
	if (--s->left == 0)
		return POLL_READY;
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable pin_spinner_vt = { pin_spinner_poll, NULL };

TEST(exec_pinned_task_runs_within_61_polls_of_a_busy_worker)
{
	/* Its busy task yields on every poll on purpose (check.h). */
	exec_check_allow(CHECK_ALLOW(CHECK_SELF_WAKE_STORM));
	struct spinner sp = { { &pin_spinner_vt }, 200 };
	fx_init(&ex, 1, 0);
	fx.trace_unpark = false;
	pin_spin_polls = pinned_spawned_at = pinned_seen_at = 0;
	fx_fut_init(&pin_p, "P", 0, 0);
	struct task_desc d = TASK_DESC_VOID(sp, "spin");
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	exec_run(&ex);
	CHECK_EQ(pinned_spawned_at, 5);
	/* P ran on a fairness tick, before the spinner finished. */
	CHECK(pinned_seen_at > 5);
	CHECK(pinned_seen_at <= 5 + (int)EXEC_INJECT_INTERVAL);
	CHECK_EQ(pin_spin_polls, 200);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Timers: the worker parks until the wheel's next deadline, then the
 * advance on wake-up fires the sleep. */
struct sleeper {
	struct future base;
	int state;
	struct sleep s;
	int done;
	uint64_t idle_ns;	/* fake time that passes before the sleep */
};

static enum poll sleeper_poll(struct future *f, struct context *cx)
{
	struct sleeper *z = (struct sleeper *)f;
	ASYNC_BEGIN(z);
	fx.now += z->idle_ns;
	fx_trace("sleep at %llu", (unsigned long long)exec_now(&ex));
	sleep_for(&z->s, exec_wheel(&ex), exec_now(&ex), TIMER_MS(5));
	AWAIT(z, sleep_poll(&z->s, cx));
	fx_trace("woke at %llu", (unsigned long long)exec_now(&ex));
	z->done = 1;
	ASYNC_END(z);
}

static void sleeper_drop(struct future *f)
{
	sleep_drop(&((struct sleeper *)f)->s);
}

static const struct future_vtable sleeper_vt = { sleeper_poll, sleeper_drop };

TEST(exec_parks_until_next_timer_deadline)
{
	struct sleeper z;
	memset(&z, 0, sizeof(z));
	z.base.vtable = &sleeper_vt;
	fx_init(&ex, 1, 0);
	exec_block_on(&ex, &z.base);
	/* 1000 + 5 ms, rounded up to the wheel's 2^20 ns tick: 5 * 2^20. */
	CHECK_STR(fx_get(), "sleep at 1000 park(0,5242880) woke at 5242880");
	CHECK_EQ(z.done, 1);
	CHECK_EQ(ex.workers[0].stats.parks, 1);
}

/* A task the timer wheel wakes runs before the tasks already queued
 * (the worker's due list), on the turn right after the tick that fired
 * it.  Eight tasks each take 1 ms of fake time per poll and, like a user
 * process whose slice ran out, ask for the tick at once (exec_tick_soon);
 * a 5 ms sleeper must then run on the very next turn after the poll
 * during which its deadline passed: no other task polled in between. */
static int yield_polls, polls_after_deadline;
static uint64_t due_at;

static enum poll slicer_poll(struct future *f, struct context *cx)
{
	(void)f;
	/* Started after the deadline, rounded up to the wheel's 2^20 ns
	 * tick, had passed: a tick (and the sleeper) should have come first. */
	uint64_t tick = (uint64_t)1 << 20;
	if (due_at && fx.now >= (due_at + tick - 1) / tick * tick)
		polls_after_deadline++;
	fx.now += TIMER_MS(1);
	if (++yield_polls >= 8 * 40)
		return POLL_READY;
	exec_tick_soon();
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable slicer_vt = { slicer_poll, NULL };

struct due_sleeper {
	struct future base;
	int state;
	struct sleep s;
	int late_polls;
};

static enum poll due_sleeper_poll(struct future *f, struct context *cx)
{
	struct due_sleeper *z = (struct due_sleeper *)f;
	ASYNC_BEGIN(z);
	sleep_for(&z->s, exec_wheel(&ex), exec_now(&ex), TIMER_MS(5));
	due_at = z->s.deadline;
	AWAIT(z, sleep_poll(&z->s, cx));
	z->late_polls = polls_after_deadline;
	ASYNC_END(z);
}

static void due_sleeper_drop(struct future *f)
{
	sleep_drop(&((struct due_sleeper *)f)->s);
}

static const struct future_vtable due_sleeper_vt = { due_sleeper_poll, due_sleeper_drop };

TEST(exec_timer_wake_runs_before_queued_tasks)
{
	struct spinner busy = { { &slicer_vt }, 0 };
	struct due_sleeper z;
	memset(&z, 0, sizeof(z));
	z.base.vtable = &due_sleeper_vt;
	z.late_polls = -1;
	fx_init(&ex, 1, 0);
	yield_polls = polls_after_deadline = 0;
	due_at = 0;
	for (int i = 0; i < 8; i++) {
		struct task_desc d = TASK_DESC_VOID(busy, "slicer");
		CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	}
	exec_block_on(&ex, &z.base);
	CHECK(due_at > 0);
	CHECK_EQ(z.late_polls, 0);
	exec_run(&ex);
	CHECK_EQ(yield_polls, 8 * 40 + 7); /* the first Ready at 320, then one each */
	CHECK_EQ(fx_live_allocs, 0);
}

/* The wheel is not advanced while it is empty (exec_timers), so its
 * clock can lag far behind the now_ns hook's.  A sleep inserted then is
 * still due at its own deadline: not early (filed relative to the old
 * clock), not late (the park programs it). */
TEST(exec_sleep_after_idle_wheel_fires_at_its_deadline)
{
	struct sleeper z;
	memset(&z, 0, sizeof(z));
	z.base.vtable = &sleeper_vt;
	z.idle_ns = TIMER_MS(10000);	/* 10 s pass with no timer queued */
	fx_init(&ex, 1, 0);
	exec_block_on(&ex, &z.base);
	/* 1000 + 10 s + 5 ms, rounded up to a 2^20 ns tick: 9542 ticks. */
	CHECK_STR(fx_get(), "sleep at 10000001000 park(0,10005512192) woke at 10005512192");
	CHECK_EQ(z.done, 1);
	CHECK_EQ(ex.workers[0].stats.parks, 1);
}

/* block_on returns as soon as its future completes, even while another
 * task keeps the worker busy: the completion makes the loop's next turn
 * the fairness tick, which sees it.  The worker's poll count (kept by
 * the fairness countdown) stays exact across that. */
static int busy_polls, bo_polls;

static enum poll busy_poll(struct future *f, struct context *cx)
{
	(void)f;
	if (++busy_polls == 1000)
		return POLL_READY;	/* a loop that missed the end stops here */
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable busy_vt = { busy_poll, NULL };

static enum poll bo_poll(struct future *f, struct context *cx)
{
	(void)f;
	if (++bo_polls == 4)
		return POLL_READY;
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable bo_vt = { bo_poll, NULL };

TEST(exec_block_on_returns_right_after_its_future_among_busy_tasks)
{
	/* Its busy task yields on every poll on purpose (check.h). */
	exec_check_allow(CHECK_ALLOW(CHECK_SELF_WAKE_STORM));
	struct spinner busy = { { &busy_vt }, 0 };
	struct future bo = { &bo_vt };
	fx_init(&ex, 1, 0);
	busy_polls = bo_polls = 0;
	struct task_desc d = TASK_DESC_VOID(busy, "busy");
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	exec_block_on(&ex, &bo);
	/* busy and block_on's future take turns: busy, bo, busy, bo, ... */
	CHECK_EQ(bo_polls, 4);
	CHECK_EQ(busy_polls, 4);
	CHECK_EQ(atomic_load(&ex.workers[0].stats.polls), 8);
	/* Running on, the count goes on from there. */
	exec_run(&ex);
	CHECK_EQ(busy_polls, 1000);
	CHECK_EQ(atomic_load(&ex.workers[0].stats.polls), 1004);
	CHECK_EQ(fx_live_allocs, 0);
}

/* The poll count stays exact when the fairness tick is the turn that
 * runs out of work: X yields 59 times (polls 1..60 on turns 1..60) and
 * then waits for an "interrupt", so turn 61, the tick, finds nothing and
 * the worker parks.  The interrupt wakes X for its 61st and last poll. */
static int tick_x_polls;
static struct waker tick_x_waker;

static enum poll tick_x_poll(struct future *f, struct context *cx)
{
	(void)f;
	if (++tick_x_polls == 61)
		return POLL_READY;
	if (tick_x_polls == 60)
		tick_x_waker = waker_clone(cx->waker);
	else
		waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable tick_x_vt = { tick_x_poll, NULL };

static void tick_x_irq(unsigned w)
{
	(void)w;
	waker_wake(&tick_x_waker);
}

TEST(exec_poll_count_exact_when_the_tick_finds_no_work)
{
	struct spinner x = { { &tick_x_vt }, 0 };
	fx_init(&ex, 1, 0);
	fx.trace_unpark = false;
	fx.on_park = tick_x_irq;
	tick_x_polls = 0;
	struct task_desc d = TASK_DESC_VOID(x, "X");
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	exec_run(&ex);
	CHECK_EQ(tick_x_polls, 61);
	CHECK_EQ(ex.workers[0].stats.parks, 1);
	CHECK_EQ(atomic_load(&ex.workers[0].stats.polls), 61);
	CHECK_EQ(fx_live_allocs, 0);
}

/* The Ctrl-T table: one line per live task, then one per worker. */
static char table[2048];
static size_t table_len;
static void table_write(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	if (table_len + n < sizeof(table)) {
		memcpy(table + table_len, s, n);
		table_len += n;
		table[table_len] = 0;
	}
}

static struct fx_fut *pt_a;
static void print_hook(unsigned w)
{
	(void)w;
	exec_print_tasks(fx.e, table_write, NULL);
	fx_fut_wake(pt_a);
}

TEST(exec_print_tasks_lists_live_tasks)
{
	struct fx_fut a, b;
	fx_init(&ex, 1, EXEC_POLL_TIMING);
	fx_fut_init(&a, "netd", 1, 0);
	fx_fut_init(&b, "shell", 0, 0);
	pt_a = fx_spawn(&ex, &a, NULL);
	fx_spawn(&ex, &b, NULL);
	table_len = 0;
	fx.on_park = print_hook;
	exec_run(&ex);
	CHECK_STR(table,
	          "task             state         polls      wakes   poll_us\n"
	          "netd             waiting           1          0         0\n"
	          "worker 0: polls 2 parks 1 steals 0 injected 2\n");
}

/* Tasks spawned by a task sit on that worker's registry list; the table
 * shows them after the shared list, newest first, and they leave it when
 * they complete. */
static struct fx_fut kid_a, kid_b, *kid_pa, *kid_pb;

struct kidspawner {
	struct future base;
};

static enum poll kidspawner_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	kid_pa = fx_spawn(fx.e, &kid_a, NULL);
	kid_pb = fx_spawn(fx.e, &kid_b, NULL);
	return POLL_READY;
}

static const struct future_vtable kidspawner_vt = { kidspawner_poll, NULL };

static int kid_prints;
static void kid_print_hook(unsigned w)
{
	(void)w;
	if (kid_prints++ == 0) {
		exec_print_tasks(fx.e, table_write, NULL);
		fx_fut_wake(kid_pa);
		fx_fut_wake(kid_pb);
		fx.on_park = kid_print_hook;	/* one event per arming */
	} else {
		exec_print_tasks(fx.e, table_write, NULL);
		fx_fut_wake(pt_a);
	}
}

TEST(exec_print_tasks_lists_tasks_spawned_by_tasks)
{
	struct fx_fut a;
	struct kidspawner ks = { { &kidspawner_vt } };
	fx_init(&ex, 1, 0);
	fx_fut_init(&a, "netd", 1, 0);
	fx_fut_init(&kid_a, "kid_a", 1, 0);
	fx_fut_init(&kid_b, "kid_b", 1, 0);
	pt_a = fx_spawn(&ex, &a, NULL);
	struct task_desc d = TASK_DESC_VOID(ks, "spawner");
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, NULL), TASK_OK);
	CHECK_EQ(ex.workers[0].reg.head, NULL);
	table_len = 0;
	kid_prints = 0;
	fx.trace_unpark = false;
	fx.on_park = kid_print_hook;
	exec_run(&ex);
	CHECK_STR(table,
	          "task             state         polls      wakes   poll_us\n"
	          "netd             waiting           1          0         0\n"
	          "kid_b            waiting           1          0         0\n"
	          "kid_a            waiting           1          0         0\n"
	          "worker 0: polls 4 parks 1 steals 0 injected 2\n"
	          "task             state         polls      wakes   poll_us\n"
	          "netd             waiting           1          0         0\n"
	          "worker 0: polls 6 parks 2 steals 0 injected 4\n");
	CHECK_EQ(ex.workers[0].reg.head, NULL);
	CHECK_EQ(ex.reg_head, NULL);
	CHECK_EQ(fx_live_allocs, 0);
}

/* Poll time comes from the now_ns hook, around each poll. */
struct slowpoll {
	struct future base;
	int n;
};

static enum poll slowpoll_poll(struct future *f, struct context *cx)
{
	struct slowpoll *s = (struct slowpoll *)f;
	fx.now += 2500;			/* this poll "takes" 2.5 us */
	if (++s->n == 3)
		return POLL_READY;
	waker_wake_by_ref(cx->waker);
	return POLL_PENDING;
}

static const struct future_vtable slowpoll_vt = { slowpoll_poll, NULL };

TEST(exec_poll_timing_uses_the_now_ns_hook)
{
	struct slowpoll s = { { &slowpoll_vt }, 0 };
	struct join_handle jh;
	fx_init(&ex, 1, EXEC_POLL_TIMING);
	struct task_desc d = TASK_DESC(s, n, "slow");
	jh.out = NULL;
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, &jh), TASK_OK);
	struct task *t = jh.task;
	exec_run(&ex);
	CHECK_EQ(atomic_load(&t->polls), 3);
	CHECK_EQ(atomic_load(&t->poll_ns), 7500);
	CHECK_EQ(atomic_load(&t->wakes), 2);
	join_handle_detach(&jh);
	CHECK_EQ(fx_live_allocs, 0);

	/* Without the flag the clock is not read around polls. */
	fx_init(&ex, 1, 0);
	s.n = 0;
	CHECK_EQ(task_spawn(&ex, &fx_src, &d, &jh), TASK_OK);
	t = jh.task;
	exec_run(&ex);
	CHECK_EQ(atomic_load(&t->poll_ns), 0);
	join_handle_detach(&jh);
}

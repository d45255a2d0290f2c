/* In-kernel tests that run as executor tasks: sleepers, console flood, idle, wake races. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/timer.h"
#include "kernel/console.h"
#include "kernel/irq.h"
#include "kernel/ktask.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktimer.h"

static struct timer_wheel *wheel(void)
{
	return exec_wheel(&kernel_exec);
}

/* ---- 1,000 sleepers wake in deadline order, none early --------------------*/

#define NSLEEPERS 1000
#define SLEEP_MAX_MS 300
/* Deadlines start after spawning and first-polling all the sleepers is
 * surely over (it takes a few ms), so lateness measures waking alone. */
#define SLEEP_START_NS (50 * 1000000ull)
static uint64_t spawn_ns;

struct sleep_rec {
	uint64_t deadline;
	uint64_t woke;
	uint64_t irq;   /* the timer interrupt that preceded the wake (ns) */
};
static struct sleep_rec woke_log[NSLEEPERS];
static unsigned nwoke;
static struct notify all_woke;

struct sleeper {
	struct future base;
	int state;
	uint64_t deadline;
	struct sleep s;
};

static enum poll sleeper_poll(struct future *f, struct context *cx)
{
	struct sleeper *t = (struct sleeper *)f;
	ASYNC_BEGIN(t);
	sleep_init(&t->s, wheel(), t->deadline);
	AWAIT(t, sleep_poll(&t->s, cx));
	woke_log[nwoke].deadline = t->deadline;
	woke_log[nwoke].woke = ktimer_now_ns();
	woke_log[nwoke].irq = ktimer_ticks_to_ns(ktimer_last_irq());
	if (++nwoke == NSLEEPERS)
		notify_one(&all_woke);
	ASYNC_END(t);
}

static void sleeper_drop(struct future *f)
{
	sleep_drop(&((struct sleeper *)f)->s);
}

static const struct future_vtable sleeper_vtable = { sleeper_poll, sleeper_drop };

struct sleepers_test {
	struct future base;
	int state;
	struct notified done;
} sleepers_test;

static enum poll sleepers_poll(struct future *f, struct context *cx)
{
	struct sleepers_test *t = (struct sleepers_test *)f;
	ASYNC_BEGIN(t);
	notify_init(&all_woke);
	nwoke = 0;
	uint64_t now = ktimer_now_ns();
	for (unsigned i = 0; i < NSLEEPERS; i++) {
		struct sleeper s = {
			.base = { &sleeper_vtable },
			.state = ASYNC_INIT,
			.deadline = now + SLEEP_START_NS + ktest_rng() % (SLEEP_MAX_MS * 1000000ull),
		};
		if (KSPAWN(s, "sleeper", NULL) != TASK_OK) {
			printf("    spawn %u failed\n", i);
			break;
		}
	}
	spawn_ns = ktimer_now_ns() - now;
	notified_init(&t->done, &all_woke);
	AWAIT(t, notified_poll(&t->done, cx));
	ASYNC_END(t);
}

static struct future *sleepers_start(void)
{
	static const struct future_vtable vt = { sleepers_poll, NULL };
	memset(&sleepers_test, 0, sizeof(sleepers_test));
	sleepers_test.base.vtable = &vt;
	return &sleepers_test.base;
}

/*
 * Order is checked by wheel tick: deadlines that round up to the same tick
 * fire together, in any order.  Lateness has three parts:
 *   rounding   the wheel fires on tick boundaries: < 1 tick;
 *   slack      the timer interrupt arrives after the programmed boundary:
 *              under -icount sleep=on an idle guest's clock follows host
 *              time, so this is QEMU's host timer slack (reported only);
 *   kernel     from that interrupt to the sleeper's poll: counted in guest
 *              instructions, so it does not depend on the host.
 * "Within one timer period" is asserted on what the kernel controls:
 * rounding + kernel < one tick + KERNEL_SLACK.
 */
#define KERNEL_SLACK_NS 500000ull

static bool sleepers_ok(void)
{
	struct timer_wheel *w = wheel();
	uint64_t tick = 1ull << w->shift, prev_tick = 0;
	uint64_t worst = 0, worst_kernel = 0, worst_slack = 0;
	if (nwoke != NSLEEPERS)
		KTEST_FAIL("%u of %u sleepers woke", nwoke, NSLEEPERS);
	for (unsigned i = 0; i < NSLEEPERS; i++) {
		const struct sleep_rec *r = &woke_log[i];
		uint64_t dl_tick = (r->deadline + tick - 1) >> w->shift;
		uint64_t boundary = dl_tick << w->shift;
		if (r->woke < r->deadline)
			KTEST_FAIL("sleeper %u woke %llu ns early", i,
			     (unsigned long long)(r->deadline - r->woke));
		if (dl_tick < prev_tick)
			KTEST_FAIL("sleeper %u (deadline tick %llu) woke after tick %llu", i,
			     (unsigned long long)dl_tick, (unsigned long long)prev_tick);
		prev_tick = dl_tick;
		/* The interrupt that woke it came at or after the boundary; if
		 * the sleeper was woken without one (the hart was busy and the
		 * worker advanced the wheel itself), the slack part is 0. */
		uint64_t from = r->irq >= boundary && r->irq <= r->woke ? r->irq : boundary;
		uint64_t kernel = (boundary - r->deadline) + (r->woke > from ? r->woke - from : 0);
		if (r->woke - r->deadline > worst)
			worst = r->woke - r->deadline;
		if (kernel > worst_kernel)
			worst_kernel = kernel;
		if (from - boundary > worst_slack)
			worst_slack = from - boundary;
	}
	printf("    %u sleepers spawned in %llu us, deadlines over %u ms: in deadline order, "
	       "none early\n", NSLEEPERS, (unsigned long long)spawn_ns / 1000, SLEEP_MAX_MS);
	printf("    worst %llu us late: kernel share %llu us (tick %llu us), host timer slack "
	       "up to %llu us\n", (unsigned long long)worst / 1000,
	       (unsigned long long)worst_kernel / 1000, (unsigned long long)tick / 1000,
	       (unsigned long long)worst_slack / 1000);
	if (spawn_ns >= SLEEP_START_NS)
		KTEST_FAIL("spawning took longer than the first deadline allows");
	if (worst_kernel > tick + KERNEL_SLACK_NS)
		KTEST_FAIL("the kernel woke a sleeper %llu us after its deadline",
		     (unsigned long long)worst_kernel / 1000);
	return true;
}

/* ---- console flood through console_read ----------------------------------*/

struct flood_test {
	struct future base;
	int state;
	unsigned got;
	unsigned bad_at;
	uint32_t sum, want;
	uint64_t stalls0;
	char buf[256];
	struct console_read rd;
} flood_test;

static uint32_t fnv(uint32_t h, unsigned char c)
{
	return (h ^ c) * 16777619u;
}

static enum poll flood_poll(struct future *f, struct context *cx)
{
	struct flood_test *t = (struct flood_test *)f;
	ASYNC_BEGIN(t);
	t->sum = t->want = 2166136261u;
	t->bad_at = KTEST_FLOOD_LEN;
	t->stalls0 = console_stats.rx_stalls;
	for (unsigned i = 0; i < KTEST_FLOOD_LEN; i++)
		t->want = fnv(t->want, (unsigned char)ktest_flood_byte(i));
	while (t->got < KTEST_FLOOD_LEN) {
		console_read_init(&t->rd, t->buf, sizeof(t->buf));
		AWAIT(t, console_read_poll(&t->rd, cx));
		for (long i = 0; i < t->rd.result; i++, t->got++) {
			unsigned char c = (unsigned char)t->buf[i];
			if (t->bad_at == KTEST_FLOOD_LEN && c != (unsigned char)ktest_flood_byte(t->got))
				t->bad_at = t->got;
			t->sum = fnv(t->sum, c);
		}
	}
	ASYNC_END(t);
}

static void flood_drop(struct future *f)
{
	console_read_drop(&((struct flood_test *)f)->rd);
}

static struct future *flood_start(void)
{
	static const struct future_vtable vt = { flood_poll, flood_drop };
	memset(&flood_test, 0, sizeof(flood_test));
	flood_test.base.vtable = &vt;
	return &flood_test.base;
}

/* The ring is far smaller than the flood and the reader is slower than
 * QEMU's feed, so the ring fills: the test shows it pauses receive
 * (back-pressure) and that nothing is lost. */
static bool flood_ok(void)
{
	uint64_t stalls = console_stats.rx_stalls - flood_test.stalls0;
	printf("    %u bytes, checksum %08x (expected %08x), receive paused %llu times "
	       "when the %u-byte ring was full, nothing dropped\n", flood_test.got,
	       flood_test.sum, flood_test.want, (unsigned long long)stalls, CONSOLE_RX_SIZE);
	if (flood_test.bad_at != KTEST_FLOOD_LEN)
		KTEST_FAIL("first wrong byte at offset %u", flood_test.bad_at);
	if (flood_test.got != KTEST_FLOOD_LEN || flood_test.sum != flood_test.want)
		KTEST_FAIL("checksum mismatch");
	return true;
}

/* ---- idle: nothing runnable for 5 s ----------------------------------------*/

#define IDLE_MS 5000

struct idle_test {
	struct future base;
	int state;
	struct hart_stats before, after;
	uint64_t t0, t1;
	struct sleep s;
} idle_test;

static enum poll idle_poll(struct future *f, struct context *cx)
{
	struct idle_test *t = (struct idle_test *)f;
	ASYNC_BEGIN(t);
	t->before = hart_stats[0];
	t->t0 = ktimer_now_ns();
	sleep_init(&t->s, wheel(), t->t0 + IDLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	t->t1 = ktimer_now_ns();
	t->after = hart_stats[0];
	ASYNC_END(t);
}

static struct future *idle_start(void)
{
	static const struct future_vtable vt = { idle_poll, NULL };
	memset(&idle_test, 0, sizeof(idle_test));
	idle_test.base.vtable = &vt;
	return &idle_test.base;
}

static bool idle_ok(void)
{
	const struct hart_stats *a = &idle_test.before, *b = &idle_test.after;
	uint64_t wake = 0;
	for (int s = 0; s < WAKE_NSRC; s++)
		wake += b->wakeups[s] - a->wakeups[s];
	wake += b->spurious - a->spurious;
	printf("    %llu ms with nothing to run: %llu parks, %llu wake-ups "
	       "(timer %llu, device %llu, ipi %llu, other %llu)\n",
	       (unsigned long long)((idle_test.t1 - idle_test.t0) / 1000000),
	       (unsigned long long)(b->parks - a->parks), (unsigned long long)wake,
	       (unsigned long long)(b->wakeups[WAKE_TIMER] - a->wakeups[WAKE_TIMER]),
	       (unsigned long long)(b->wakeups[WAKE_DEVICE] - a->wakeups[WAKE_DEVICE]),
	       (unsigned long long)(b->wakeups[WAKE_IPI] - a->wakeups[WAKE_IPI]),
	       (unsigned long long)(b->spurious - a->spurious));
	if (idle_test.t1 - idle_test.t0 < IDLE_MS * 1000000ull)
		KTEST_FAIL("the idle sleep ended early");
	if (b->parks - a->parks < 1)
		KTEST_FAIL("the hart never parked");
	if (wake > 5)
		KTEST_FAIL("%llu wake-ups in an idle window: something ticks", (unsigned long long)wake);
	return true;
}

/* ---- a wake from an interrupt while the task is being polled ---------------*/

struct race_test {
	struct future base;
	int polls;
	volatile int fired;
	struct waker w;
} race_test;

/* Timer interrupt: runs while race_poll is still executing. */
static void race_fire(void *arg, uint64_t now)
{
	(void)now;
	struct race_test *t = arg;
	t->fired = 1;
	waker_wake(&t->w);
}

/* First poll: arrange a wake from an interrupt, wait inside the poll until
 * it has happened, and return Pending without registering anything else.
 * The only way to be polled again is that wake, delivered while the task
 * was RUNNING: if the executor loses it, this test never completes. */
static enum poll race_poll(struct future *f, struct context *cx)
{
	struct race_test *t = (struct race_test *)f;
	if (++t->polls > 1)
		return POLL_READY;
	t->w = waker_clone(cx->waker);
	ktimer_arm(arch_timer_now() + ktimer_us_to_ticks(50), race_fire, t);
	while (!t->fired) {
		unsigned long fl = arch_irq_save();
		if (!t->fired)
			arch_wait_for_interrupt();
		arch_irq_restore(fl);
	}
	return POLL_PENDING;
}

static struct future *race_start(void)
{
	static const struct future_vtable vt = { race_poll, NULL };
	memset(&race_test, 0, sizeof(race_test));
	race_test.base.vtable = &vt;
	return &race_test.base;
}

static bool race_ok(void)
{
	printf("    woken from the timer interrupt during its own poll; polled %d times\n",
	       race_test.polls);
	return race_test.fired && race_test.polls == 2;
}

const struct ktest_async ktest_async_tests[] = {
	{ "wake_while_running", race_start, race_ok },
	{ "sleepers_1000", sleepers_start, sleepers_ok },
	{ "console_flood", flood_start, flood_ok },
	{ "idle_parks", idle_start, idle_ok },
	{ NULL, NULL, NULL },
};

/* In-kernel multi-hart tests: 100,000 spawns with cross-hart wakes, bursts, pinned ping-pong, timers. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/mpsc.h"
#include "executor/notify.h"
#include "executor/queue.h"
#include "executor/semaphore.h"
#include "executor/timer.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktimer.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/*
 * Booted with -smp 4 and "ktest=smp" (scripts/ktest.sh); each test also
 * runs, more weakly, on fewer harts.  They read the executor's per-worker
 * counters (exec_worker_stats) and the kernel's per-hart park counters
 * (hart_stats) before and after, so they check how the work was spread
 * and that idle harts sleep, not just that the work got done.
 */

static unsigned nharts(void)
{
	return kernel_exec.nworkers;
}

/* Spawn fut on kernel_exec pinned to worker `hart`, detached. */
#define KSPAWN_PINNED(fut, nm, hart)                                        \
	({                                                                  \
		struct task_desc d_ = TASK_DESC_VOID(fut, nm);              \
		d_.pin = (hart) + 1u;                                       \
		task_spawn(&kernel_exec, KTASK_POOL_FOR(sizeof(fut)), &d_, NULL); \
	})

struct stats_snap {
	uint64_t polls[SMP_MAX], steals[SMP_MAX], parks[SMP_MAX], injects[SMP_MAX];
	struct hart_stats hs[SMP_MAX];
};

static void snap(struct stats_snap *s)
{
	for (unsigned h = 0; h < nharts(); h++) {
		struct exec_worker_stats *w = &kernel_exec.workers[h].stats;
		s->polls[h] = atomic_load(&w->polls);
		s->steals[h] = atomic_load(&w->steals);
		s->parks[h] = atomic_load(&w->parks);
		s->injects[h] = atomic_load(&w->inject_pops);
		s->hs[h] = hart_stats[h];
	}
}

static uint64_t wakeups(const struct hart_stats *s)
{
	uint64_t n = s->spurious;
	for (int i = 0; i < WAKE_NSRC; i++)
		n += s->wakeups[i];
	return n;
}

/* noipa: real work the compiler cannot fold away. */
static uint64_t __attribute__((noipa)) churn(uint64_t n, uint64_t x)
{
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull + i;
	return x;
}

/* ---- 100,000 tasks spawned from every hart, each woken from another ------*/

#define NSPAWN 100000u
#define WINDOW 512u       /* children alive at once (the task pool is finite) */

static _Atomic uint64_t spawned_bits[(NSPAWN + 63) / 64];
static _Atomic unsigned spawn_completed, spawn_dups, spawn_cross, spawn_migrated;
static _Atomic unsigned spawn_ran[SMP_MAX], spawn_spawned_on[SMP_MAX];
static _Atomic unsigned spawn_fail;
static _Atomic int kick_stop;
static struct semaphore spawn_slots;
static struct notify spawn_done;

/* Per hart: wakers of children waiting to be woken from that hart. */
static struct mailbox {
	struct spin lock;
	unsigned n;
	struct waker w[WINDOW];
	struct notify kick;
} mail[SMP_MAX];

struct child {
	struct future base;
	uint32_t idx;
	uint8_t stage;
	uint8_t first;
};

static enum poll child_poll(struct future *f, struct context *cx)
{
	struct child *c = (struct child *)f;
	unsigned h = arch_hart_id();

	if (c->stage == 0) {
		/* Ask the next hart's kicker to wake us. */
		c->stage = 1;
		c->first = (uint8_t)h;
		struct mailbox *m = &mail[(h + 1) % nharts()];
		struct waker w = waker_clone(cx->waker);
		unsigned long fl = spin_lock(&m->lock);
		m->w[m->n++] = w;
		spin_unlock(&m->lock, fl);
		notify_one(&m->kick);
		return POLL_PENDING;
	}
	uint64_t bit = 1ull << (c->idx % 64);
	if (atomic_fetch_or(&spawned_bits[c->idx / 64], bit) & bit)
		atomic_fetch_add(&spawn_dups, 1);
	atomic_fetch_add(&spawn_ran[h], 1);
	if (h != c->first)
		atomic_fetch_add(&spawn_migrated, 1);
	sem_release(&spawn_slots, 1);
	if (atomic_fetch_add(&spawn_completed, 1) + 1 == NSPAWN)
		notify_one(&spawn_done);
	return POLL_READY;
}

static const struct future_vtable child_vtable = { child_poll, NULL };

/* One per hart, pinned: wakes the children that asked this hart to. */
struct kicker {
	struct future base;
	int state;
	unsigned h;
	struct notified n;
};

static enum poll kicker_poll(struct future *f, struct context *cx)
{
	struct kicker *k = (struct kicker *)f;
	struct mailbox *m = &mail[k->h];
	ASYNC_BEGIN(k);
	for (;;) {
		for (;;) {
			unsigned long fl = spin_lock(&m->lock);
			if (m->n == 0) {
				spin_unlock(&m->lock, fl);
				break;
			}
			struct waker w = m->w[--m->n];
			spin_unlock(&m->lock, fl);
			atomic_fetch_add(&spawn_cross, 1);
			waker_wake(&w);
		}
		if (atomic_load(&kick_stop))
			break;
		notified_init(&k->n, &m->kick);
		AWAIT(k, notified_poll(&k->n, cx));
	}
	ASYNC_END(k);
}

static const struct future_vtable kicker_vtable = { kicker_poll, NULL };

/* One per hart, pinned: spawns its share of the children. */
struct spawner {
	struct future base;
	int state;
	uint32_t next, end;
	struct sem_acquire acq;
};

static enum poll spawner_poll(struct future *f, struct context *cx)
{
	struct spawner *s = (struct spawner *)f;
	ASYNC_BEGIN(s);
	while (s->next < s->end) {
		sem_acquire_init(&s->acq, &spawn_slots, 1);
		AWAIT(s, sem_acquire_poll(&s->acq, cx));
		struct child c = { { &child_vtable }, s->next, 0, 0 };
		if (KSPAWN(c, "child", NULL) != TASK_OK) {
			/* The pool is shared with everything else: retry. */
			sem_release(&spawn_slots, 1);
			atomic_fetch_add(&spawn_fail, 1);
			YIELD(s, cx);
			continue;
		}
		atomic_fetch_add(&spawn_spawned_on[arch_hart_id()], 1);
		s->next++;
	}
	ASYNC_END(s);
}

static const struct future_vtable spawner_vtable = { spawner_poll, NULL };

static struct spawn_test {
	struct future base;
	int state;
	struct notified done;
	uint64_t t0, t1;
	struct stats_snap before, after;
} spawn_test;

static enum poll spawn_poll(struct future *f, struct context *cx)
{
	struct spawn_test *t = (struct spawn_test *)f;
	ASYNC_BEGIN(t);
	sem_init(&spawn_slots, WINDOW);
	notify_init(&spawn_done);
	for (unsigned h = 0; h < nharts(); h++) {
		spin_init(&mail[h].lock);
		mail[h].n = 0;
		notify_init(&mail[h].kick);
		struct kicker k = { .base = { &kicker_vtable }, .state = ASYNC_INIT, .h = h };
		if (KSPAWN_PINNED(k, "kicker", h) != TASK_OK)
			printf("    cannot spawn kicker %u\n", h);
	}
	snap(&t->before);
	t->t0 = ktimer_now_ns();
	for (unsigned h = 0; h < nharts(); h++) {
		uint32_t per = NSPAWN / nharts();
		struct spawner s = { .base = { &spawner_vtable }, .state = ASYNC_INIT,
				     .next = h * per,
				     .end = h + 1 == nharts() ? NSPAWN : (h + 1) * per };
		if (KSPAWN_PINNED(s, "spawner", h) != TASK_OK)
			printf("    cannot spawn spawner %u\n", h);
	}
	notified_init(&t->done, &spawn_done);
	AWAIT(t, notified_poll(&t->done, cx));
	t->t1 = ktimer_now_ns();
	snap(&t->after);
	atomic_store(&kick_stop, 1);
	for (unsigned h = 0; h < nharts(); h++)
		notify_one(&mail[h].kick);
	ASYNC_END(t);
}

static struct future *spawn_start(void)
{
	static const struct future_vtable vt = { spawn_poll, NULL };
	memset(&spawn_test, 0, sizeof(spawn_test));
	spawn_test.base.vtable = &vt;
	return &spawn_test.base;
}

static bool spawn_ok(void)
{
	struct spawn_test *t = &spawn_test;
	uint64_t steals = 0;
	unsigned missing = 0;
	for (unsigned i = 0; i < NSPAWN; i++)
		if (!(atomic_load(&spawned_bits[i / 64]) & (1ull << (i % 64))))
			missing++;
	printf("    %u tasks on %u harts in %llu ms: %u cross-hart wakes, %u resumed on "
	       "another hart than their first poll, %u spawn retries\n", NSPAWN, nharts(),
	       (unsigned long long)((t->t1 - t->t0) / 1000000), atomic_load(&spawn_cross),
	       atomic_load(&spawn_migrated), atomic_load(&spawn_fail));
	for (unsigned h = 0; h < nharts(); h++) {
		uint64_t st = t->after.steals[h] - t->before.steals[h];
		steals += st;
		printf("    hart %u: spawned %u, completed %u; %llu polls, %llu stolen, "
		       "%llu injected, %llu parks\n", h, atomic_load(&spawn_spawned_on[h]),
		       atomic_load(&spawn_ran[h]),
		       (unsigned long long)(t->after.polls[h] - t->before.polls[h]),
		       (unsigned long long)st,
		       (unsigned long long)(t->after.injects[h] - t->before.injects[h]),
		       (unsigned long long)(t->after.parks[h] - t->before.parks[h]));
	}
	if (atomic_load(&spawn_completed) != NSPAWN || missing)
		KTEST_FAIL("%u completed, %u never ran", atomic_load(&spawn_completed), missing);
	if (atomic_load(&spawn_dups))
		KTEST_FAIL("%u tasks completed twice", atomic_load(&spawn_dups));
	for (unsigned h = 0; h < nharts(); h++) {
		if (!atomic_load(&spawn_ran[h]) || !atomic_load(&spawn_spawned_on[h]))
			KTEST_FAIL("hart %u spawned or ran no task", h);
	}
	if (nharts() > 1 && atomic_load(&spawn_cross) != NSPAWN)
		KTEST_FAIL("%u cross-hart wakes, want %u", atomic_load(&spawn_cross), NSPAWN);
	if (nharts() > 1 && steals == 0)
		KTEST_FAIL("no hart stole work");
	return true;
}

/* ---- a burst injected from an interrupt while every hart is parked --------*/

#define NBURST 256u
#define BURST_WORK 20000u
#define SETTLE_MS 50u
#define IDLE_MS 300u

static struct waker burst_wakers[NBURST];
static _Atomic unsigned burst_waiting, burst_done, burst_ran[SMP_MAX];
static struct notify burst_fin;
static _Atomic uint64_t burst_sink;

struct burst_task {
	struct future base;
	uint32_t idx;
	uint32_t stage;
};

static enum poll burst_poll(struct future *f, struct context *cx)
{
	struct burst_task *b = (struct burst_task *)f;
	if (b->stage == 0) {
		b->stage = 1;
		burst_wakers[b->idx] = waker_clone(cx->waker);
		atomic_fetch_add(&burst_waiting, 1);
		return POLL_PENDING;
	}
	atomic_fetch_add(&burst_ran[arch_hart_id()], 1);
	atomic_fetch_add(&burst_sink, churn(BURST_WORK, b->idx));
	if (atomic_fetch_add(&burst_done, 1) + 1 == NBURST)
		notify_one(&burst_fin);
	return POLL_READY;
}

static const struct future_vtable burst_vtable = { burst_poll, NULL };

/* Timer interrupt: every waker at once, all through the injection queue. */
static void burst_fire(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
	for (unsigned i = 0; i < NBURST; i++)
		waker_wake(&burst_wakers[i]);
}

static struct burst_test {
	struct future base;
	int state;
	struct sleep s;
	struct notified done;
	uint64_t idle_mask_end, t_fire, t_done;
	unsigned self;
	struct stats_snap before, mid, after;
} burst_test;

static enum poll burst_test_poll(struct future *f, struct context *cx)
{
	struct burst_test *t = (struct burst_test *)f;
	ASYNC_BEGIN(t);
	notify_init(&burst_fin);
	for (unsigned i = 0; i < NBURST; i++) {
		struct burst_task b = { { &burst_vtable }, i, 0 };
		if (KSPAWN(b, "burst", NULL) != TASK_OK)
			printf("    cannot spawn burst task %u\n", i);
	}
	/* Let every task register and every hart go to sleep. */
	sleep_for(&t->s, exec_wheel(&kernel_exec), ktimer_now_ns(), SETTLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	snap(&t->before);
	t->t_fire = ktimer_now_ns();
	ktimer_arm(arch_timer_now() + ktimer_us_to_ticks(1000), burst_fire, NULL);
	notified_init(&t->done, &burst_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	t->t_done = ktimer_now_ns();
	snap(&t->mid);
	/* Nothing to do now: every hart must go back to sleep and stay. */
	sleep_for(&t->s, exec_wheel(&kernel_exec), ktimer_now_ns(), IDLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	/* The hart whose timer woke us may still be on its way back to
	 * sleep (it handed this task over): give it a moment. */
	t->self = arch_hart_id();
	{
		uint64_t want = ((1ull << nharts()) - 1) & ~(1ull << t->self);
		uint64_t until = ktimer_now_ns() + 10 * 1000000ull;
		do
			t->idle_mask_end = atomic_load(&kernel_exec.idle_mask);
		while ((t->idle_mask_end & want) != want && ktimer_now_ns() < until);
	}
	snap(&t->after);
	ASYNC_END(t);
}

static struct future *burst_start(void)
{
	static const struct future_vtable vt = { burst_test_poll, NULL };
	memset(&burst_test, 0, sizeof(burst_test));
	burst_test.base.vtable = &vt;
	return &burst_test.base;
}

static bool burst_ok(void)
{
	struct burst_test *t = &burst_test;
	unsigned harts_used = 0, ipis = 0;
	bool busy = false;
	if (atomic_load(&burst_waiting) != NBURST || atomic_load(&burst_done) != NBURST)
		KTEST_FAIL("%u tasks waited, %u finished, want %u", atomic_load(&burst_waiting),
		     atomic_load(&burst_done), NBURST);
	printf("    burst of %u tasks done %llu ms after the interrupt\n", NBURST,
	       (unsigned long long)((t->t_done - t->t_fire) / 1000000));
	for (unsigned h = 0; h < nharts(); h++) {
		const struct hart_stats *b = &t->before.hs[h], *m = &t->mid.hs[h], *a = &t->after.hs[h];
		uint64_t idle_w = wakeups(a) - wakeups(m), idle_p = a->parks - m->parks;
		ipis += (unsigned)(m->wakeups[WAKE_IPI] - b->wakeups[WAKE_IPI]);
		harts_used += atomic_load(&burst_ran[h]) > 0;
		printf("    hart %u: ran %u; burst: %llu parks, %llu ipi wake-ups, %llu stolen; "
		       "idle %u ms: %llu parks, %llu wake-ups\n", h, atomic_load(&burst_ran[h]),
		       (unsigned long long)(m->parks - b->parks),
		       (unsigned long long)(m->wakeups[WAKE_IPI] - b->wakeups[WAKE_IPI]),
		       (unsigned long long)(t->mid.steals[h] - t->before.steals[h]), IDLE_MS,
		       (unsigned long long)idle_p, (unsigned long long)idle_w);
		/* The test's own sleep ends with one timer wake somewhere. */
		if (idle_w > 4 || idle_p > 4)
			busy = true;
	}
	uint64_t want_idle = ((1ull << nharts()) - 1) & ~(1ull << t->self);
	printf("    %u harts ran burst tasks, %u IPI wake-ups; idle mask after the window "
	       "%#llx (want %#llx)\n", harts_used, ipis, (unsigned long long)t->idle_mask_end,
	       (unsigned long long)want_idle);
	if (nharts() > 1 && harts_used < 2)
		KTEST_FAIL("the burst ran on %u hart(s) only", harts_used);
	if (busy)
		KTEST_FAIL("a hart kept waking up with nothing to do");
	if ((t->idle_mask_end & want_idle) != want_idle)
		KTEST_FAIL("not every other hart was parked after the idle window");
	return true;
}

/* ---- ping-pong between two pinned tasks through channels ------------------*/

#define NPING 100000u

static struct mpsc ping_ch, pong_ch;
static uint32_t ping_buf[1], pong_buf[1];
static _Atomic unsigned ping_bad, ping_wrong_hart, ping_rounds;
static struct notify ping_fin;

struct pinger {
	struct future base;
	int state;
	unsigned hart;
	bool is_ping;
	uint32_t i, v;
	struct mpsc_send snd;
	struct mpsc_recv rcv;
};

static enum poll pinger_poll(struct future *f, struct context *cx)
{
	struct pinger *p = (struct pinger *)f;
	if (arch_hart_id() != p->hart)
		atomic_fetch_add(&ping_wrong_hart, 1);
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < NPING; p->i++) {
		if (p->is_ping) {
			p->v = p->i;
			mpsc_send_init(&p->snd, &ping_ch, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
			mpsc_recv_init(&p->rcv, &pong_ch, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			if (p->rcv.result != SYNC_OK || p->v != p->i + 1)
				atomic_fetch_add(&ping_bad, 1);
			atomic_fetch_add(&ping_rounds, 1);
		} else {
			mpsc_recv_init(&p->rcv, &ping_ch, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			if (p->rcv.result != SYNC_OK || p->v != p->i)
				atomic_fetch_add(&ping_bad, 1);
			p->v++;
			mpsc_send_init(&p->snd, &pong_ch, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
		}
	}
	if (p->is_ping)
		notify_one(&ping_fin);
	ASYNC_END(p);
}

static const struct future_vtable pinger_vtable = { pinger_poll, NULL };

static struct ping_test {
	struct future base;
	int state;
	unsigned a, b;
	uint64_t t0, t1;
	struct notified done;
	struct stats_snap before, after;
} ping_test;

static enum poll ping_test_poll(struct future *f, struct context *cx)
{
	struct ping_test *t = (struct ping_test *)f;
	ASYNC_BEGIN(t);
	mpsc_init(&ping_ch, ping_buf, sizeof(uint32_t), 1);
	mpsc_init(&pong_ch, pong_buf, sizeof(uint32_t), 1);
	notify_init(&ping_fin);
	t->a = 0;
	t->b = nharts() - 1;
	snap(&t->before);
	t->t0 = ktimer_now_ns();
	struct pinger ping = { .base = { &pinger_vtable }, .hart = t->a, .is_ping = true };
	struct pinger pong = { .base = { &pinger_vtable }, .hart = t->b, .is_ping = false };
	if (KSPAWN_PINNED(pong, "pong", t->b) != TASK_OK ||
	    KSPAWN_PINNED(ping, "ping", t->a) != TASK_OK)
		printf("    cannot spawn the pair\n");
	notified_init(&t->done, &ping_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	t->t1 = ktimer_now_ns();
	snap(&t->after);
	ASYNC_END(t);
}

static struct future *ping_start(void)
{
	static const struct future_vtable vt = { ping_test_poll, NULL };
	memset(&ping_test, 0, sizeof(ping_test));
	ping_test.base.vtable = &vt;
	return &ping_test.base;
}

static bool ping_ok(void)
{
	struct ping_test *t = &ping_test;
	uint64_t ns = t->t1 - t->t0;
	printf("    %u round trips hart %u <-> hart %u in %llu ms (%llu ns each); "
	       "ipi wake-ups %llu + %llu\n", atomic_load(&ping_rounds), t->a, t->b,
	       (unsigned long long)(ns / 1000000), (unsigned long long)(ns / NPING),
	       (unsigned long long)(t->after.hs[t->a].wakeups[WAKE_IPI] -
				    t->before.hs[t->a].wakeups[WAKE_IPI]),
	       (unsigned long long)(t->after.hs[t->b].wakeups[WAKE_IPI] -
				    t->before.hs[t->b].wakeups[WAKE_IPI]));
	if (atomic_load(&ping_rounds) != NPING)
		KTEST_FAIL("%u round trips, want %u", atomic_load(&ping_rounds), NPING);
	if (atomic_load(&ping_bad))
		KTEST_FAIL("%u messages lost or out of order", atomic_load(&ping_bad));
	if (atomic_load(&ping_wrong_hart))
		KTEST_FAIL("a pinned task was polled %u times on the wrong hart",
		     atomic_load(&ping_wrong_hart));
	return true;
}

/* ---- a timer inserted by a busy hart is not missed by parked ones ----------*/

/*
 * The wheel is shared; each parked hart programmed the deadline it saw
 * when it parked.  Hart 0 inserts a 20 ms timer and then stays busy for
 * 400 ms without parking; the other harts, parked with no deadline, must
 * be told (exec.c: the wheel's on_earlier hook unparks one) or the timer
 * fires only when hart 0 looks again.
 */
#define EARLY_MS 20u
#define HOG_MS 400u
/* Wall-clock test on a host with 2 cores shared by other QEMUs: a vCPU
 * thread can wait tens of ms for a core, so allow that, but far less
 * than the hog's 400 ms that a missed timer would take. */
#define EARLY_SLACK_MS 150u

static struct hog_test {
	struct future base;
	int state;
	struct sleep s;
	uint64_t t0, fired_at;
	struct notify fin;
	struct notified done;
} hog_test;

struct hog {
	struct future base;
	int polls;
};

static enum poll hog_poll(struct future *f, struct context *cx)
{
	struct hog *h = (struct hog *)f;
	struct hog_test *t = &hog_test;
	if (h->polls++ > 0) {
		sleep_drop(&t->s);
		notify_one(&t->fin);
		return POLL_READY;
	}
	/* Busy first, so that every other hart has surely parked (with the
	 * deadline it saw then) before the timer goes in. */
	uint64_t start = ktimer_now_ns();
	while (ktimer_now_ns() - start < 5 * 1000000ull)
		;
	t->t0 = ktimer_now_ns();
	sleep_for(&t->s, exec_wheel(&kernel_exec), t->t0, EARLY_MS * 1000000ull);
	if (sleep_poll(&t->s, cx) == POLL_READY)
		t->fired_at = t->t0;
	while (ktimer_now_ns() - t->t0 < HOG_MS * 1000000ull) {
		if (!t->fired_at &&
		    __atomic_load_n(&t->s.entry.state, __ATOMIC_ACQUIRE) == TIMER_FIRED)
			t->fired_at = ktimer_now_ns();
	}
	return POLL_PENDING; /* the timer's wake polls us again */
}

static const struct future_vtable hog_vtable = { hog_poll, NULL };

static enum poll hog_test_poll(struct future *f, struct context *cx)
{
	struct hog_test *t = (struct hog_test *)f;
	ASYNC_BEGIN(t);
	notify_init(&t->fin);
	/* Every hart parks first (with no deadline). */
	sleep_for(&t->s, exec_wheel(&kernel_exec), ktimer_now_ns(), SETTLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	struct hog h = { { &hog_vtable }, 0 };
	if (KSPAWN_PINNED(h, "hog", 0) != TASK_OK)
		printf("    cannot spawn the hog\n");
	notified_init(&t->done, &t->fin);
	AWAIT(t, notified_poll(&t->done, cx));
	ASYNC_END(t);
}

static struct future *hog_start(void)
{
	static const struct future_vtable vt = { hog_test_poll, NULL };
	memset(&hog_test, 0, sizeof(hog_test));
	hog_test.base.vtable = &vt;
	return &hog_test.base;
}

static bool hog_ok(void)
{
	struct hog_test *t = &hog_test;
	if (nharts() < 2) {
		printf("    one hart: nothing to check\n");
		return true;
	}
	if (!t->fired_at)
		KTEST_FAIL("the %u ms timer had not fired after %u ms", EARLY_MS, HOG_MS);
	uint64_t ms = (t->fired_at - t->t0) / 1000000;
	printf("    %u ms timer inserted by busy hart 0 fired after %llu ms\n", EARLY_MS,
	       (unsigned long long)ms);
	if (ms < EARLY_MS)
		KTEST_FAIL("fired early");
	if (ms > EARLY_MS + EARLY_SLACK_MS)
		KTEST_FAIL("fired %llu ms late", (unsigned long long)(ms - EARLY_MS));
	return true;
}

/* ---- Lab 8: steal half, spread by stealing, unpark latency, idle parks -----*/

/*
 * runq_steal on its own, on two run queues no worker uses: for n queued tasks
 * it must claim the oldest half (ceil or floor of n / 2, at least one)
 * with src's head, return one of them and leave the others in dst in
 * their order; src keeps the rest, in order.  The counters start near
 * 2^32 so that they wrap during the test, and the slots wrap too.
 */
static struct runq half_src, half_dst;
static unsigned char half_cells[RUNQ_CAP];
static struct task *cell(unsigned i)
{
	return (struct task *)(void *)&half_cells[i];
}

static void runq_start_at(struct runq *r, uint32_t at)
{
	runq_init(r);
	atomic_store(&r->head, at);
	atomic_store(&r->tail, at);
}

static bool steal_half_case(uint32_t n, uint32_t src_at, uint32_t dst_at)
{
	runq_start_at(&half_src, src_at);
	runq_start_at(&half_dst, dst_at);
	for (uint32_t i = 0; i < n; i++)
		if (!runq_push(&half_src, cell(i)))
			KTEST_FAIL("n=%u: runq_push failed", n);
	struct task *run = runq_steal(&half_src, &half_dst);
	uint32_t left = runq_len(&half_src), moved = runq_len(&half_dst);
	if (n == 0) {
		if (run || left || moved)
			KTEST_FAIL("empty run queue: runq_steal returned %p, src %u, dst %u", (void *)run,
				   left, moved);
		return true;
	}
	if (!run)
		KTEST_FAIL("n=%u: runq_steal returned NULL", n);
	uint32_t k = n - left; /* claimed */
	if (k != n / 2 && k != n - n / 2)
		KTEST_FAIL("n=%u: took %u tasks, want half (%u or %u)", n, k, n / 2, n - n / 2);
	if (k == 0 || moved != k - 1)
		KTEST_FAIL("n=%u: took %u, returned one, but dst holds %u (want %u)", n, k, moved,
			   k ? k - 1 : 0);
	if (atomic_load(&half_src.head) != src_at + k)
		KTEST_FAIL("n=%u: src head moved by %u, want %u", n,
			   atomic_load(&half_src.head) - src_at, k);
	/* The claimed ones are the oldest k; dst has them in order but run. */
	uint32_t j = 0;
	bool seen_run = false;
	for (uint32_t i = 0; i < k; i++) {
		if (cell(i) == run && !seen_run) {
			seen_run = true;
			continue;
		}
		struct task *t = runq_pop(&half_dst);
		if (t != cell(i))
			KTEST_FAIL("n=%u: dst slot %u is not the %u-th oldest task", n, j, i);
		j++;
	}
	if (!seen_run)
		KTEST_FAIL("n=%u: the returned task is not one of the oldest %u", n, k);
	for (uint32_t i = k; i < n; i++)
		if (runq_pop(&half_src) != cell(i))
			KTEST_FAIL("n=%u: src lost or reordered task %u", n, i);
	if (runq_pop(&half_src) || runq_pop(&half_dst))
		KTEST_FAIL("n=%u: extra tasks left over", n);
	return true;
}

static struct future half_done;
static enum poll ready_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	return POLL_READY;
}

static struct future *half_start(void)
{
	static const struct future_vtable vt = { ready_poll, NULL };
	half_done.vtable = &vt;
	return &half_done;
}

static bool half_ok(void)
{
	static const uint32_t ns[] = { 0, 1, 2, 3, 4, 5, 17, 64, 200, 255, RUNQ_CAP };
	static const uint32_t at[][2] = { { 0, 0 }, { 250, 7 }, { 0xfffffff0u, 0xfffffffbu } };
	for (unsigned a = 0; a < sizeof(at) / sizeof(at[0]); a++)
		for (unsigned i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
			if (!steal_half_case(ns[i], at[a][0], at[a][1]))
				return false;
	/* Twice in a row: half of the rest. */
	runq_start_at(&half_src, 3);
	runq_start_at(&half_dst, 0);
	for (uint32_t i = 0; i < 100; i++)
		runq_push(&half_src, cell(i));
	for (int round = 0; round < 2; round++) {
		uint32_t before = runq_len(&half_src);
		runq_init(&half_dst);
		if (!runq_steal(&half_src, &half_dst))
			KTEST_FAIL("second steal returned NULL");
		uint32_t k = before - runq_len(&half_src);
		if (k != before / 2 && k != before - before / 2)
			KTEST_FAIL("steal %d: took %u of %u", round + 1, k, before);
	}
	printf("    runq_steal takes half, oldest first, for n = 0..%u at wrapping indices\n",
	       RUNQ_CAP);
	return true;
}

/*
 * A task pinned to hart 0 spawns NSTEAL tasks (into hart 0's run queue) and
 * then keeps hart 0 busy: only other harts can run them, and only by
 * stealing.  Each task takes STEAL_WORK (about half a millisecond).
 *
 * Every hart must get its chance even when the host does not run its
 * vCPU for a while (QEMU's harts are host threads; on a loaded host one
 * can sit out tens of milliseconds, long enough for the others to drain
 * the queue).  So the first task a thief runs waits, up to
 * STEAL_MEET_MS of guest time, until every other hart has run one too: a
 * hart that never steals still fails the test, one that is merely late
 * does not.
 */
#define NSTEAL 128u
#define STEAL_WORK 100000u
#define STEAL_WAIT_MS 1000u
#define STEAL_MEET_MS 500u

static _Atomic unsigned steal_ran_on[NSTEAL]; /* 1 + hart */
static _Atomic unsigned steal_done, steal_dups;
static _Atomic unsigned steal_harts_seen;     /* bit h: hart h ran a task */
static _Atomic uint64_t steal_t0;             /* ns, when the victim spawned */
static struct notify steal_fin;
static _Atomic uint64_t steal_sink;

struct steal_child {
	struct future base;
	uint32_t idx;
};

static enum poll steal_child_poll(struct future *f, struct context *cx)
{
	(void)cx;
	struct steal_child *c = (struct steal_child *)f;
	unsigned h = arch_hart_id(), bit = 1u << h;
	if (atomic_exchange(&steal_ran_on[c->idx], 1 + h))
		atomic_fetch_add(&steal_dups, 1);
	unsigned thieves = ((1u << nharts()) - 1) & ~1u; /* every hart but 0 */
	if (h != 0 && !(atomic_fetch_or(&steal_harts_seen, bit) & bit)) {
		uint64_t until = atomic_load(&steal_t0) + STEAL_MEET_MS * 1000000ull;
		while ((atomic_load(&steal_harts_seen) & thieves) != thieves &&
		       ktimer_now_ns() < until)
			;
	}
	atomic_fetch_add(&steal_sink, churn(STEAL_WORK, c->idx));
	if (atomic_fetch_add(&steal_done, 1) + 1 == NSTEAL)
		notify_one(&steal_fin);
	return POLL_READY;
}

static const struct future_vtable steal_child_vtable = { steal_child_poll, NULL };

static struct steal_test {
	struct future base;
	int state;
	struct notified done;
	unsigned spawned, stolen_while_busy;
	uint64_t busy_ms;
	struct stats_snap before, after;
} steal_test;

struct steal_victim {
	struct future base;
};

static enum poll steal_victim_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	struct steal_test *t = &steal_test;
	atomic_store(&steal_t0, ktimer_now_ns());
	for (unsigned i = 0; i < NSTEAL; i++) {
		struct steal_child c = { { &steal_child_vtable }, i };
		if (KSPAWN(c, "stealme", NULL) == TASK_OK)
			t->spawned++;
	}
	/* The last one spawned sits in this hart's LIFO slot, which nobody
	 * steals; the other NSTEAL - 1 are in its run queue. */
	uint64_t t0 = ktimer_now_ns();
	while (atomic_load(&steal_done) < NSTEAL - 1 &&
	       ktimer_now_ns() - t0 < STEAL_WAIT_MS * 1000000ull)
		;
	t->busy_ms = (ktimer_now_ns() - t0) / 1000000;
	t->stolen_while_busy = atomic_load(&steal_done);
	return POLL_READY;
}

static const struct future_vtable steal_victim_vtable = { steal_victim_poll, NULL };

static enum poll steal_test_poll(struct future *f, struct context *cx)
{
	struct steal_test *t = (struct steal_test *)f;
	ASYNC_BEGIN(t);
	notify_init(&steal_fin);
	snap(&t->before);
	{
		struct steal_victim v = { { &steal_victim_vtable } };
		if (KSPAWN_PINNED(v, "victim", 0) != TASK_OK)
			printf("    cannot spawn the victim\n");
	}
	notified_init(&t->done, &steal_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	snap(&t->after);
	ASYNC_END(t);
}

static struct future *steal_start(void)
{
	static const struct future_vtable vt = { steal_test_poll, NULL };
	memset(&steal_test, 0, sizeof(steal_test));
	steal_test.base.vtable = &vt;
	return &steal_test.base;
}

static bool steal_ok(void)
{
	struct steal_test *t = &steal_test;
	unsigned ran[SMP_MAX] = { 0 };
	for (unsigned i = 0; i < NSTEAL; i++) {
		unsigned h = atomic_load(&steal_ran_on[i]);
		if (h == 0 || h > nharts())
			KTEST_FAIL("task %u never ran", i);
		ran[h - 1]++;
	}
	printf("    hart 0 busy for %llu ms with %u tasks in its run queue; %u of them ran "
	       "elsewhere meanwhile\n", (unsigned long long)t->busy_ms, NSTEAL - 1,
	       t->stolen_while_busy);
	for (unsigned h = 0; h < nharts(); h++)
		printf("    hart %u: ran %u, stole %llu\n", h, ran[h],
		       (unsigned long long)(t->after.steals[h] - t->before.steals[h]));
	if (t->spawned != NSTEAL)
		KTEST_FAIL("spawned %u tasks, want %u", t->spawned, NSTEAL);
	if (atomic_load(&steal_dups))
		KTEST_FAIL("%u tasks ran twice", atomic_load(&steal_dups));
	if (nharts() < 2)
		return true;
	for (unsigned h = 1; h < nharts(); h++)
		if (!ran[h])
			KTEST_FAIL("hart %u stole nothing from busy hart 0", h);
	if (ran[0] > 1)
		KTEST_FAIL("%u tasks waited for busy hart 0 (only its LIFO slot should)", ran[0]);
	return true;
}

/*
 * Round trips between a task pinned to hart 0 and one pinned to the last
 * hart, through two notifies: each side parks between messages, so every
 * message is an unpark of a parked hart (token, IPI, WFI ends).  A lost
 * unpark either hangs (no deadline) or costs a whole timer period.
 */
#define NTRIP 1000u
#define TRIP_BUDGET_MS 3000u
#define TRIP_MEDIAN_US 1000u

static uint32_t trip_ns[NTRIP];
static _Atomic unsigned trip_wrong_hart;
static struct notify to_pong, to_ping, trip_fin;

static struct trip_test {
	struct future base;
	int state;
	unsigned n, last;
	uint64_t t0, total_ns;
	struct notified done;
	struct stats_snap before, after;
} trip_test;

struct tripper {
	struct future base;
	int state;
	unsigned hart;
	bool ping;
	uint64_t t;
	struct notified n;
};

static enum poll tripper_poll(struct future *f, struct context *cx)
{
	struct tripper *p = (struct tripper *)f;
	struct trip_test *t = &trip_test;
	if (arch_hart_id() != p->hart)
		atomic_fetch_add(&trip_wrong_hart, 1);
	ASYNC_BEGIN(p);
	if (p->ping) {
		t->t0 = ktimer_now_ns();
		for (t->n = 0; t->n < NTRIP; t->n++) {
			if (ktimer_now_ns() - t->t0 > TRIP_BUDGET_MS * 1000000ull)
				break;
			p->t = ktimer_now_ns();
			notify_one(&to_pong);
			notified_init(&p->n, &to_ping);
			AWAIT(p, notified_poll(&p->n, cx));
			uint64_t d = ktimer_now_ns() - p->t;
			trip_ns[t->n] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		}
		t->total_ns = ktimer_now_ns() - t->t0;
		notify_one(&trip_fin);
	} else {
		for (;;) {
			notified_init(&p->n, &to_pong);
			AWAIT(p, notified_poll(&p->n, cx));
			notify_one(&to_ping);
		}
	}
	ASYNC_END(p);
}

static const struct future_vtable tripper_vtable = { tripper_poll, NULL };

static enum poll trip_test_poll(struct future *f, struct context *cx)
{
	struct trip_test *t = (struct trip_test *)f;
	ASYNC_BEGIN(t);
	notify_init(&to_pong);
	notify_init(&to_ping);
	notify_init(&trip_fin);
	t->last = nharts() - 1;
	snap(&t->before);
	{
		struct tripper pong = { .base = { &tripper_vtable }, .hart = t->last, .ping = false };
		struct tripper ping = { .base = { &tripper_vtable }, .hart = 0, .ping = true };
		if (KSPAWN_PINNED(pong, "pong", t->last) != TASK_OK ||
		    KSPAWN_PINNED(ping, "ping", 0) != TASK_OK)
			printf("    cannot spawn the pair\n");
	}
	notified_init(&t->done, &trip_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	snap(&t->after);
	ASYNC_END(t);
}

static struct future *trip_start(void)
{
	static const struct future_vtable vt = { trip_test_poll, NULL };
	memset(&trip_test, 0, sizeof(trip_test));
	trip_test.base.vtable = &vt;
	return &trip_test.base;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool trip_ok(void)
{
	struct trip_test *t = &trip_test;
	if (t->n == 0)
		KTEST_FAIL("no round trip at all");
	qsort(trip_ns, t->n, sizeof(trip_ns[0]), cmp_u32);
	uint32_t med = trip_ns[t->n / 2], p90 = trip_ns[t->n * 9 / 10], max = trip_ns[t->n - 1];
	printf("    %u round trips hart 0 <-> hart %u in %llu ms: median %u us, 90%% %u us, "
	       "max %u us; ipi wake-ups %llu + %llu\n", t->n, t->last,
	       (unsigned long long)(t->total_ns / 1000000), med / 1000, p90 / 1000, max / 1000,
	       (unsigned long long)(t->after.hs[0].wakeups[WAKE_IPI] -
				    t->before.hs[0].wakeups[WAKE_IPI]),
	       (unsigned long long)(t->after.hs[t->last].wakeups[WAKE_IPI] -
				    t->before.hs[t->last].wakeups[WAKE_IPI]));
	if (atomic_load(&trip_wrong_hart))
		KTEST_FAIL("a pinned task was polled %u times on the wrong hart",
			   atomic_load(&trip_wrong_hart));
	if (t->n < NTRIP)
		KTEST_FAIL("only %u of %u round trips in %u ms", t->n, NTRIP, TRIP_BUDGET_MS);
	if (nharts() > 1 && med > TRIP_MEDIAN_US * 1000u)
		KTEST_FAIL("median round trip %u us, want under %u us", med / 1000, TRIP_MEDIAN_US);
	return true;
}

/*
 * Every hart parks; a timer interrupt then wakes IDLE_BURST tasks of
 * IDLE_WORK each (about a millisecond) through the injection queue: every
 * hart must be woken for it, and take part unless its host thread did not
 * run while the burst lasted (some 30 ms: a loaded host can keep one of
 * QEMU's vCPU threads off its cores that long, so a hart that ran none
 * must at least show the wake-up, IPI or timer, that ended its park).  Then nothing is left to do: during IDLE_WINDOW_MS
 * each hart may park only a few times (it sleeps until something happens,
 * not on a poll period), and at the end every other hart is parked.
 * Parks are counted by the executor (exec_worker_stats), whatever the
 * park hook does.
 */
#define IDLE_BURST 128u
#define IDLE_WORK 200000u
#define IDLE_WINDOW_MS 300u
#define IDLE_MAX_PARKS 6u

static struct waker idle_wakers[IDLE_BURST];
static _Atomic unsigned idle_waiting, idle_done, idle_ran[SMP_MAX];
static struct notify idle_fin;

struct idle_task {
	struct future base;
	uint32_t idx;
	uint32_t stage;
};

static enum poll idle_task_poll(struct future *f, struct context *cx)
{
	struct idle_task *b = (struct idle_task *)f;
	if (b->stage == 0) {
		b->stage = 1;
		idle_wakers[b->idx] = waker_clone(cx->waker);
		atomic_fetch_add(&idle_waiting, 1);
		return POLL_PENDING;
	}
	atomic_fetch_add(&idle_ran[arch_hart_id()], 1);
	atomic_fetch_add(&burst_sink, churn(IDLE_WORK, b->idx));
	if (atomic_fetch_add(&idle_done, 1) + 1 == IDLE_BURST)
		notify_one(&idle_fin);
	return POLL_READY;
}

static const struct future_vtable idle_task_vtable = { idle_task_poll, NULL };

static void idle_fire(void *arg, uint64_t now)
{
	(void)arg;
	(void)now;
	for (unsigned i = 0; i < IDLE_BURST; i++)
		waker_wake(&idle_wakers[i]);
}

static struct idle_test {
	struct future base;
	int state;
	struct sleep s;
	struct notified done;
	unsigned self;
	uint64_t mask_before, mask_end, t_fire, t_done, token_ns;
	struct stats_snap before, mid, after;
} idle_test;

/* Far enough that a park which ignores its token is plainly seen. */
#define TOKEN_PARK_MS 200

static uint64_t others_mask(unsigned self)
{
	return ((1ull << nharts()) - 1) & ~(1ull << self);
}

static enum poll idle_test_poll(struct future *f, struct context *cx)
{
	struct idle_test *t = (struct idle_test *)f;
	ASYNC_BEGIN(t);
	/* The park contract (executor/hooks.h): an unpark that came first
	 * makes the next park return at once, whatever its deadline. */
	{
		const struct exec_hooks *h = &kernel_exec.hooks;
		unsigned me = arch_hart_id();
		uint64_t t0 = ktimer_now_ns();
		h->unpark(h->ctx, me);
		h->park(h->ctx, me, t0 + TOKEN_PARK_MS * 1000000ull);
		t->token_ns = ktimer_now_ns() - t0;
	}
	notify_init(&idle_fin);
	for (unsigned i = 0; i < IDLE_BURST; i++) {
		struct idle_task b = { { &idle_task_vtable }, i, 0 };
		if (KSPAWN(b, "idle", NULL) != TASK_OK)
			printf("    cannot spawn task %u\n", i);
	}
	/* Let every task register and every hart go to sleep. */
	sleep_for(&t->s, exec_wheel(&kernel_exec), ktimer_now_ns(), SETTLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	t->mask_before = atomic_load(&kernel_exec.idle_mask);
	snap(&t->before);
	t->t_fire = ktimer_now_ns();
	ktimer_arm(arch_timer_now() + ktimer_us_to_ticks(1000), idle_fire, NULL);
	notified_init(&t->done, &idle_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	t->t_done = ktimer_now_ns();
	snap(&t->mid);
	sleep_for(&t->s, exec_wheel(&kernel_exec), ktimer_now_ns(), IDLE_WINDOW_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	snap(&t->after);
	/* The hart whose timer woke us may still be on its way back to
	 * sleep (it handed this task over): give it a moment. */
	t->self = arch_hart_id();
	{
		uint64_t until = ktimer_now_ns() + 20 * 1000000ull;
		do
			t->mask_end = atomic_load(&kernel_exec.idle_mask);
		while ((t->mask_end & others_mask(t->self)) != others_mask(t->self) &&
		       ktimer_now_ns() < until);
	}
	ASYNC_END(t);
}

static struct future *idle_start(void)
{
	static const struct future_vtable vt = { idle_test_poll, NULL };
	memset(&idle_test, 0, sizeof(idle_test));
	idle_test.base.vtable = &vt;
	return &idle_test.base;
}

static bool idle_ok(void)
{
	struct idle_test *t = &idle_test;
	unsigned used = 0, unwoken = 0;
	bool busy = false;
	printf("    unpark, then park with a %u ms deadline: back after %llu us\n", TOKEN_PARK_MS,
	       (unsigned long long)(t->token_ns / 1000));
	if (t->token_ns >= TOKEN_PARK_MS / 4 * 1000000ull)
		KTEST_FAIL("park slept %llu ms although an unpark came first: it must take the token "
			   "and return at once", (unsigned long long)(t->token_ns / 1000000));
	if (atomic_load(&idle_waiting) != IDLE_BURST || atomic_load(&idle_done) != IDLE_BURST)
		KTEST_FAIL("%u tasks waited, %u finished, want %u", atomic_load(&idle_waiting),
			   atomic_load(&idle_done), IDLE_BURST);
	printf("    idle mask before the burst %#llx; burst of %u tasks done %llu ms after "
	       "the interrupt\n", (unsigned long long)t->mask_before, IDLE_BURST,
	       (unsigned long long)((t->t_done - t->t_fire) / 1000000));
	for (unsigned h = 0; h < nharts(); h++) {
		uint64_t idle_p = t->after.parks[h] - t->mid.parks[h];
		uint64_t ipi = t->after.hs[h].wakeups[WAKE_IPI] - t->before.hs[h].wakeups[WAKE_IPI];
		uint64_t woke = wakeups(&t->after.hs[h]) - wakeups(&t->before.hs[h]);
		used += atomic_load(&idle_ran[h]) > 0;
		unwoken += atomic_load(&idle_ran[h]) == 0 && woke == 0;
		printf("    hart %u: ran %u (%llu stolen, %llu injected, %llu ipi wake-ups); "
		       "idle %u ms: %llu parks\n",
		       h, atomic_load(&idle_ran[h]),
		       (unsigned long long)(t->mid.steals[h] - t->before.steals[h]),
		       (unsigned long long)(t->mid.injects[h] - t->before.injects[h]),
		       (unsigned long long)ipi, IDLE_WINDOW_MS, (unsigned long long)idle_p);
		if (idle_p > IDLE_MAX_PARKS)
			busy = true;
	}
	printf("    idle mask after the window %#llx (want %#llx set)\n",
	       (unsigned long long)t->mask_end, (unsigned long long)others_mask(t->self));
	if (unwoken)
		KTEST_FAIL("the burst ran on %u of %u harts; %u of the others never left their park",
			   used, nharts(), unwoken);
	if (used < nharts())
		printf("    the burst ran on %u of %u harts: the others were woken, but their "
		       "host threads did not run before it ended\n", used, nharts());
	if (nharts() > 1 && used < 2)
		KTEST_FAIL("the burst ran on one hart of %u", nharts());
	if (busy)
		KTEST_FAIL("a hart parked more than %u times in %u ms with nothing to do",
			   IDLE_MAX_PARKS, IDLE_WINDOW_MS);
	if ((t->mask_end & others_mask(t->self)) != others_mask(t->self))
		KTEST_FAIL("not every other hart was parked after the idle window");
	return true;
}


/* ---- a frame freed after uaccess_quiesce is no longer written ------------*/

/*
 * A copier pinned to another hart copies a page-sized pattern into user
 * page VA of a private address space without pause (as a pipe peer or a
 * ring operation copies into another process's memory).  The test task
 * repeatedly unmaps VA, calls uaccess_quiesce, zeroes the frame
 * and checks a little later that it is still zero: a copy that looked the
 * page up before the unmap must have finished before quiesce returned.
 * Without the quiesce, a copy in the middle of its memcpy writes the
 * pattern over the zeroes: on riscv64 within a few rounds; on aarch64 in
 * most runs (3 of 5 tried), since there the copy must be overtaken by
 * the memset, which depends on how QEMU schedules the two harts.
 *
 * Each round keeps the page mapped until the copier has completed a copy
 * into it, and starts the next round only once the copier has seen it
 * unmapped (each wait bounded): the harts are host threads that may not
 * run when the test expects, and fixed time windows alone once let a
 * whole run pass without the copier ever finding the page mapped.
 */
#define QU_ROUNDS 400
#define QU_VA PX_USER_BASE

static struct vm_root *qu_vm;
static char *qu_frame;
static _Atomic int qu_stop, qu_copier_done;
static _Atomic uint64_t qu_ok, qu_efault;
static int qu_dirty = -1, qu_rounds;
static char qu_pattern[PAGE_SIZE];

struct qu_copier {
	struct future base;
};

static enum poll qu_copier_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	/* One long poll: this hart does nothing but copy until told. */
	while (!atomic_load(&qu_stop)) {
		if (copyout(qu_vm, QU_VA, qu_pattern, PAGE_SIZE) == 0)
			atomic_fetch_add(&qu_ok, 1);
		else
			atomic_fetch_add(&qu_efault, 1);
	}
	atomic_store(&qu_copier_done, 1);
	return POLL_READY;
}

static const struct future_vtable qu_copier_vtable = { qu_copier_poll, NULL };

struct qu_test {
	struct future base;
};

static enum poll qu_test_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	for (qu_rounds = 0; qu_rounds < QU_ROUNDS && qu_dirty < 0; qu_rounds++) {
		if (arch_vm_map(qu_vm, QU_VA, (uintptr_t)qu_frame, VM_R | VM_W | VM_U) != 0)
			break;
		/* Let the copier find the page mapped: at least one copy done
		 * (up to 20 ms), then 50 us more. */
		uint64_t ok0 = atomic_load(&qu_ok);
		uint64_t t = ktimer_now_ns();
		while (atomic_load(&qu_ok) == ok0 && ktimer_now_ns() - t < 20 * 1000 * 1000)
			;
		t = ktimer_now_ns();
		while (ktimer_now_ns() - t < 50 * 1000)
			;
		arch_vm_unmap(qu_vm, QU_VA);
		uaccess_quiesce(qu_vm);
		memset(qu_frame, 0, PAGE_SIZE);
		t = ktimer_now_ns();
		while (ktimer_now_ns() - t < 50 * 1000)
			;
		for (int i = 0; i < (int)PAGE_SIZE; i++)
			if (qu_frame[i]) {
				qu_dirty = i;
				break;
			}
		/* The copier saw the page unmapped before it is mapped again
		 * (up to 20 ms). */
		uint64_t bad0 = atomic_load(&qu_efault);
		t = ktimer_now_ns();
		while (atomic_load(&qu_efault) == bad0 && ktimer_now_ns() - t < 20 * 1000 * 1000)
			;
	}
	atomic_store(&qu_stop, 1);
	while (!atomic_load(&qu_copier_done))
		;
	return POLL_READY;
}

static const struct future_vtable qu_test_vtable = { qu_test_poll, NULL };

static struct future *quiesce_start(void)
{
	static struct qu_test t;
	t = (struct qu_test){ { &qu_test_vtable } };
	memset(qu_pattern, 0xab, sizeof(qu_pattern));
	qu_vm = arch_vm_create();
	qu_frame = kpage_alloc();
	atomic_store(&qu_stop, 0);
	atomic_store(&qu_copier_done, 0);
	qu_dirty = -1;
	if (nharts() < 2 || !qu_vm || !qu_frame)
		return &t.base; /* qu_ok reports why */
	/* The copier on another hart than the one running this test. */
	struct qu_copier c = { { &qu_copier_vtable } };
	if (KSPAWN_PINNED(c, "copier", (arch_hart_id() + 1) % nharts()) != TASK_OK)
		atomic_store(&qu_copier_done, 1);
	return &t.base;
}

static bool quiesce_ok(void)
{
	if (nharts() < 2) {
		printf("    needs 2 harts; booted with %u\n", nharts());
		return false;
	}
	if (!qu_vm || !qu_frame)
		KTEST_FAIL("no memory for the test address space");
	uint64_t ok = atomic_load(&qu_ok), bad = atomic_load(&qu_efault);
	printf("    %d rounds; copier: %llu copies done, %llu refused (page unmapped)\n",
	       qu_rounds, (unsigned long long)ok, (unsigned long long)bad);
	if (qu_dirty >= 0)
		KTEST_FAIL("byte %d of the freed frame was written after uaccess_quiesce", qu_dirty);
	if (ok == 0 || bad == 0)
		KTEST_FAIL("the copier never raced the unmap (no copy done or none refused)");
	arch_vm_destroy(qu_vm);
	kpage_free(qu_frame);
	return true;
}

const struct ktest_async ktest_smp_tests[] = {
	{ "smp_spawn_100k", spawn_start, spawn_ok },
	{ "smp_burst_park", burst_start, burst_ok },
	{ "smp_pingpong_pinned", ping_start, ping_ok },
	{ "smp_timer_earlier", hog_start, hog_ok },
	{ "smp_steal_half", half_start, half_ok },
	{ "smp_steal_spread", steal_start, steal_ok },
	{ "smp_unpark_latency", trip_start, trip_ok },
	{ "smp_park_idle", idle_start, idle_ok },
	{ "smp_uaccess_quiesce", quiesce_start, quiesce_ok },
	{ NULL, NULL, NULL },
};

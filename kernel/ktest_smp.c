/* In-kernel multi-hart tests: 100,000 spawns with cross-hart wakes, bursts, pinned ping-pong, timers. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "executor/mpsc.h"
#include "executor/notify.h"
#include "executor/semaphore.h"
#include "executor/timer.h"
#include "kernel/kexec.h"
#include "kernel/ktest.h"
#include "kernel/ktimer.h"

#ifdef KTEST

/*
 * Booted with -smp 4 and "ktest=smp" (scripts/ktest.sh); each test also
 * runs, more weakly, on fewer harts.  They read the executor's per-worker
 * counters (exec_worker_stats) and the kernel's per-hart park counters
 * (hart_stats) before and after, so they check how the work was spread
 * and that idle harts sleep, not just that the work got done.
 */

static unsigned nharts(void)
{
	return kexec.nworkers;
}

/* Spawn fut on kexec pinned to worker `hart`, detached. */
#define KSPAWN_PINNED(fut, nm, hart)                                        \
	({                                                                  \
		struct task_desc d_ = TASK_DESC_VOID(fut, nm);              \
		d_.pin = (hart) + 1u;                                       \
		task_spawn(&kexec, KTASK_POOL_FOR(sizeof(fut)), &d_, NULL); \
	})

struct stats_snap {
	uint64_t polls[SMP_MAX], steals[SMP_MAX], parks[SMP_MAX], injects[SMP_MAX];
	struct hart_stats hs[SMP_MAX];
};

static void snap(struct stats_snap *s)
{
	for (unsigned h = 0; h < nharts(); h++) {
		struct exec_worker_stats *w = &kexec.workers[h].stats;
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
	t->t0 = kexec_now_ns();
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
	t->t1 = kexec_now_ns();
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
	sleep_for(&t->s, exec_wheel(&kexec), kexec_now_ns(), SETTLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	snap(&t->before);
	t->t_fire = kexec_now_ns();
	ktimer_arm(arch_timer_now() + ktimer_us_to_ticks(1000), burst_fire, NULL);
	notified_init(&t->done, &burst_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	t->t_done = kexec_now_ns();
	snap(&t->mid);
	/* Nothing to do now: every hart must go back to sleep and stay. */
	sleep_for(&t->s, exec_wheel(&kexec), kexec_now_ns(), IDLE_MS * 1000000ull);
	AWAIT(t, sleep_poll(&t->s, cx));
	sleep_drop(&t->s);
	/* The hart whose timer woke us may still be on its way back to
	 * sleep (it handed this task over): give it a moment. */
	t->self = arch_hart_id();
	{
		uint64_t want = ((1ull << nharts()) - 1) & ~(1ull << t->self);
		uint64_t until = kexec_now_ns() + 10 * 1000000ull;
		do
			t->idle_mask_end = atomic_load(&kexec.idle_mask);
		while ((t->idle_mask_end & want) != want && kexec_now_ns() < until);
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
	t->t0 = kexec_now_ns();
	struct pinger ping = { .base = { &pinger_vtable }, .hart = t->a, .is_ping = true };
	struct pinger pong = { .base = { &pinger_vtable }, .hart = t->b, .is_ping = false };
	if (KSPAWN_PINNED(pong, "pong", t->b) != TASK_OK ||
	    KSPAWN_PINNED(ping, "ping", t->a) != TASK_OK)
		printf("    cannot spawn the pair\n");
	notified_init(&t->done, &ping_fin);
	AWAIT(t, notified_poll(&t->done, cx));
	t->t1 = kexec_now_ns();
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
	uint64_t start = kexec_now_ns();
	while (kexec_now_ns() - start < 5 * 1000000ull)
		;
	t->t0 = kexec_now_ns();
	sleep_for(&t->s, exec_wheel(&kexec), t->t0, EARLY_MS * 1000000ull);
	if (sleep_poll(&t->s, cx) == POLL_READY)
		t->fired_at = t->t0;
	while (kexec_now_ns() - t->t0 < HOG_MS * 1000000ull) {
		if (!t->fired_at &&
		    __atomic_load_n(&t->s.entry.state, __ATOMIC_ACQUIRE) == TIMER_FIRED)
			t->fired_at = kexec_now_ns();
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
	sleep_for(&t->s, exec_wheel(&kexec), kexec_now_ns(), SETTLE_MS * 1000000ull);
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

const struct ktest_async ktest_smp_tests[] = {
	{ "smp_spawn_100k", spawn_start, spawn_ok },
	{ "smp_burst_park", burst_start, burst_ok },
	{ "smp_pingpong_pinned", ping_start, ping_ok },
	{ "smp_timer_earlier", hog_start, hog_ok },
	{ NULL, NULL, NULL },
};

#endif /* KTEST */

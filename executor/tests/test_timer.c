/* Host tests of the timing wheel, sleep, timeout and interval, with counting wakers. */
#include <pthread.h>
#include <stdint.h>

#include "test.h"
#include "test_wakers.h"
#include "timer.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible across runs */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* The deadline rounded up to the wheel's tick, as the wheel must fire it. */
static uint64_t round_up(uint64_t ns, unsigned shift)
{
	uint64_t mask = ((uint64_t)1 << shift) - 1;
	return (ns + mask) & ~mask;
}

TEST(timer_sleep_fires_at_rounded_deadline)
{
	struct timer_wheel w;
	struct sleep s;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init(&w, 0);             /* 2^20 ns ticks */
	sleep_init(&s, &w, TIMER_MS(5));     /* rounds up to 5 * 2^20 */
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&a.clones), 1);
	CHECK_EQ(timer_wheel_pending(&w), 1);
	CHECK_EQ(timer_wheel_next_deadline(&w), 5u << 20);

	CHECK_EQ(timer_wheel_advance(&w, TIMER_MS(5) - 1), 0);
	CHECK_EQ(timer_wheel_advance(&w, TIMER_MS(5)), 0);  /* not a tick yet */
	CHECK_EQ(timer_wheel_advance(&w, (5u << 20) - 1), 0);
	CHECK_EQ(tw_woken(&a), 0);
	CHECK_EQ(timer_wheel_advance(&w, 5u << 20), 1);
	CHECK_EQ(atomic_load(&a.wakes), 1);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(timer_wheel_next_deadline(&w), UINT64_MAX);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
	CHECK_EQ(atomic_load(&a.clones), 1);
	sleep_drop(&s);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(timer_sleep_past_deadline_is_ready_keeps_no_waker)
{
	struct timer_wheel w;
	struct sleep s;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 1000, 0);
	sleep_init(&s, &w, 1000);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
	sleep_init(&s, &w, 999);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
	sleep_for(&s, &w, 1000, 0);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
	/* the first poll clones before it knows (saving a lock round trip
	 * in the common case); the clone is dropped, never kept or woken */
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(tw_woken(&a), 0);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
	CHECK_EQ(atomic_load(&a.clones), 3);   /* later polls: no clone */
}

TEST(timer_sleep_repoll_same_waker_no_clone_new_waker_replaces)
{
	struct timer_wheel w;
	struct sleep s;
	struct tw a, b;

	tw_init(&a, 1);
	tw_init(&b, 2);
	tw_log_reset();
	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&s, &w, 100);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&a.clones), 1);
	/* moved to another task: the old waker is dropped, not woken */
	CHECK_EQ(sleep_poll(&s, &b.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&a.drops), 1);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(timer_wheel_advance(&w, 100), 1);
	CHECK_STR(tw_log(), "2");
	CHECK_EQ(tw_live(&b), 0);
	CHECK_EQ(tw_woken(&a), 0);
}

TEST(timer_cancel_unlinks_and_drops_waker)
{
	enum { N = 300 };
	static struct sleep s[N];
	static struct tw t[N];
	struct timer_wheel w;

	rng_state = 7;
	timer_wheel_init_shift(&w, 0, 4);
	for (int i = 0; i < N; i++) {
		tw_init(&t[i], i);
		sleep_init(&s[i], &w, 1 + rng() % 1000000);
		CHECK_EQ(sleep_poll(&s[i], &t[i].cx), POLL_PENDING);
	}
	CHECK_EQ(timer_wheel_pending(&w), N);
	/* cancel the odd ones, in a scrambled order */
	for (int k = 0; k < N; k++) {
		int i = (k * 7919) % N;
		if (i & 1)
			sleep_drop(&s[i]);
	}
	CHECK_EQ(timer_wheel_pending(&w), N / 2);
	CHECK_EQ(timer_wheel_advance(&w, 2000000), N / 2);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(tw_woken(&t[i]), (i & 1) ? 0 : 1);
		CHECK_EQ(tw_live(&t[i]), 0);
		sleep_drop(&s[i]);
	}
	CHECK_EQ(timer_wheel_pending(&w), 0);
	CHECK_EQ(timer_wheel_next_deadline(&w), UINT64_MAX);
}

/* cancel_all empties every level, drops each waker once, wakes nobody,
 * and leaves entries that may be polled again. */
TEST(timer_cancel_all_drops_every_waker)
{
	enum { N = 200 };
	static struct sleep s[N];
	static struct tw t[N];
	struct timer_wheel w;

	rng_state = 11;
	timer_wheel_init_shift(&w, 0, 4);
	for (int i = 0; i < N; i++) {
		tw_init(&t[i], i);
		/* from one tick to about a day away: entries on many levels */
		sleep_init(&s[i], &w, 16 + rng() % (TIMER_SEC(86400) >> (i % 40)));
		CHECK_EQ(sleep_poll(&s[i], &t[i].cx), POLL_PENDING);
	}
	sleep_drop(&s[0]);
	CHECK_EQ(timer_wheel_pending(&w), N - 1);
	CHECK_EQ(timer_wheel_cancel_all(&w), N - 1);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	CHECK_EQ(timer_wheel_next_deadline(&w), UINT64_MAX);
	CHECK_EQ(timer_wheel_cancel_all(&w), 0);
	CHECK_EQ(timer_wheel_advance(&w, TIMER_SEC(2 * 86400)), 0);  /* past them all */
	for (int i = 0; i < N; i++) {
		CHECK_EQ(tw_woken(&t[i]), 0);
		CHECK_EQ(tw_live(&t[i]), 0);
	}
	/* A cancelled sleep is idle: polled again, it queues again. */
	CHECK_EQ(sleep_poll(&s[1], &t[1].cx), POLL_READY);  /* its deadline passed */
	sleep_reset(&s[2], TIMER_SEC(3 * 86400));
	CHECK_EQ(sleep_poll(&s[2], &t[2].cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_pending(&w), 1);
	CHECK_EQ(timer_wheel_cancel_all(&w), 1);
	CHECK_EQ(tw_live(&t[2]), 0);
}

/* Days away at 1 ms resolution: the entry cascades down every level and
 * fires exactly at its rounded deadline. */
TEST(timer_cascades_across_levels)
{
	static const uint64_t far[] = {
		TIMER_SEC(3600) + 1, TIMER_SEC(86400 * 3) + 12345,
		TIMER_SEC(64) + 7, TIMER_SEC(86400ull * 400), 1ull << 50,
	};
	for (unsigned k = 0; k < sizeof(far) / sizeof(far[0]); k++) {
		struct timer_wheel w;
		struct sleep s;
		struct tw a;
		uint64_t due = round_up(far[k], TIMER_DEFAULT_SHIFT);

		tw_init(&a, 1);
		timer_wheel_init(&w, TIMER_MS(3));
		sleep_init(&s, &w, far[k]);
		CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
		CHECK_EQ(s.entry.level >= 2, 1);
		CHECK_EQ(timer_wheel_next_deadline(&w), due);
		/* walk there in uneven steps; never fires early */
		uint64_t now = TIMER_MS(3);
		while (now + (due - now) / 3 + 1 < due) {
			now += (due - now) / 3 + 1;
			CHECK_EQ(timer_wheel_advance(&w, now), 0);
			CHECK_EQ(timer_wheel_next_deadline(&w), due);
		}
		CHECK_EQ(timer_wheel_advance(&w, due - 1), 0);
		CHECK_EQ(tw_woken(&a), 0);
		CHECK_EQ(timer_wheel_advance(&w, due), 1);
		CHECK_EQ(atomic_load(&a.wakes), 1);
		CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
		CHECK_EQ(tw_live(&a), 0);
	}
}

/*
 * Random deadlines over every level, random inserts, cancels and clock
 * steps, checked after each step against a brute-force reference: the
 * fired set is exactly {rounded deadline <= now} (never early, never
 * late), and next_deadline is the smallest pending rounded deadline.
 */
static int check_random_wheel(unsigned shift, uint64_t seed)
{
	enum { N = 1500 };
	static struct sleep s[N];
	static struct tw t[N];
	static uint64_t due[N];
	static int state[N];  /* 0 unused, 1 pending, 2 fired, 3 cancelled */
	struct timer_wheel w;
	uint64_t now = 12345;

	rng_state = seed;
	timer_wheel_init_shift(&w, now, shift);
	for (int i = 0; i < N; i++) {
		tw_init(&t[i], i);
		state[i] = 0;
	}
	int next_new = 0;
	for (int step = 0; step < 3000; step++) {
		unsigned op = (unsigned)(rng() % 10);
		if (step % 3 == 0) {
			/* also between inserts and cancels (the cached minimum) */
			uint64_t m = UINT64_MAX;
			for (int i = 0; i < next_new; i++)
				if (state[i] == 1 && due[i] < m)
					m = due[i];
			if (timer_wheel_next_deadline(&w) != m)
				return __LINE__;
		}
		if (op < 4 && next_new < N) {
			int i = next_new++;
			uint64_t span = 1ull << (rng() % 45);
			uint64_t d = now + rng() % span;
			sleep_init(&s[i], &w, d);
			enum poll p = sleep_poll(&s[i], &t[i].cx);
			due[i] = round_up(d, shift);
			if (due[i] <= (now & ~(((uint64_t)1 << shift) - 1))) {
				if (p != POLL_READY)
					return __LINE__;
				state[i] = 2;
				continue;
			}
			if (p != POLL_PENDING)
				return __LINE__;
			state[i] = 1;
		} else if (op < 5 && next_new > 0) {
			int i = (int)(rng() % (uint64_t)next_new);
			if (state[i] == 1) {
				sleep_drop(&s[i]);
				state[i] = 3;
			}
		} else {
			uint64_t expect_next = UINT64_MAX;
			for (int i = 0; i < next_new; i++)
				if (state[i] == 1 && due[i] < expect_next)
					expect_next = due[i];
			if (timer_wheel_next_deadline(&w) != expect_next)
				return __LINE__;
			if (op < 8 && expect_next != UINT64_MAX)
				now = expect_next;      /* jump exactly to it */
			else
				now += rng() % (1ull << (rng() % 40));
			unsigned fired = timer_wheel_advance(&w, now);
			unsigned expect = 0;
			for (int i = 0; i < next_new; i++) {
				int woken = tw_woken(&t[i]);
				if (state[i] == 1 && due[i] <= now) {
					expect++;
					state[i] = 2;
					if (woken != 1)
						return __LINE__;   /* late */
				} else if (state[i] == 1 && woken) {
					return __LINE__;           /* early */
				}
			}
			if (fired != expect)
				return __LINE__;
			if (expect_next != UINT64_MAX && now == expect_next && !fired)
				return __LINE__;
		}
	}
	for (int i = 0; i < next_new; i++) {
		sleep_drop(&s[i]);
		if (tw_live(&t[i]) != 0 || tw_woken(&t[i]) > 1)
			return __LINE__;
	}
	if (timer_wheel_pending(&w) != 0)
		return __LINE__;
	return 0;
}

TEST(timer_random_matches_reference_ms)
{
	CHECK_EQ(check_random_wheel(TIMER_DEFAULT_SHIFT, 1), 0);
	CHECK_EQ(check_random_wheel(TIMER_DEFAULT_SHIFT, 99), 0);
}

TEST(timer_random_matches_reference_ns)
{
	CHECK_EQ(check_random_wheel(0, 3), 0);
	CHECK_EQ(check_random_wheel(7, 4), 0);
}

/* More entries due at once than the on-stack wake batch holds. */
TEST(timer_many_fire_in_one_advance_in_order)
{
	enum { N = 70 };
	struct sleep s[N];
	struct tw t[N];
	struct timer_wheel w;
	char expect[512] = "";

	tw_log_reset();
	timer_wheel_init_shift(&w, 0, 0);
	for (int i = 0; i < N; i++) {
		tw_init(&t[i], i);
		/* deadlines in reverse order of creation, across two levels */
		sleep_init(&s[i], &w, (uint64_t)(N - i) * 100);
		CHECK_EQ(sleep_poll(&s[i], &t[i].cx), POLL_PENDING);
	}
	for (int i = N - 1; i >= 0; i--) {
		size_t len = strlen(expect);
		snprintf(expect + len, sizeof(expect) - len, len ? ",%d" : "%d", i);
	}
	CHECK_EQ(timer_wheel_advance(&w, 1000000), N);
	CHECK_STR(tw_log(), expect);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(sleep_poll(&s[i], &t[i].cx), POLL_READY);
		sleep_drop(&s[i]);
		CHECK_EQ(tw_live(&t[i]), 0);
	}
}

TEST(timer_never_and_saturating_deadlines)
{
	struct timer_wheel w;
	struct sleep s, s2;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init(&w, 0);
	sleep_init(&s, &w, TIMER_NEVER);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	sleep_for(&s2, &w, 100, UINT64_MAX - 5);
	CHECK_EQ(sleep_poll(&s2, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	CHECK_EQ(timer_wheel_next_deadline(&w), UINT64_MAX);
	CHECK_EQ(timer_wheel_advance(&w, UINT64_MAX), 0);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	sleep_drop(&s);
	sleep_drop(&s2);
	CHECK_EQ(tw_live(&a), 0);

	/* at 1 ns resolution too, and the largest real deadline still works */
	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&s, &w, TIMER_NEVER);
	sleep_init(&s2, &w, UINT64_MAX - 1);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	CHECK_EQ(sleep_poll(&s2, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_pending(&w), 1);
	CHECK_EQ(s2.entry.level, 10);
	CHECK_EQ(timer_wheel_next_deadline(&w), UINT64_MAX - 1);
	CHECK_EQ(timer_wheel_advance(&w, UINT64_MAX - 2), 0);
	CHECK_EQ(timer_wheel_advance(&w, UINT64_MAX), 1);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_PENDING);
	CHECK_EQ(sleep_poll(&s2, &a.cx), POLL_READY);
	sleep_drop(&s);
	sleep_drop(&s2);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(timer_clock_never_goes_backwards)
{
	struct timer_wheel w;
	struct sleep s;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 0, 0);
	CHECK_EQ(timer_wheel_advance(&w, 500), 0);
	CHECK_EQ(timer_wheel_advance(&w, 200), 0);
	CHECK_EQ(timer_wheel_now(&w), 500);
	sleep_init(&s, &w, 400);
	CHECK_EQ(sleep_poll(&s, &a.cx), POLL_READY);
}

/*
 * An advance with nothing due moves only the clock while it stays in its
 * 64-tick block; one that leaves the block passes the slots between.
 * Either way, an entry filed at a higher level before the clock moved
 * and a nearer one filed after it fire in deadline order, and
 * next_deadline names the nearer one.
 */
TEST(timer_clock_moves_in_block_and_across)
{
	struct timer_wheel w;
	struct sleep far, near, later;
	struct tw a, b, c;

	tw_init(&a, 1);
	tw_init(&b, 1);
	tw_init(&c, 1);
	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&far, &w, 100);           /* level 1, block 1 */
	CHECK_EQ(sleep_poll(&far, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_next_deadline(&w), 100);
	CHECK_EQ(timer_wheel_advance(&w, 30), 0);    /* within block 0 */
	CHECK_EQ(timer_wheel_now(&w), 30);
	sleep_init(&near, &w, 40);
	CHECK_EQ(sleep_poll(&near, &b.cx), POLL_PENDING);
	sleep_init(&later, &w, 30);                  /* not in the future */
	CHECK_EQ(sleep_poll(&later, &c.cx), POLL_READY);
	CHECK_EQ(timer_wheel_next_deadline(&w), 40);
	CHECK_EQ(timer_wheel_advance(&w, 39), 0);
	CHECK_EQ(timer_wheel_advance(&w, 40), 1);
	CHECK_EQ(tw_woken(&b), 1);
	CHECK_EQ(timer_wheel_next_deadline(&w), 100);
	CHECK_EQ(timer_wheel_advance(&w, 70), 0);    /* into block 1 */
	CHECK_EQ(timer_wheel_now(&w), 70);
	sleep_init(&later, &w, 80);                  /* before far, after now */
	CHECK_EQ(sleep_poll(&later, &c.cx), POLL_PENDING);
	sleep_drop(&near);
	sleep_init(&near, &w, 75);
	CHECK_EQ(sleep_poll(&near, &b.cx), POLL_PENDING);
	sleep_drop(&near);           /* the cached minimum leaves: a scan */
	CHECK_EQ(timer_wheel_next_deadline(&w), 80);
	CHECK_EQ(timer_wheel_advance(&w, 99), 1);
	CHECK_EQ(tw_woken(&c), 1);
	CHECK_EQ(tw_woken(&a), 0);
	CHECK_EQ(timer_wheel_next_deadline(&w), 100);
	CHECK_EQ(timer_wheel_advance(&w, 100), 1);
	CHECK_EQ(tw_woken(&a), 1);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	sleep_drop(&far);
	sleep_drop(&near);
	sleep_drop(&later);
	CHECK_EQ(tw_live(&a) + tw_live(&b) + tw_live(&c), 0);
}

/* Works through the generic future interface with a noop waker too. */
TEST(timer_sleep_as_generic_future)
{
	struct timer_wheel w;
	struct sleep s;
	struct context cx = { waker_noop() };

	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&s, &w, 10);
	struct future *f = &s.base;
	CHECK_EQ(future_poll(f, &cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_advance(&w, 10), 1);
	CHECK_EQ(future_poll(f, &cx), POLL_READY);
	future_drop(f);
	sleep_init(&s, &w, 20);
	CHECK_EQ(future_poll(f, &cx), POLL_PENDING);
	future_drop(f);                       /* cancels */
	CHECK_EQ(timer_wheel_pending(&w), 0);
}

TEST(timer_timeout_fires_and_drops_inner)
{
	struct timer_wheel w;
	struct sleep inner;
	struct timeout to;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&inner, &w, 1000);
	timeout_init(&to, &inner.base, &w, 300);
	CHECK_EQ(timeout_poll(&to, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_pending(&w), 2);
	CHECK_EQ(atomic_load(&a.clones), 2);
	CHECK_EQ(timer_wheel_advance(&w, 299), 0);
	CHECK_EQ(timer_wheel_advance(&w, 300), 1);
	CHECK_EQ(timeout_poll(&to, &a.cx), POLL_READY);
	CHECK_EQ(to.result, TIMEOUT_ELAPSED);
	CHECK_EQ(timer_wheel_pending(&w), 0);   /* inner was dropped */
	timeout_drop(&to);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(timer_timeout_inner_wins_even_at_deadline)
{
	struct timer_wheel w;
	struct sleep inner;
	struct timeout to;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&inner, &w, 300);
	timeout_init(&to, &inner.base, &w, 300);
	CHECK_EQ(timeout_poll(&to, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_advance(&w, 300), 2);
	CHECK_EQ(timeout_poll(&to, &a.cx), POLL_READY);
	CHECK_EQ(to.result, TIMEOUT_OK);
	timeout_drop(&to);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(timer_timeout_drop_while_pending)
{
	struct timer_wheel w;
	struct sleep inner;
	struct timeout to;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 0, 0);
	sleep_init(&inner, &w, 1000);
	timeout_init(&to, &inner.base, &w, 500);
	CHECK_EQ(future_poll(&to.base, &a.cx), POLL_PENDING);
	future_drop(&to.base);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	CHECK_EQ(timer_wheel_advance(&w, 5000), 0);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(tw_woken(&a), 0);
}

TEST(timer_interval_no_drift_burst)
{
	struct timer_wheel w;
	struct interval iv;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 0, 0);
	interval_init(&iv, &w, 100, 100, INTERVAL_BURST);
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_advance(&w, 130), 1);   /* woken late */
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_READY);
	CHECK_EQ(interval_last(&iv), 100);
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_next_deadline(&w), 200);   /* not 230 */
	/* fall behind by 3 periods: every missed tick comes back to back */
	CHECK_EQ(timer_wheel_advance(&w, 520), 1);
	for (uint64_t d = 200; d <= 500; d += 100) {
		CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_READY);
		CHECK_EQ(interval_last(&iv), d);
	}
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_PENDING);
	CHECK_EQ(iv.ticks, 5);
	CHECK_EQ(iv.missed, 0);
	interval_drop(&iv);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(timer_interval_skip_keeps_phase)
{
	struct timer_wheel w;
	struct interval iv;
	struct tw a;

	tw_init(&a, 1);
	timer_wheel_init_shift(&w, 0, 0);
	interval_init(&iv, &w, 100, 100, INTERVAL_SKIP);
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_advance(&w, 450), 1);
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_READY);
	CHECK_EQ(interval_last(&iv), 100);
	CHECK_EQ(iv.missed, 3);                        /* 200, 300, 400 */
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_next_deadline(&w), 500);
	CHECK_EQ(timer_wheel_advance(&w, 500), 1);
	CHECK_EQ(interval_tick_poll(&iv, &a.cx), POLL_READY);
	CHECK_EQ(interval_last(&iv), 500);
	CHECK_EQ(iv.ticks, 2);
	interval_drop(&iv);
	CHECK_EQ(tw_live(&a), 0);
}

/* Two threads insert, re-poll and cancel while a third advances the
 * clock (the "timer interrupt"): every kept entry fires exactly once,
 * no cancelled one fires, every clone is consumed. */
enum { MT_PER_THREAD = 3000 };

struct mt_arg {
	struct timer_wheel *w;
	struct sleep s[MT_PER_THREAD];
	struct tw t[MT_PER_THREAD];
	enum poll first[MT_PER_THREAD];
	atomic_uint_fast64_t *clock;
	unsigned seed;
};

static void *mt_inserter(void *p)
{
	struct mt_arg *a = p;
	unsigned x = a->seed;
	for (int i = 0; i < MT_PER_THREAD; i++) {
		x = x * 1103515245u + 12345u;
		uint64_t now = atomic_load(a->clock);
		tw_init(&a->t[i], i);
		sleep_init(&a->s[i], a->w, now + 1 + (x >> 8) % 50000);
		a->first[i] = sleep_poll(&a->s[i], &a->t[i].cx);
		if ((x >> 4) % 3 == 0)
			sleep_drop(&a->s[i]);
	}
	return NULL;
}

static void *mt_ticker(void *p)
{
	struct mt_arg *a = p;
	for (int i = 0; i < 4000; i++) {
		uint64_t now = atomic_fetch_add(a->clock, 20) + 20;
		timer_wheel_advance(a->w, now);
	}
	return NULL;
}

TEST(timer_threads_insert_cancel_advance)
{
	static struct mt_arg a[2];
	static struct timer_wheel w;
	static atomic_uint_fast64_t clock;
	pthread_t th[3];

	atomic_init(&clock, 0);
	timer_wheel_init_shift(&w, 0, 0);
	for (int k = 0; k < 2; k++) {
		a[k].w = &w;
		a[k].clock = &clock;
		a[k].seed = 17u + (unsigned)k;
		pthread_create(&th[k], NULL, mt_inserter, &a[k]);
	}
	pthread_create(&th[2], NULL, mt_ticker, &a[0]);
	for (int k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	timer_wheel_advance(&w, atomic_load(&clock) + 100000);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < MT_PER_THREAD; i++) {
			struct tw *t = &a[k].t[i];
			CHECK(tw_woken(t) <= 1);
			if (a[k].s[i].entry.state == TIMER_QUEUED)
				CHECK(0);
			if (a[k].s[i].entry.state == TIMER_FIRED)
				CHECK_EQ(atomic_load(&t->wakes),
				         a[k].first[i] == POLL_PENDING);
			sleep_drop(&a[k].s[i]);
			CHECK_EQ(tw_live(t), 0);
		}
	}
}

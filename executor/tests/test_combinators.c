/* Host tests of join2, join_all and select2 over gates, sleeps and channels. */
#include "combinators.h"
#include "oneshot.h"
#include "test.h"
#include "test_wakers.h"
#include "timer.h"

/* A future that is ready once its gate is opened; records polls/drops. */
struct gate {
	struct future base;
	int open, polls, drops;
	struct waker waker;
};

static enum poll gate_poll(struct future *f, struct context *cx)
{
	struct gate *g = (struct gate *)f;
	g->polls++;
	if (g->open)
		return POLL_READY;
	waker_register(&g->waker, cx->waker);
	return POLL_PENDING;
}

static void gate_drop(struct future *f)
{
	struct gate *g = (struct gate *)f;
	g->drops++;
	waker_drop(&g->waker);
}

static const struct future_vtable gate_vtable = { gate_poll, gate_drop };

static void gate_init(struct gate *g)
{
	g->base.vtable = &gate_vtable;
	g->open = g->polls = g->drops = 0;
	g->waker = WAKER_NONE;
}

static void gate_open(struct gate *g)
{
	g->open = 1;
	waker_wake(&g->waker);
}

TEST(join2_waits_for_both_and_stops_polling_finished)
{
	struct gate a, b;
	struct join2 j;
	struct tw t;

	tw_init(&t, 1);
	gate_init(&a);
	gate_init(&b);
	join2_init(&j, &a.base, &b.base);
	CHECK_EQ(join2_poll(&j, &t.cx), POLL_PENDING);
	gate_open(&b);
	CHECK_EQ(atomic_load(&t.wakes), 1);
	CHECK_EQ(join2_poll(&j, &t.cx), POLL_PENDING);
	CHECK_EQ(b.polls, 2);
	CHECK_EQ(join2_poll(&j, &t.cx), POLL_PENDING);
	CHECK_EQ(b.polls, 2);                    /* finished: not polled again */
	gate_open(&a);
	CHECK_EQ(join2_poll(&j, &t.cx), POLL_READY);
	join2_drop(&j);
	CHECK_EQ(a.drops + b.drops, 0);          /* both finished */
	CHECK_EQ(tw_live(&t), 0);
}

TEST(join2_drop_drops_unfinished_only)
{
	struct gate a, b;
	struct join2 j;
	struct tw t;

	tw_init(&t, 1);
	gate_init(&a);
	gate_init(&b);
	b.open = 1;
	join2_init(&j, &a.base, &b.base);
	CHECK_EQ(future_poll(&j.base, &t.cx), POLL_PENDING);
	future_drop(&j.base);
	CHECK_EQ(a.drops, 1);
	CHECK_EQ(b.drops, 0);
	CHECK_EQ(tw_live(&t), 0);
}

/* join_all over sleeps on one wheel: ready when the last one fires. */
TEST(join_all_sleeps)
{
	enum { N = 10 };
	struct timer_wheel w;
	struct sleep s[N];
	struct future *fs[N];
	struct join_all j;
	struct tw t;

	tw_init(&t, 1);
	timer_wheel_init_shift(&w, 0, 0);
	for (int i = 0; i < N; i++) {
		sleep_init(&s[i], &w, (uint64_t)(N - i) * 1000);
		fs[i] = &s[i].base;
	}
	join_all_init(&j, fs, N);
	CHECK_EQ(join_all_poll(&j, &t.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_pending(&w), N);
	for (int k = 1; k < N; k++) {
		CHECK_EQ(timer_wheel_advance(&w, (uint64_t)k * 1000), 1);
		CHECK_EQ(join_all_poll(&j, &t.cx), POLL_PENDING);
		CHECK(fs[N - k] == NULL);
		CHECK(fs[0] != NULL);
	}
	CHECK_EQ(timer_wheel_advance(&w, N * 1000), 1);
	CHECK_EQ(join_all_poll(&j, &t.cx), POLL_READY);
	CHECK_EQ(atomic_load(&t.wakes), N);
	join_all_drop(&j);
	CHECK_EQ(tw_live(&t), 0);
}

TEST(join_all_drop_cancels_rest)
{
	struct timer_wheel w;
	struct sleep s[3];
	struct future *fs[3];
	struct join_all j;
	struct tw t;

	tw_init(&t, 1);
	timer_wheel_init_shift(&w, 0, 0);
	for (int i = 0; i < 3; i++) {
		sleep_init(&s[i], &w, 100 * (uint64_t)(i + 1));
		fs[i] = &s[i].base;
	}
	join_all_init(&j, fs, 3);
	CHECK_EQ(join_all_poll(&j, &t.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_advance(&w, 100), 1);
	CHECK_EQ(join_all_poll(&j, &t.cx), POLL_PENDING);
	future_drop(&j.base);
	CHECK_EQ(timer_wheel_pending(&w), 0);
	CHECK_EQ(tw_live(&t), 0);
}

TEST(join_all_empty_is_ready)
{
	struct join_all j;
	struct context cx = { waker_noop() };
	join_all_init(&j, NULL, 0);
	CHECK_EQ(join_all_poll(&j, &cx), POLL_READY);
}

TEST(select2_first_ready_wins_loser_dropped)
{
	struct gate a, b;
	struct select2 s;
	struct tw t;

	tw_init(&t, 1);
	gate_init(&a);
	gate_init(&b);
	select2_init(&s, &a.base, &b.base);
	CHECK_EQ(select2_poll(&s, &t.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&t.clones), 2);
	gate_open(&b);
	CHECK_EQ(select2_poll(&s, &t.cx), POLL_READY);
	CHECK_EQ(s.winner, 1);
	CHECK_EQ(a.drops, 1);                    /* loser dropped at once */
	CHECK_EQ(b.drops, 0);
	select2_drop(&s);
	CHECK_EQ(a.drops, 1);                    /* not twice */
	CHECK_EQ(tw_live(&t), 0);
}

TEST(select2_biased_to_first)
{
	struct gate a, b;
	struct select2 s;
	struct tw t;

	tw_init(&t, 1);
	gate_init(&a);
	gate_init(&b);
	a.open = b.open = 1;
	select2_init(&s, &a.base, &b.base);
	CHECK_EQ(select2_poll(&s, &t.cx), POLL_READY);
	CHECK_EQ(s.winner, 0);
	CHECK_EQ(b.polls, 0);
	CHECK_EQ(b.drops, 1);
}

/* select2(recv, sleep): the timer wins, and the dropped receive loses
 * nothing: a value sent later is still there. */
TEST(select2_recv_or_sleep)
{
	struct timer_wheel w;
	struct sleep sl;
	struct oneshot o;
	struct oneshot_recv r;
	struct select2 s;
	int slot, out = 0;
	struct tw t;

	tw_init(&t, 1);
	timer_wheel_init_shift(&w, 0, 0);
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &out);
	sleep_init(&sl, &w, 500);
	select2_init(&s, &r.base, &sl.base);
	CHECK_EQ(select2_poll(&s, &t.cx), POLL_PENDING);
	CHECK_EQ(timer_wheel_advance(&w, 500), 1);
	CHECK_EQ(select2_poll(&s, &t.cx), POLL_READY);
	CHECK_EQ(s.winner, 1);
	CHECK_EQ(tw_live(&t), 0);
	CHECK_EQ(oneshot_send(&o, &(int){ 4 }), SYNC_OK);
	CHECK_EQ(oneshot_try_recv(&o, &out), SYNC_OK);
	CHECK_EQ(out, 4);
	select2_drop(&s);
	CHECK_EQ(tw_live(&t), 0);
}

TEST(select2_drop_before_ready_drops_both)
{
	struct gate a, b;
	struct select2 s;
	struct tw t;

	tw_init(&t, 1);
	gate_init(&a);
	gate_init(&b);
	select2_init(&s, &a.base, &b.base);
	CHECK_EQ(select2_poll(&s, &t.cx), POLL_PENDING);
	future_drop(&s.base);
	CHECK_EQ(a.drops, 1);
	CHECK_EQ(b.drops, 1);
	CHECK_EQ(tw_live(&t), 0);
}

/* Host tests of notify: permits, FIFO notify_one, notify_all generations, drop forwarding. */
#include <pthread.h>
#include <sched.h>

#include "notify.h"
#include "test.h"
#include "test_wakers.h"

TEST(notify_one_without_waiter_stores_one_permit)
{
	struct notify n;
	struct notified f1, f2;
	struct tw a;

	tw_init(&a, 1);
	notify_init(&n);
	notify_one(&n);
	notify_one(&n);                         /* permits do not add up */
	notified_init(&f1, &n);
	CHECK_EQ(notified_poll(&f1, &a.cx), POLL_READY);
	CHECK_EQ(atomic_load(&a.clones), 0);
	notified_init(&f2, &n);
	CHECK_EQ(notified_poll(&f2, &a.cx), POLL_PENDING);
	notified_drop(&f2);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(notify_one_wakes_waiters_fifo)
{
	struct notify n;
	struct notified f[3];
	struct tw t[3];

	tw_log_reset();
	notify_init(&n);
	for (int i = 0; i < 3; i++) {
		tw_init(&t[i], i);
		notified_init(&f[i], &n);
		CHECK_EQ(notified_poll(&f[i], &t[i].cx), POLL_PENDING);
	}
	notify_one(&n);
	CHECK_STR(tw_log(), "0");
	CHECK_EQ(notified_poll(&f[1], &t[1].cx), POLL_PENDING);
	CHECK_EQ(notified_poll(&f[0], &t[0].cx), POLL_READY);
	notify_one(&n);
	notify_one(&n);
	CHECK_STR(tw_log(), "0,1,2");
	CHECK_EQ(notified_poll(&f[2], &t[2].cx), POLL_READY);
	CHECK_EQ(notified_poll(&f[1], &t[1].cx), POLL_READY);
	CHECK_EQ(n.permit, 0);
	for (int i = 0; i < 3; i++) {
		notified_drop(&f[i]);                /* after Ready: nothing */
		CHECK_EQ(tw_live(&t[i]), 0);
	}
	CHECK_EQ(n.permit, 0);
}

/* notify_all reaches futures created before it, polled or not, stores
 * no permit, and more waiters than a wake batch holds are all woken. */
TEST(notify_all_wakes_everyone_created_before)
{
	enum { N = 20 };
	struct notify n;
	struct notified f[N], late, unpolled;
	struct tw t[N], b;

	tw_init(&b, 99);
	notify_init(&n);
	for (int i = 0; i < N; i++) {
		tw_init(&t[i], i);
		notified_init(&f[i], &n);
		CHECK_EQ(notified_poll(&f[i], &t[i].cx), POLL_PENDING);
	}
	notified_init(&unpolled, &n);
	notify_all(&n);
	notified_init(&late, &n);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(atomic_load(&t[i].wakes), 1);
		CHECK_EQ(notified_poll(&f[i], &t[i].cx), POLL_READY);
		CHECK_EQ(tw_live(&t[i]), 0);
	}
	CHECK_EQ(notified_poll(&unpolled, &b.cx), POLL_READY);
	CHECK_EQ(notified_poll(&late, &b.cx), POLL_PENDING);
	CHECK_EQ(n.permit, 0);
	notified_drop(&late);
	CHECK_EQ(tw_live(&b), 0);
}

/* A notify_one that picked a future which is then dropped unobserved is
 * passed to the next waiter, or becomes the permit. */
TEST(notify_dropped_notified_forwards)
{
	struct notify n;
	struct notified a, b, c;
	struct tw ta, tb, tc;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	tw_init(&tc, 3);
	tw_log_reset();
	notify_init(&n);
	notified_init(&a, &n);
	notified_init(&b, &n);
	CHECK_EQ(notified_poll(&a, &ta.cx), POLL_PENDING);
	CHECK_EQ(notified_poll(&b, &tb.cx), POLL_PENDING);
	notify_one(&n);
	future_drop(&a.base);
	CHECK_STR(tw_log(), "1,2");
	CHECK_EQ(notified_poll(&b, &tb.cx), POLL_READY);
	/* nobody else waits: the forwarded notification becomes the permit */
	notified_init(&a, &n);
	CHECK_EQ(notified_poll(&a, &ta.cx), POLL_PENDING);
	notify_one(&n);
	notified_drop(&a);
	CHECK_EQ(n.permit, 1);
	notified_init(&c, &n);
	CHECK_EQ(notified_poll(&c, &tc.cx), POLL_READY);
	CHECK_EQ(tw_live(&ta), 0);
	CHECK_EQ(tw_live(&tb), 0);
	CHECK_EQ(tw_live(&tc), 0);
}

TEST(notify_dropped_waiter_leaves_queue)
{
	struct notify n;
	struct notified a, b;
	struct tw ta, tb;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	tw_log_reset();
	notify_init(&n);
	notified_init(&a, &n);
	notified_init(&b, &n);
	CHECK_EQ(notified_poll(&a, &ta.cx), POLL_PENDING);
	CHECK_EQ(notified_poll(&b, &tb.cx), POLL_PENDING);
	notified_drop(&a);
	CHECK_EQ(tw_live(&ta), 0);
	notify_one(&n);
	CHECK_STR(tw_log(), "2");
	CHECK_EQ(notified_poll(&b, &tb.cx), POLL_READY);
	CHECK_EQ(tw_live(&tb), 0);
}

enum { PP_ROUNDS = 20000 };

struct pp_arg {
	struct notify *mine, *theirs;
	struct tw t;
	int first;
};

/* Wait on `mine`, then notify `theirs`: a wake-up lost anywhere hangs. */
static void *pp_thread(void *p)
{
	struct pp_arg *a = p;
	struct notified f;
	for (int i = 0; i < PP_ROUNDS; i++) {
		if (a->first)
			notify_one(a->theirs);
		notified_init(&f, a->mine);
		for (;;) {
			int before = tw_woken(&a->t);
			if (notified_poll(&f, &a->t.cx) == POLL_READY)
				break;
			while (tw_woken(&a->t) == before)
				sched_yield();
		}
		if (!a->first)
			notify_one(a->theirs);
	}
	return NULL;
}

TEST(notify_threads_ping_pong_loses_nothing)
{
	struct notify ab, ba;
	struct pp_arg a, b;
	pthread_t ta, tb;

	notify_init(&ab);
	notify_init(&ba);
	a.mine = &ba;
	a.theirs = &ab;
	a.first = 1;
	tw_init(&a.t, 1);
	b.mine = &ab;
	b.theirs = &ba;
	b.first = 0;
	tw_init(&b.t, 2);
	pthread_create(&ta, NULL, pp_thread, &a);
	pthread_create(&tb, NULL, pp_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(ab.permit + ba.permit, 0);
	CHECK_EQ(tw_live(&a.t), 0);
	CHECK_EQ(tw_live(&b.t), 0);
}

/* Host tests of the async mutex: FIFO handoff, no barging, cancel-safety, threads. */
#include <pthread.h>
#include <sched.h>

#include "mutex.h"
#include "test.h"
#include "test_wakers.h"

TEST(mutex_uncontended_needs_no_waker)
{
	struct mutex m;
	struct mutex_lock l;
	struct tw a;

	tw_init(&a, 1);
	mutex_init(&m);
	mutex_lock_init(&l, &m);
	CHECK_EQ(mutex_lock_poll(&l, &a.cx), POLL_READY);
	CHECK_EQ(atomic_load(&a.clones), 0);
	CHECK(!mutex_try_lock(&m));
	mutex_lock_drop(&l);                    /* owner keeps the lock */
	CHECK(!mutex_try_lock(&m));
	mutex_unlock(&m);
	CHECK(mutex_try_lock(&m));
	mutex_unlock(&m);
}

/* Waiters get the lock in arrival order; a newcomer cannot barge in
 * while the lock is being handed over. */
TEST(mutex_fifo_handoff_no_barging)
{
	struct mutex m;
	struct mutex_lock l[3], barger;
	struct tw t[3], tb;

	tw_log_reset();
	tw_init(&tb, 9);
	mutex_init(&m);
	CHECK(mutex_try_lock(&m));
	for (int i = 0; i < 3; i++) {
		tw_init(&t[i], i);
		mutex_lock_init(&l[i], &m);
		CHECK_EQ(mutex_lock_poll(&l[i], &t[i].cx), POLL_PENDING);
	}
	mutex_unlock(&m);
	CHECK_STR(tw_log(), "0");
	CHECK(!mutex_try_lock(&m));             /* handed to 0, still locked */
	mutex_lock_init(&barger, &m);
	CHECK_EQ(mutex_lock_poll(&barger, &tb.cx), POLL_PENDING);
	CHECK_EQ(mutex_lock_poll(&l[2], &t[2].cx), POLL_PENDING);
	CHECK_EQ(mutex_lock_poll(&l[0], &t[0].cx), POLL_READY);
	mutex_unlock(&m);
	CHECK_EQ(mutex_lock_poll(&l[1], &t[1].cx), POLL_READY);
	mutex_unlock(&m);
	CHECK_EQ(mutex_lock_poll(&l[2], &t[2].cx), POLL_READY);
	mutex_unlock(&m);
	CHECK_EQ(mutex_lock_poll(&barger, &tb.cx), POLL_READY);
	mutex_unlock(&m);
	CHECK_STR(tw_log(), "0,1,2,9");
	for (int i = 0; i < 3; i++)
		CHECK_EQ(tw_live(&t[i]), 0);
	CHECK_EQ(tw_live(&tb), 0);
}

/* A lock future dropped after being handed the lock passes it on; one
 * dropped while waiting just leaves. */
TEST(mutex_drop_passes_lock_on)
{
	struct mutex m;
	struct mutex_lock a, b, c;
	struct tw ta, tb, tc;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	tw_init(&tc, 3);
	tw_log_reset();
	mutex_init(&m);
	CHECK(mutex_try_lock(&m));
	mutex_lock_init(&a, &m);
	mutex_lock_init(&b, &m);
	mutex_lock_init(&c, &m);
	CHECK_EQ(mutex_lock_poll(&a, &ta.cx), POLL_PENDING);
	CHECK_EQ(mutex_lock_poll(&b, &tb.cx), POLL_PENDING);
	CHECK_EQ(mutex_lock_poll(&c, &tc.cx), POLL_PENDING);
	future_drop(&b.base);                   /* waiting: leaves */
	mutex_unlock(&m);                       /* -> a */
	future_drop(&a.base);                   /* granted, unobserved: -> c */
	CHECK_STR(tw_log(), "1,3");
	CHECK_EQ(mutex_lock_poll(&c, &tc.cx), POLL_READY);
	mutex_unlock(&m);
	CHECK(mutex_try_lock(&m));
	mutex_unlock(&m);
	CHECK_EQ(tw_live(&ta), 0);
	CHECK_EQ(tw_live(&tb), 0);
	CHECK_EQ(tw_live(&tc), 0);
}

enum { MT_ROUNDS = 20000 };

struct mt_arg {
	struct mutex *m;
	long *counter;
	int id;
	struct tw t;
};

static void *mt_worker(void *p)
{
	struct mt_arg *a = p;
	struct mutex_lock l;
	for (int i = 0; i < MT_ROUNDS; i++) {
		mutex_lock_init(&l, a->m);
		for (;;) {
			int before = tw_woken(&a->t);
			if (mutex_lock_poll(&l, &a->t.cx) == POLL_READY)
				break;
			while (tw_woken(&a->t) == before)
				sched_yield();
		}
		long v = *a->counter;          /* non-atomic: the mutex guards it */
		if (i % 64 == 0)
			sched_yield();
		*a->counter = v + 1;
		mutex_unlock(a->m);
	}
	return NULL;
}

TEST(mutex_threads_exclusive)
{
	struct mutex m;
	long counter = 0;
	struct mt_arg a[3];
	pthread_t th[3];

	mutex_init(&m);
	for (int k = 0; k < 3; k++) {
		a[k].m = &m;
		a[k].counter = &counter;
		a[k].id = k;
		tw_init(&a[k].t, k);
		pthread_create(&th[k], NULL, mt_worker, &a[k]);
	}
	for (int k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	CHECK_EQ(counter, 3 * MT_ROUNDS);
	for (int k = 0; k < 3; k++)
		CHECK_EQ(tw_live(&a[k].t), 0);
	CHECK(mutex_try_lock(&m));
	mutex_unlock(&m);
}

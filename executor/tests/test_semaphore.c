/* Host tests of the semaphore: FIFO grants, no overtaking, cancel-safety. */
#include <pthread.h>
#include <sched.h>

#include "semaphore.h"
#include "test.h"
#include "test_wakers.h"

TEST(sem_acquire_release_counts)
{
	struct semaphore s;
	struct sem_acquire a;
	struct tw t;

	tw_init(&t, 1);
	sem_init(&s, 3);
	sem_acquire_init(&a, &s, 2);
	CHECK_EQ(sem_acquire_poll(&a, &t.cx), POLL_READY);
	CHECK_EQ(sem_available(&s), 1);
	CHECK(!sem_try_acquire(&s, 2));
	CHECK(sem_try_acquire(&s, 1));
	sem_release(&s, 3);
	CHECK_EQ(sem_available(&s), 3);
	CHECK_EQ(atomic_load(&t.clones), 0);
}

/* A big request at the head is not overtaken by small ones; a release
 * serves as many waiters as fit, in order. */
TEST(sem_fifo_big_request_not_starved)
{
	struct semaphore s;
	struct sem_acquire big, small1, small2;
	struct tw tb, t1, t2;

	tw_init(&tb, 1);
	tw_init(&t1, 2);
	tw_init(&t2, 3);
	tw_log_reset();
	sem_init(&s, 1);
	sem_acquire_init(&big, &s, 3);
	sem_acquire_init(&small1, &s, 1);
	sem_acquire_init(&small2, &s, 1);
	CHECK_EQ(sem_acquire_poll(&big, &tb.cx), POLL_PENDING);
	CHECK_EQ(sem_acquire_poll(&small1, &t1.cx), POLL_PENDING);   /* 1 free, but queued */
	CHECK(!sem_try_acquire(&s, 1));
	CHECK_EQ(sem_acquire_poll(&small2, &t2.cx), POLL_PENDING);
	sem_release(&s, 1);
	CHECK_STR(tw_log(), "");
	sem_release(&s, 2);                    /* 4 free: big (3), small1 (1) */
	CHECK_STR(tw_log(), "1,2");
	CHECK_EQ(sem_available(&s), 0);
	CHECK_EQ(sem_acquire_poll(&big, &tb.cx), POLL_READY);
	CHECK_EQ(sem_acquire_poll(&small1, &t1.cx), POLL_READY);
	CHECK_EQ(sem_acquire_poll(&small2, &t2.cx), POLL_PENDING);
	sem_release(&s, 3);
	CHECK_STR(tw_log(), "1,2,3");
	CHECK_EQ(sem_acquire_poll(&small2, &t2.cx), POLL_READY);
	CHECK_EQ(sem_available(&s), 2);
	CHECK_EQ(tw_live(&tb), 0);
	CHECK_EQ(tw_live(&t1), 0);
	CHECK_EQ(tw_live(&t2), 0);
}

/* Dropping the blocking head lets the next waiters through; dropping a
 * granted-but-unobserved acquire returns its permits. */
TEST(sem_drop_is_cancel_safe)
{
	struct semaphore s;
	struct sem_acquire big, small, other;
	struct tw tb, ts, to;

	tw_init(&tb, 1);
	tw_init(&ts, 2);
	tw_init(&to, 3);
	tw_log_reset();
	sem_init(&s, 2);
	sem_acquire_init(&big, &s, 5);
	sem_acquire_init(&small, &s, 2);
	CHECK_EQ(sem_acquire_poll(&big, &tb.cx), POLL_PENDING);
	CHECK_EQ(sem_acquire_poll(&small, &ts.cx), POLL_PENDING);
	future_drop(&big.base);
	CHECK_STR(tw_log(), "2");
	CHECK_EQ(sem_available(&s), 0);
	sem_acquire_init(&other, &s, 2);
	CHECK_EQ(sem_acquire_poll(&other, &to.cx), POLL_PENDING);
	future_drop(&small.base);              /* granted, never polled */
	CHECK_STR(tw_log(), "2,3");
	CHECK_EQ(sem_acquire_poll(&other, &to.cx), POLL_READY);
	sem_release(&s, 2);
	CHECK_EQ(sem_available(&s), 2);
	CHECK_EQ(tw_live(&tb), 0);
	CHECK_EQ(tw_live(&ts), 0);
	CHECK_EQ(tw_live(&to), 0);
}

/* More grants in one release than a wake batch holds. */
TEST(sem_release_wakes_many)
{
	enum { N = 19 };
	struct semaphore s;
	struct sem_acquire a[N];
	struct tw t[N];

	sem_init(&s, 0);
	for (int i = 0; i < N; i++) {
		tw_init(&t[i], i);
		sem_acquire_init(&a[i], &s, 1);
		CHECK_EQ(sem_acquire_poll(&a[i], &t[i].cx), POLL_PENDING);
	}
	sem_release(&s, N + 1);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(atomic_load(&t[i].wakes), 1);
		CHECK_EQ(sem_acquire_poll(&a[i], &t[i].cx), POLL_READY);
		CHECK_EQ(tw_live(&t[i]), 0);
	}
	CHECK_EQ(sem_available(&s), 1);
}

enum { MT_ROUNDS = 5000, MT_THREADS = 3, MT_PERMITS = 2 };

struct mt_arg {
	struct semaphore *s;
	atomic_int *inside;
	atomic_int *worst;
	struct tw t;
};

static void *mt_worker(void *p)
{
	struct mt_arg *a = p;
	struct sem_acquire acq;
	for (int i = 0; i < MT_ROUNDS; i++) {
		sem_acquire_init(&acq, a->s, 1);
		for (;;) {
			int before = tw_woken(&a->t);
			if (sem_acquire_poll(&acq, &a->t.cx) == POLL_READY)
				break;
			while (tw_woken(&a->t) == before)
				sched_yield();
		}
		int now = atomic_fetch_add(a->inside, 1) + 1;
		int w = atomic_load(a->worst);
		while (now > w && !atomic_compare_exchange_weak(a->worst, &w, now))
			;
		if (i % 32 == 0)
			sched_yield();
		atomic_fetch_sub(a->inside, 1);
		sem_release(a->s, 1);
	}
	return NULL;
}

/* Three threads share two permits: never more than two inside. */
TEST(sem_threads_bound_concurrency)
{
	struct semaphore s;
	atomic_int inside, worst;
	struct mt_arg a[MT_THREADS];
	pthread_t th[MT_THREADS];

	atomic_init(&inside, 0);
	atomic_init(&worst, 0);
	sem_init(&s, MT_PERMITS);
	for (int k = 0; k < MT_THREADS; k++) {
		a[k].s = &s;
		a[k].inside = &inside;
		a[k].worst = &worst;
		tw_init(&a[k].t, k);
		pthread_create(&th[k], NULL, mt_worker, &a[k]);
	}
	for (int k = 0; k < MT_THREADS; k++)
		pthread_join(th[k], NULL);
	CHECK(atomic_load(&worst) <= MT_PERMITS);
	CHECK(atomic_load(&worst) >= 1);
	CHECK_EQ(sem_available(&s), MT_PERMITS);
	for (int k = 0; k < MT_THREADS; k++)
		CHECK_EQ(tw_live(&a[k].t), 0);
}

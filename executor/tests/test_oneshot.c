/* Host tests of the oneshot channel: delivery, close semantics, waker balance. */
#include <pthread.h>
#include <sched.h>

#include "oneshot.h"
#include "test.h"
#include "test_wakers.h"

TEST(oneshot_send_before_recv_needs_no_waker)
{
	struct oneshot o;
	struct oneshot_recv r;
	int slot, out = 0;
	struct tw a;

	tw_init(&a, 1);
	oneshot_init(&o, &slot, sizeof(slot));
	CHECK_EQ(oneshot_send(&o, &(int){ 42 }), SYNC_OK);
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_READY);
	CHECK_EQ(r.result, SYNC_OK);
	CHECK_EQ(out, 42);
	CHECK_EQ(atomic_load(&a.clones), 0);
	/* the value is gone: a second receive reports closed */
	CHECK_EQ(oneshot_try_recv(&o, &out), SYNC_CLOSED);
}

TEST(oneshot_recv_waits_then_send_wakes)
{
	struct oneshot o;
	struct oneshot_recv r;
	int slot, out = 0;
	struct tw a;

	tw_init(&a, 1);
	tw_log_reset();
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_PENDING);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&a.clones), 1);   /* same waker: not cloned again */
	CHECK_EQ(oneshot_try_recv(&o, &out), SYNC_EMPTY);
	CHECK_EQ(tw_woken(&a), 0);
	CHECK_EQ(oneshot_send(&o, &(int){ 7 }), SYNC_OK);
	CHECK_STR(tw_log(), "1");
	CHECK_EQ(atomic_load(&a.wakes), 1);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_READY);
	CHECK_EQ(out, 7);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(oneshot_send(&o, &(int){ 8 }), SYNC_CLOSED);
}

TEST(oneshot_sender_drop_closes)
{
	struct oneshot o;
	struct oneshot_recv r;
	int slot, out = -1;
	struct tw a;

	tw_init(&a, 1);
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_PENDING);
	oneshot_sender_drop(&o);
	CHECK_EQ(atomic_load(&a.wakes), 1);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_READY);
	CHECK_EQ(r.result, SYNC_CLOSED);
	CHECK_EQ(out, -1);
	CHECK_EQ(tw_live(&a), 0);
}

TEST(oneshot_sender_drop_after_send_keeps_value)
{
	struct oneshot o;
	int slot, out = 0;

	oneshot_init(&o, &slot, sizeof(slot));
	CHECK_EQ(oneshot_send(&o, &(int){ 5 }), SYNC_OK);
	oneshot_sender_drop(&o);
	CHECK_EQ(oneshot_send(&o, &(int){ 6 }), SYNC_CLOSED);
	CHECK_EQ(oneshot_try_recv(&o, &out), SYNC_OK);
	CHECK_EQ(out, 5);
}

TEST(oneshot_receiver_drop_fails_send_and_drops_waker)
{
	struct oneshot o;
	struct oneshot_recv r;
	int slot, out;
	struct tw a;

	tw_init(&a, 1);
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_PENDING);
	oneshot_receiver_drop(&o);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(tw_woken(&a), 0);
	CHECK_EQ(oneshot_send(&o, &(int){ 1 }), SYNC_CLOSED);
}

TEST(oneshot_recv_future_drop_keeps_channel)
{
	struct oneshot o;
	struct oneshot_recv r;
	int slot, out = 0;
	struct tw a, b;

	tw_init(&a, 1);
	tw_init(&b, 2);
	tw_log_reset();
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(future_poll(&r.base, &a.cx), POLL_PENDING);
	future_drop(&r.base);                  /* e.g. lost a select2 */
	CHECK_EQ(tw_live(&a), 0);
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(oneshot_recv_poll(&r, &b.cx), POLL_PENDING);
	CHECK_EQ(oneshot_send(&o, &(int){ 9 }), SYNC_OK);
	CHECK_STR(tw_log(), "2");
	CHECK_EQ(oneshot_recv_poll(&r, &b.cx), POLL_READY);
	CHECK_EQ(out, 9);
	CHECK_EQ(tw_live(&b), 0);
	CHECK_EQ(tw_woken(&a), 0);
}

TEST(oneshot_waker_moves_to_new_task)
{
	struct oneshot o;
	struct oneshot_recv r;
	int slot, out;
	struct tw a, b;

	tw_init(&a, 1);
	tw_init(&b, 2);
	tw_log_reset();
	oneshot_init(&o, &slot, sizeof(slot));
	oneshot_recv_init(&r, &o, &out);
	CHECK_EQ(oneshot_recv_poll(&r, &a.cx), POLL_PENDING);
	CHECK_EQ(oneshot_recv_poll(&r, &b.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&a.drops), 1);
	CHECK_EQ(oneshot_send(&o, &(int){ 3 }), SYNC_OK);
	CHECK_STR(tw_log(), "2");
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(tw_live(&b), 0);
}

/* A value bigger than a word is copied whole. */
TEST(oneshot_struct_value)
{
	struct big { long a, b, c; } slot, out = { 0, 0, 0 };
	struct oneshot o;

	oneshot_init(&o, &slot, sizeof(slot));
	CHECK_EQ(oneshot_send(&o, &(struct big){ 1, 2, 3 }), SYNC_OK);
	CHECK_EQ(oneshot_try_recv(&o, &out), SYNC_OK);
	CHECK_EQ(out.a + out.b * 10 + out.c * 100, 321);
}

static void *oneshot_sender_thread(void *p)
{
	struct oneshot *o = p;
	for (int i = 0; i < 1000; i++)
		sched_yield();
	oneshot_send(o, &(int){ 77 });
	return NULL;
}

/* Send from another thread while the receiver polls: never lost. */
TEST(oneshot_cross_thread)
{
	for (int round = 0; round < 20; round++) {
		struct oneshot o;
		struct oneshot_recv r;
		int slot, out = 0;
		struct tw a;
		pthread_t th;

		tw_init(&a, 1);
		oneshot_init(&o, &slot, sizeof(slot));
		oneshot_recv_init(&r, &o, &out);
		pthread_create(&th, NULL, oneshot_sender_thread, &o);
		for (;;) {
			int before = tw_woken(&a);
			if (oneshot_recv_poll(&r, &a.cx) == POLL_READY)
				break;
			while (tw_woken(&a) == before)
				sched_yield();
		}
		pthread_join(th, NULL);
		CHECK_EQ(out, 77);
		CHECK_EQ(tw_live(&a), 0);
	}
}

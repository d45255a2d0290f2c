/* Host tests of the bounded mpsc channel: FIFO senders, close/drop semantics, threads. */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "mpsc.h"
#include "test.h"
#include "test_wakers.h"

TEST(mpsc_cap1_send_recv_sequence)
{
	struct mpsc c;
	int store[1], out = 0;
	struct mpsc_send s1, s2;
	struct mpsc_recv r;
	struct tw tx, rx;

	tw_init(&tx, 1);
	tw_init(&rx, 2);
	tw_log_reset();
	mpsc_init(&c, store, sizeof(int), 1);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_PENDING);      /* empty */
	mpsc_send_init(&s1, &c, &(int){ 10 });
	CHECK_EQ(mpsc_send_poll(&s1, &tx.cx), POLL_READY);       /* fast path */
	CHECK_EQ(s1.result, SYNC_OK);
	CHECK_EQ(atomic_load(&tx.clones), 0);
	CHECK_STR(tw_log(), "2");                                 /* rx woken */
	mpsc_send_init(&s2, &c, &(int){ 20 });
	CHECK_EQ(mpsc_send_poll(&s2, &tx.cx), POLL_PENDING);     /* full */
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(out, 10);
	CHECK_STR(tw_log(), "2,1");                               /* slot granted */
	CHECK_EQ(mpsc_len(&c), 0);
	CHECK_EQ(mpsc_send_poll(&s2, &tx.cx), POLL_READY);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
	CHECK_EQ(out, 20);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_EMPTY);
	CHECK_EQ(tw_live(&tx), 0);
	CHECK_EQ(tw_live(&rx), 0);
}

/* Waiting senders are served in arrival order, and try_send may not
 * overtake them. */
TEST(mpsc_senders_fifo_no_overtaking)
{
	struct mpsc c;
	int store[2], out;
	struct mpsc_send s[3];
	struct tw t[3];

	tw_log_reset();
	mpsc_init(&c, store, sizeof(int), 2);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 0 }), SYNC_OK);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 1 }), SYNC_OK);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 99 }), SYNC_FULL);
	static const int vals[3] = { 2, 3, 4 };
	for (int i = 0; i < 3; i++) {
		tw_init(&t[i], 10 + i);
		mpsc_send_init(&s[i], &c, &vals[i]);
		CHECK_EQ(mpsc_send_poll(&s[i], &t[i].cx), POLL_PENDING);
	}
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
	CHECK_EQ(out, 0);
	CHECK_STR(tw_log(), "10");
	/* a slot is reserved for sender 10: nobody else may take it */
	CHECK_EQ(mpsc_try_send(&c, &(int){ 99 }), SYNC_FULL);
	CHECK_EQ(mpsc_send_poll(&s[2], &t[2].cx), POLL_PENDING);
	CHECK_EQ(mpsc_send_poll(&s[0], &t[0].cx), POLL_READY);
	for (int expect = 1; expect <= 4; expect++) {
		CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
		CHECK_EQ(out, expect);
		if (expect == 1)
			CHECK_EQ(mpsc_send_poll(&s[1], &t[1].cx), POLL_READY);
		if (expect == 2)
			CHECK_EQ(mpsc_send_poll(&s[2], &t[2].cx), POLL_READY);
	}
	CHECK_STR(tw_log(), "10,11,12");
	for (int i = 0; i < 3; i++)
		CHECK_EQ(tw_live(&t[i]), 0);
}

TEST(mpsc_close_wakes_all_then_drains)
{
	struct mpsc c;
	int store[1], out = 0;
	struct mpsc_send s[2];
	struct mpsc_recv r;
	struct tw t[2], rx;

	tw_log_reset();
	tw_init(&rx, 9);
	mpsc_init(&c, store, sizeof(int), 1);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 5 }), SYNC_OK);
	for (int i = 0; i < 2; i++) {
		tw_init(&t[i], i);
		mpsc_send_init(&s[i], &c, &(int){ 6 });
		CHECK_EQ(mpsc_send_poll(&s[i], &t[i].cx), POLL_PENDING);
	}
	mpsc_close(&c);
	CHECK_STR(tw_log(), "0,1");
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(mpsc_send_poll(&s[i], &t[i].cx), POLL_READY);
		CHECK_EQ(s[i].result, SYNC_CLOSED);
		CHECK_EQ(tw_live(&t[i]), 0);
	}
	CHECK_EQ(mpsc_try_send(&c, &(int){ 7 }), SYNC_CLOSED);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);   /* buffered first */
	CHECK_EQ(r.result, SYNC_OK);
	CHECK_EQ(out, 5);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(r.result, SYNC_CLOSED);
	CHECK_EQ(atomic_load(&rx.clones), 0);
}

TEST(mpsc_close_wakes_waiting_receiver)
{
	struct mpsc c;
	int store[3], out;
	struct mpsc_recv r;
	struct tw rx;

	tw_init(&rx, 1);
	mpsc_init(&c, store, sizeof(int), 3);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_PENDING);
	mpsc_close(&c);
	CHECK_EQ(atomic_load(&rx.wakes), 1);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(r.result, SYNC_CLOSED);
	CHECK_EQ(tw_live(&rx), 0);
}

/* Dropping the receiver wakes blocked senders with CLOSED, including one
 * that already holds a reserved slot. */
TEST(mpsc_receiver_drop_wakes_senders)
{
	struct mpsc c;
	int store[1], out;
	struct mpsc_send s[2];
	struct tw t[2];

	tw_log_reset();
	mpsc_init(&c, store, sizeof(int), 1);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 1 }), SYNC_OK);
	for (int i = 0; i < 2; i++) {
		tw_init(&t[i], i);
		mpsc_send_init(&s[i], &c, &(int){ 2 });
		CHECK_EQ(mpsc_send_poll(&s[i], &t[i].cx), POLL_PENDING);
	}
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);     /* grants sender 0 */
	CHECK_STR(tw_log(), "0");
	mpsc_receiver_drop(&c);
	CHECK_STR(tw_log(), "0,1");
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(mpsc_send_poll(&s[i], &t[i].cx), POLL_READY);
		CHECK_EQ(s[i].result, SYNC_CLOSED);
		CHECK_EQ(tw_live(&t[i]), 0);
	}
	CHECK_EQ(c.reserved, 0);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 3 }), SYNC_CLOSED);
}

TEST(mpsc_last_sender_drop_closes_after_drain)
{
	struct mpsc c;
	int store[4], out = 0;
	struct mpsc_recv r;
	struct tw rx;

	tw_init(&rx, 1);
	mpsc_init(&c, store, sizeof(int), 4);
	mpsc_sender_clone(&c);                       /* two handles */
	CHECK_EQ(mpsc_try_send(&c, &(int){ 1 }), SYNC_OK);
	mpsc_sender_drop(&c);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(out, 1);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_PENDING);   /* one sender left */
	mpsc_sender_drop(&c);
	CHECK_EQ(atomic_load(&rx.wakes), 1);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(r.result, SYNC_CLOSED);
	CHECK_EQ(tw_live(&rx), 0);
}

/* A sender dropped after being granted a slot passes the slot on. */
TEST(mpsc_dropped_granted_sender_passes_slot)
{
	struct mpsc c;
	int store[1], out;
	struct mpsc_send a, b;
	struct tw ta, tb;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	tw_log_reset();
	mpsc_init(&c, store, sizeof(int), 1);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 0 }), SYNC_OK);
	mpsc_send_init(&a, &c, &(int){ 1 });
	mpsc_send_init(&b, &c, &(int){ 2 });
	CHECK_EQ(mpsc_send_poll(&a, &ta.cx), POLL_PENDING);
	CHECK_EQ(mpsc_send_poll(&b, &tb.cx), POLL_PENDING);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
	CHECK_STR(tw_log(), "1");
	future_drop(&a.base);                         /* never delivers */
	CHECK_STR(tw_log(), "1,2");
	CHECK_EQ(mpsc_send_poll(&b, &tb.cx), POLL_READY);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
	CHECK_EQ(out, 2);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_EMPTY);
	CHECK_EQ(tw_live(&ta), 0);
	CHECK_EQ(tw_live(&tb), 0);
}

/* A queued (not granted) sender dropped leaves the queue, nothing else. */
TEST(mpsc_dropped_waiting_sender_leaves_queue)
{
	struct mpsc c;
	int store[1], out;
	struct mpsc_send a, b;
	struct tw ta, tb;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	tw_log_reset();
	mpsc_init(&c, store, sizeof(int), 1);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 0 }), SYNC_OK);
	mpsc_send_init(&a, &c, &(int){ 1 });
	mpsc_send_init(&b, &c, &(int){ 2 });
	CHECK_EQ(mpsc_send_poll(&a, &ta.cx), POLL_PENDING);
	CHECK_EQ(mpsc_send_poll(&b, &tb.cx), POLL_PENDING);
	mpsc_send_drop(&a);
	CHECK_EQ(tw_live(&ta), 0);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
	CHECK_STR(tw_log(), "2");
	CHECK_EQ(mpsc_send_poll(&b, &tb.cx), POLL_READY);
	CHECK_EQ(tw_live(&tb), 0);
}

/* Two "tasks" bouncing a counter through two bounded(1) channels, driven
 * by hand in the order an executor would: the benchmark's shape. */
TEST(mpsc_ping_pong_cap1)
{
	struct mpsc ab, ba;
	int sab[1], sba[1], va = 0, vb = 0;
	struct mpsc_send s;
	struct mpsc_recv r;
	struct tw ta, tb;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	mpsc_init(&ab, sab, sizeof(int), 1);
	mpsc_init(&ba, sba, sizeof(int), 1);
	struct mpsc_recv rb;
	mpsc_recv_init(&rb, &ab, &vb);
	CHECK_EQ(mpsc_recv_poll(&rb, &tb.cx), POLL_PENDING);
	for (int i = 0; i < 1000; i++) {
		int woken_b = tw_woken(&tb);
		mpsc_send_init(&s, &ab, &va);
		CHECK_EQ(mpsc_send_poll(&s, &ta.cx), POLL_READY);
		CHECK_EQ(tw_woken(&tb), woken_b + 1);
		mpsc_recv_init(&r, &ba, &va);
		CHECK_EQ(mpsc_recv_poll(&r, &ta.cx), POLL_PENDING);
		CHECK_EQ(mpsc_recv_poll(&rb, &tb.cx), POLL_READY);
		CHECK_EQ(vb, i);
		vb++;
		mpsc_send_init(&s, &ba, &vb);
		CHECK_EQ(mpsc_send_poll(&s, &tb.cx), POLL_READY);
		mpsc_recv_init(&rb, &ab, &vb);
		CHECK_EQ(mpsc_recv_poll(&rb, &tb.cx), POLL_PENDING);
		CHECK_EQ(mpsc_recv_poll(&r, &ta.cx), POLL_READY);
		CHECK_EQ(va, i + 1);
	}
	mpsc_recv_drop(&rb);
	CHECK_EQ(tw_live(&ta), 0);
	CHECK_EQ(tw_live(&tb), 0);
	CHECK_EQ(atomic_load(&ta.wakes), 1000);
	/* one clone per wait, none wasted */
	CHECK_EQ(atomic_load(&ta.clones), 1000);
	CHECK_EQ(atomic_load(&tb.clones), 1001);
}

/* A receive that frees a slot while a sender waits must hand it over,
 * even on the receiver's lock-free path, and a new send future (whose
 * fast path does not look at the queue) must not take it. */
TEST(mpsc_recv_grants_slot_new_send_cannot_overtake)
{
	struct mpsc c;
	int store[1], out = 0;
	struct mpsc_send a, b;
	struct mpsc_recv r;
	struct tw ta, tb, rx;

	tw_init(&ta, 1);
	tw_init(&tb, 2);
	tw_init(&rx, 9);
	tw_log_reset();
	mpsc_init(&c, store, sizeof(int), 1);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 1 }), SYNC_OK);
	mpsc_send_init(&a, &c, &(int){ 2 });
	CHECK_EQ(mpsc_send_poll(&a, &ta.cx), POLL_PENDING);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(out, 1);
	CHECK_STR(tw_log(), "1");                    /* slot granted to a */
	mpsc_send_init(&b, &c, &(int){ 3 });
	CHECK_EQ(mpsc_send_poll(&b, &tb.cx), POLL_PENDING);   /* no overtaking */
	CHECK_EQ(mpsc_try_send(&c, &(int){ 4 }), SYNC_FULL);
	CHECK_EQ(mpsc_send_poll(&a, &ta.cx), POLL_READY);
	CHECK_EQ(a.result, SYNC_OK);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(out, 2);
	CHECK_STR(tw_log(), "1,2");
	CHECK_EQ(mpsc_send_poll(&b, &tb.cx), POLL_READY);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
	CHECK_EQ(out, 3);
	/* the queue is gone: the fast paths are open again */
	CHECK_EQ(mpsc_try_send(&c, &(int){ 5 }), SYNC_OK);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);
	CHECK_EQ(out, 5);
	CHECK_EQ(tw_live(&ta), 0);
	CHECK_EQ(tw_live(&tb), 0);
	CHECK_EQ(tw_live(&rx), 0);
}

/* A receive polled again: with the same waker nothing is cloned; with
 * another (the task moved) the old one is dropped unwoken and only the
 * new one is woken. */
TEST(mpsc_recv_repoll_same_then_moved_waker)
{
	struct mpsc c;
	int store[2], out = 0;
	struct mpsc_recv r;
	struct tw a, b;

	tw_init(&a, 1);
	tw_init(&b, 2);
	mpsc_init(&c, store, sizeof(int), 2);
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &a.cx), POLL_PENDING);
	CHECK_EQ(mpsc_recv_poll(&r, &a.cx), POLL_PENDING);
	CHECK_EQ(atomic_load(&a.clones), 1);
	CHECK_EQ(mpsc_recv_poll(&r, &b.cx), POLL_PENDING);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(atomic_load(&a.wakes), 0);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 7 }), SYNC_OK);
	CHECK_EQ(atomic_load(&b.wakes), 1);
	CHECK_EQ(atomic_load(&a.wakes), 0);
	CHECK_EQ(mpsc_recv_poll(&r, &b.cx), POLL_READY);
	CHECK_EQ(out, 7);
	/* a registered receive dropped: its waker is released */
	mpsc_recv_init(&r, &c, &out);
	CHECK_EQ(mpsc_recv_poll(&r, &a.cx), POLL_PENDING);
	CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_EMPTY);
	mpsc_recv_drop(&r);
	CHECK_EQ(tw_live(&a), 0);
	CHECK_EQ(tw_live(&b), 0);
	CHECK_EQ(mpsc_try_send(&c, &(int){ 8 }), SYNC_OK);   /* wakes nobody */
	CHECK_EQ(atomic_load(&a.wakes), 0);
}

/* After mpsc_close a sender holding a reservation still delivers, so an
 * empty channel is not yet "closed" for the receiver: it waits, and is
 * woken by the delivery (or by the reserved sender's drop). */
TEST(mpsc_close_waits_for_reserved_sender)
{
	for (int drop = 0; drop < 2; drop++) {
		struct mpsc c;
		int store[1], out = 0;
		struct mpsc_send a;
		struct mpsc_recv r;
		struct tw ta, rx;

		tw_init(&ta, 1);
		tw_init(&rx, 2);
		mpsc_init(&c, store, sizeof(int), 1);
		CHECK_EQ(mpsc_try_send(&c, &(int){ 1 }), SYNC_OK);
		mpsc_send_init(&a, &c, &(int){ 2 });
		CHECK_EQ(mpsc_send_poll(&a, &ta.cx), POLL_PENDING);
		CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_OK);   /* grants a */
		mpsc_close(&c);
		CHECK_EQ(mpsc_try_send(&c, &(int){ 3 }), SYNC_CLOSED);
		mpsc_recv_init(&r, &c, &out);
		CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_PENDING);
		CHECK_EQ(mpsc_try_recv(&c, &out), SYNC_EMPTY);
		if (drop) {
			mpsc_send_drop(&a);
		} else {
			CHECK_EQ(mpsc_send_poll(&a, &ta.cx), POLL_READY);
			CHECK_EQ(a.result, SYNC_OK);
		}
		CHECK_EQ(atomic_load(&rx.wakes), 1);
		CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
		if (!drop) {
			CHECK_EQ(r.result, SYNC_OK);
			CHECK_EQ(out, 2);
			mpsc_recv_init(&r, &c, &out);
			CHECK_EQ(mpsc_recv_poll(&r, &rx.cx), POLL_READY);
		}
		CHECK_EQ(r.result, SYNC_CLOSED);
		CHECK_EQ(tw_live(&ta), 0);
		CHECK_EQ(tw_live(&rx), 0);
	}
}

/* The fast paths are built for 8- and 4-byte elements and once for any
 * size: FIFO order across the ring's wrap-around for each, capacity 1-3. */
TEST(mpsc_element_sizes_wrap_in_order)
{
	static const size_t sizes[3] = { 4, 8, 12 };
	for (int k = 0; k < 3; k++) {
		for (uint32_t cap = 1; cap <= 3; cap++) {
			size_t n = sizes[k];
			unsigned char store[3 * 12], in[12], out[12];
			struct mpsc c;
			struct mpsc_send s;
			struct mpsc_recv r;
			struct tw t;
			uint32_t sent = 0, got = 0;

			tw_init(&t, 1);
			mpsc_init(&c, store, n, cap);
			for (int round = 0; round < 10; round++) {
				for (uint32_t i = 0; i < cap; i++, sent++) {
					memset(in, (int)(sent & 0xff), sizeof(in));
					mpsc_send_init(&s, &c, in);
					CHECK_EQ(mpsc_send_poll(&s, &t.cx), POLL_READY);
				}
				mpsc_send_init(&s, &c, in);
				CHECK_EQ(mpsc_send_poll(&s, &t.cx), POLL_PENDING);
				mpsc_send_drop(&s);
				for (uint32_t i = 0; i < cap; i++, got++) {
					memset(out, 0xee, sizeof(out));
					mpsc_recv_init(&r, &c, out);
					CHECK_EQ(mpsc_recv_poll(&r, &t.cx), POLL_READY);
					for (size_t b = 0; b < n; b++)
						CHECK_EQ(out[b], (unsigned char)(got & 0xff));
					if (n < sizeof(out))
						CHECK_EQ(out[n], 0xee);   /* no overrun */
				}
				mpsc_recv_init(&r, &c, out);
				CHECK_EQ(mpsc_recv_poll(&r, &t.cx), POLL_PENDING);
				mpsc_recv_drop(&r);
			}
			CHECK_EQ(tw_live(&t), 0);
		}
	}
}

enum { MT_ITEMS = 20000 };

struct mt_prod {
	struct mpsc *c;
	int id;
	struct tw t;
};

static void *mt_producer(void *p)
{
	struct mt_prod *pr = p;
	struct mpsc_send s;
	for (int i = 0; i < MT_ITEMS; i++) {
		int v = pr->id * MT_ITEMS + i;
		mpsc_send_init(&s, pr->c, &v);
		for (;;) {
			int before = tw_woken(&pr->t);
			if (mpsc_send_poll(&s, &pr->t.cx) == POLL_READY)
				break;
			while (tw_woken(&pr->t) == before)
				sched_yield();
		}
	}
	mpsc_sender_drop(pr->c);
	return NULL;
}

/* Two producer threads, one consumer (this thread), capacity 3. */
TEST(mpsc_threads_every_value_once_in_order)
{
	struct mpsc c;
	int store[3], out;
	struct mt_prod p[2];
	pthread_t th[2];
	struct mpsc_recv r;
	struct tw rx;
	int next[2] = { 0, 0 };

	tw_init(&rx, 100);
	mpsc_init(&c, store, sizeof(int), 3);
	mpsc_sender_clone(&c);
	for (int k = 0; k < 2; k++) {
		p[k].c = &c;
		p[k].id = k;
		tw_init(&p[k].t, k);
		pthread_create(&th[k], NULL, mt_producer, &p[k]);
	}
	for (;;) {
		mpsc_recv_init(&r, &c, &out);
		for (;;) {
			int before = tw_woken(&rx);
			if (mpsc_recv_poll(&r, &rx.cx) == POLL_READY)
				break;
			while (tw_woken(&rx) == before)
				sched_yield();
		}
		if (r.result == SYNC_CLOSED)
			break;
		int k = out / MT_ITEMS;
		CHECK(k == 0 || k == 1);
		CHECK_EQ(out % MT_ITEMS, next[k]);
		next[k]++;
	}
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	CHECK_EQ(next[0], MT_ITEMS);
	CHECK_EQ(next[1], MT_ITEMS);
	CHECK_EQ(tw_live(&rx), 0);
	CHECK_EQ(tw_live(&p[0].t), 0);
	CHECK_EQ(tw_live(&p[1].t), 0);
}

static uint64_t rnd_state;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(rnd_state >> 33) % n;
}

/*
 * Random interleavings of sends (poll, re-poll, drop), receives and a
 * final close, checked against a model: values come out in exactly the
 * order their sends completed with SYNC_OK, each exactly once; nothing
 * is lost when a waiting or reserved sender is dropped; every waker
 * clone is consumed.
 */
static int mpsc_random_run(uint64_t seed, uint32_t cap)
{
	enum { S = 6, OPS = 4000 };
	struct mpsc c;
	int store[8];
	struct mpsc_send s[S];
	int val[S], live[S];
	struct tw t[S], rx;
	static int sent[OPS * 2], got[OPS * 2];
	int nsent = 0, ngot = 0, next_val = 1, out;

	rnd_state = seed;
	mpsc_init(&c, store, sizeof(int), cap);
	tw_init(&rx, 100);
	for (int i = 0; i < S; i++) {
		tw_init(&t[i], i);
		live[i] = 0;
	}
	for (int op = 0; op < OPS; op++) {
		int i = (int)rnd(S);
		unsigned what = rnd(10);
		if (what < 5) {
			if (!live[i]) {
				val[i] = next_val++;
				mpsc_send_init(&s[i], &c, &val[i]);
				live[i] = 1;
			}
			if (mpsc_send_poll(&s[i], &t[i].cx) == POLL_READY) {
				if (s[i].result != SYNC_OK)
					return __LINE__;
				sent[nsent++] = val[i];
				live[i] = 0;
			}
		} else if (what < 6) {
			if (live[i]) {
				mpsc_send_drop(&s[i]);
				live[i] = 0;
			}
		} else {
			int r = mpsc_try_recv(&c, &out);
			if (r == SYNC_OK)
				got[ngot++] = out;
			else if (r != SYNC_EMPTY)
				return __LINE__;
		}
		if (mpsc_len(&c) + c.reserved > c.cap)
			return __LINE__;
		/* liveness: nobody waits while a slot sits unclaimed */
		if (!wait_list_empty(&c.send_waiters) && mpsc_len(&c) + c.reserved < c.cap)
			return __LINE__;
	}
	/* close: reserved senders may still deliver, the rest fail */
	mpsc_close(&c);
	for (int i = 0; i < S; i++) {
		if (!live[i])
			continue;
		if (mpsc_send_poll(&s[i], &t[i].cx) != POLL_READY)
			return __LINE__;
		if (s[i].result == SYNC_OK)
			sent[nsent++] = val[i];
	}
	struct mpsc_recv r;
	for (;;) {
		mpsc_recv_init(&r, &c, &out);
		if (mpsc_recv_poll(&r, &rx.cx) != POLL_READY)
			return __LINE__;
		if (r.result == SYNC_CLOSED)
			break;
		got[ngot++] = out;
	}
	if (ngot != nsent)
		return __LINE__;
	for (int k = 0; k < ngot; k++)
		if (got[k] != sent[k])
			return __LINE__;
	for (int i = 0; i < S; i++)
		if (tw_live(&t[i]) != 0)
			return __LINE__;
	return tw_live(&rx) == 0 ? 0 : __LINE__;
}

TEST(mpsc_random_matches_model)
{
	for (uint64_t seed = 1; seed <= 30; seed++)
		CHECK_EQ(mpsc_random_run(seed, 1 + (uint32_t)(seed % 4)), 0);
}

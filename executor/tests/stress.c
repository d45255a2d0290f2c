/* Multi-threaded stress: 4 workers, 100,000 cross-thread spawns, 1,000,000 cross-thread wakes. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "host/host.h"
#include "mpsc.h"
#include "task.h"

/*
 * The main thread (not a worker) spawns every task and performs every
 * wake.  Each task, when polled, hands a clone of its waker to the main
 * thread through a lock-free mailbox and returns Pending; the main thread
 * wakes it, often while the task is still inside that poll on a worker (the
 * SCHEDULED-while-RUNNING path).  After ROUNDS wakes the task completes.
 * Checked: each task completes exactly once, every wake causes a poll,
 * nothing is left live or allocated.  Counts can be lowered with argv
 * (tasks rounds) for quick runs; the defaults are the numbers.
 */
#define WORKERS 4
#define INFLIGHT 4000

struct node {
	struct node *next;
	struct waker w;
};

struct stask {
	struct future base;
	int id;
	int rounds;
	struct node node;
};

static struct node *_Atomic mbox;
static atomic_uint_fast64_t completed, polls;
static _Atomic unsigned char *done;

static enum poll stask_poll(struct future *f, struct context *cx)
{
	struct stask *s = (struct stask *)f;
	atomic_fetch_add_explicit(&polls, 1, memory_order_relaxed);
	if (s->rounds-- == 0) {
		atomic_fetch_add(&done[s->id], 1);
		atomic_fetch_add(&completed, 1);
		return POLL_READY;
	}
	s->node.w = waker_clone(cx->waker);
	struct node *h = atomic_load_explicit(&mbox, memory_order_relaxed);
	do
		s->node.next = h;
	while (!atomic_compare_exchange_weak_explicit(&mbox, &h, &s->node,
	                memory_order_release, memory_order_relaxed));
	return POLL_PENDING;
}

static const struct future_vtable stask_vt = { stask_poll, NULL };

/* Phase 2: pairs of tasks taking turns, each turn a wake of the peer from
 * inside a poll on whatever worker runs it (LIFO slot, stealing). */
#define PAIRS 2000
#define TURNS 100

struct pair {
	struct spin lock;
	int turn;
	int done[2];
	struct waker w[2];
};

static struct pair pairs[PAIRS];
static atomic_uint_fast64_t pair_wakes, pair_completed;

struct ptask {
	struct future base;
	struct pair *p;
	int side;
};

static enum poll ptask_poll(struct future *f, struct context *cx)
{
	struct ptask *t = (struct ptask *)f;
	struct pair *p = t->p;
	int s = t->side;
	for (;;) {
		unsigned long fl = spin_lock(&p->lock);
		if (p->turn != s) {
			struct waker old = WAKER_NONE;
			if (!waker_will_wake(&p->w[s], cx->waker)) {
				old = p->w[s];
				p->w[s] = WAKER_NONE;
			}
			spin_unlock(&p->lock, fl);
			waker_drop(&old);
			struct waker c = waker_clone(cx->waker);
			fl = spin_lock(&p->lock);
			if (p->turn == s || !waker_is_none(&p->w[s])) {
				spin_unlock(&p->lock, fl);
				waker_drop(&c);
				continue;	/* our turn came meanwhile */
			}
			p->w[s] = c;
			spin_unlock(&p->lock, fl);
			return POLL_PENDING;
		}
		p->turn = 1 - s;
		bool finished = ++p->done[s] == TURNS;
		struct waker peer = p->w[1 - s], mine = p->w[s];
		p->w[1 - s] = p->w[s] = WAKER_NONE;
		spin_unlock(&p->lock, fl);
		if (!waker_is_none(&peer))
			atomic_fetch_add_explicit(&pair_wakes, 1, memory_order_relaxed);
		waker_wake(&peer);
		waker_drop(&mine);
		if (finished) {
			atomic_fetch_add(&pair_completed, 1);
			return POLL_READY;
		}
	}
}

static const struct future_vtable ptask_vt = { ptask_poll, NULL };

TASK_POOL(stress_pool, struct stask, INFLIGHT + 64);

static struct executor ex;
static struct host_hooks hh;

/*
 * Phase 3: the fast paths, with a Ctrl-T printer thread running all the
 * while.  Parents (spawned from outside) spawn children from inside their
 * polls and join them: the children come from a pool smaller than the
 * number of parents, so allocations hit the per-worker spare slots, the
 * locked free list and the exhaustion sweep, and frees happen on whatever
 * worker a (possibly stolen) child completes on; every third child is
 * detached instead of joined, racing with its completion.  Some children
 * yield once, so they can be stolen and complete on another worker than
 * the one whose registry list holds them.  Meanwhile pairs of tasks
 * ping-pong through two bounded(1) mpsc channels.
 */
#define PARENTS 64
#define CHILDREN 200
#define MP_PAIRS 16
#define MP_ROUNDS 2000

struct kid {
	struct future base;
	int state;
	long v, out;
};

static enum poll kid_poll(struct future *f, struct context *cx)
{
	struct kid *k = (struct kid *)f;
	ASYNC_BEGIN(k);
	if (k->v % 5 == 0)
		YIELD(k, cx);
	k->out = k->v * 2;
	ASYNC_END(k);
}

static const struct future_vtable kid_vt = { kid_poll, NULL };

TASK_POOL(kid_pool, struct kid, PARENTS / 2);

struct parent {
	struct future base;
	int state;
	int id, i;
	long got, sum, expect;
	struct join_handle jh;
};

static atomic_int parents_done, parents_bad;
static atomic_uint_fast64_t kid_enomem;

static enum poll parent_poll(struct future *f, struct context *cx)
{
	struct parent *p = (struct parent *)f;
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < CHILDREN; p->i++) {
		for (;;) {
			struct kid k = { { &kid_vt }, 0, p->id * 1000L + p->i, 0 };
			struct task_desc d = TASK_DESC(k, out, "kid");
			p->jh.out = &p->got;
			if (task_spawn(&ex, &kid_pool.src, &d, &p->jh) == TASK_OK)
				break;
			atomic_fetch_add_explicit(&kid_enomem, 1, memory_order_relaxed);
			YIELD(p, cx);	/* every slot in use: let others finish */
		}
		if (p->i % 3 == 2) {
			join_handle_detach(&p->jh);
			continue;
		}
		AWAIT(p, join_handle_poll(&p->jh, cx));
		if (p->jh.result != JOIN_OK || p->got != (p->id * 1000L + p->i) * 2)
			atomic_fetch_add(&parents_bad, 1);
		p->sum += p->got;
	}
	if (p->sum != p->expect)
		atomic_fetch_add(&parents_bad, 1);
	atomic_fetch_add(&parents_done, 1);
	ASYNC_END(p);
}

static const struct future_vtable parent_vt = { parent_poll, NULL };

struct mp_pair {
	struct mpsc ping, pong;
	long ping_buf, pong_buf;
};

static struct mp_pair mp[MP_PAIRS];
static atomic_int mp_done, mp_bad;

struct player {
	struct future base;
	int state;
	bool serve;
	struct mp_pair *pp;
	long i, v;
	struct mpsc_send snd;
	struct mpsc_recv rcv;
};

static enum poll player_poll(struct future *f, struct context *cx)
{
	struct player *p = (struct player *)f;
	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < MP_ROUNDS; p->i++) {
		if (p->serve) {
			p->v = p->i;
			mpsc_send_init(&p->snd, &p->pp->ping, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
			mpsc_recv_init(&p->rcv, &p->pp->pong, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			if (p->rcv.result != SYNC_OK || p->v != p->i + 1)
				atomic_fetch_add(&mp_bad, 1);
		} else {
			mpsc_recv_init(&p->rcv, &p->pp->ping, &p->v);
			AWAIT(p, mpsc_recv_poll(&p->rcv, cx));
			if (p->rcv.result != SYNC_OK || p->v != p->i)
				atomic_fetch_add(&mp_bad, 1);
			p->v++;
			mpsc_send_init(&p->snd, &p->pp->pong, &p->v);
			AWAIT(p, mpsc_send_poll(&p->snd, cx));
		}
	}
	atomic_fetch_add(&mp_done, 1);
	ASYNC_END(p);
}

static const struct future_vtable player_vt = { player_poll, NULL };

TASK_POOL(p3_pool, struct player, PARENTS + 2 * MP_PAIRS);

static atomic_bool printer_stop;
static atomic_uint_fast64_t printed_lines;

static void sink(void *ctx, const char *str, size_t n)
{
	(void)ctx;
	(void)str;
	if (n && str[n - 1] == '\n')
		atomic_fetch_add_explicit(&printed_lines, 1, memory_order_relaxed);
}

static void *printer(void *arg)
{
	(void)arg;
	while (!atomic_load(&printer_stop)) {
		exec_print_tasks(&ex, sink, NULL);
		usleep(200);
	}
	return NULL;
}

/* Returns the number of problems found. */
static int phase3(void)
{
	pthread_t pr;
	int bad = 0;
	pthread_create(&pr, NULL, printer, NULL);
	for (int i = 0; i < MP_PAIRS; i++) {
		mpsc_init(&mp[i].ping, &mp[i].ping_buf, sizeof(long), 1);
		mpsc_init(&mp[i].pong, &mp[i].pong_buf, sizeof(long), 1);
		for (int side = 0; side < 2; side++) {
			struct player pl;
			memset(&pl, 0, sizeof(pl));
			pl.base.vtable = &player_vt;
			pl.serve = side == 0;
			pl.pp = &mp[i];
			struct task_desc d = TASK_DESC_VOID(pl, "player");
			if (task_spawn(&ex, &p3_pool.src, &d, NULL) != TASK_OK)
				bad++;
		}
	}
	for (int i = 0; i < PARENTS; i++) {
		struct parent p;
		memset(&p, 0, sizeof(p));
		p.base.vtable = &parent_vt;
		p.id = i;
		for (int k = 0; k < CHILDREN; k++)
			if (k % 3 != 2)
				p.expect += (i * 1000L + k) * 2;
		struct task_desc d = TASK_DESC_VOID(p, "parent");
		if (task_spawn(&ex, &p3_pool.src, &d, NULL) != TASK_OK)
			bad++;
	}
	while (atomic_load(&parents_done) < PARENTS || atomic_load(&mp_done) < 2 * MP_PAIRS)
		sched_yield();
	/* Detached children may still be finishing. */
	while (exec_live_tasks(&ex) != 0)
		sched_yield();
	atomic_store(&printer_stop, true);
	pthread_join(pr, NULL);
	bad += atomic_load(&parents_bad) + atomic_load(&mp_bad);
	if (task_pool_in_use(&kid_pool) != 0 || task_pool_in_use(&p3_pool) != 0 ||
	    task_pool_high_water(&kid_pool) > kid_pool.count)
		bad++;
	printf("stress: %d parents x %d children (pool of %zu, %llu spawns refused "
	       "while full), %d mpsc pairs x %d round trips, %llu Ctrl-T lines\n",
	       PARENTS, CHILDREN, kid_pool.count,
	       (unsigned long long)atomic_load(&kid_enomem), MP_PAIRS, MP_ROUNDS,
	       (unsigned long long)atomic_load(&printed_lines));
	return bad;
}

/*
 * Phase 4: the mpsc channel's lock-free receiver against locked senders,
 * on bare threads (no executor), for ThreadSanitizer.  Each round: MR_PROD
 * producer threads send their values in order with send futures and
 * try_send, and sometimes drop a waiting send (cancelled: it must never
 * be received); one consumer thread takes values with recv futures and
 * try_recv, sometimes dropping a waiting recv.  The round ends one of
 * three ways: a third thread calls mpsc_close at a random moment, the
 * consumer calls mpsc_receiver_drop after some values, or the producers
 * drop their sender handles when done.  Checked: each producer's values
 * arrive in order, none twice, none that was not sent with SYNC_OK; with
 * close or sender drop, every SYNC_OK value arrives; every waker clone is
 * consumed.  A lost wake hangs the round, and alarm() ends the program.
 */
#define MR_ROUNDS 36
#define MR_PROD 3
#define MR_ITEMS 300
#define MR_CAPMAX 4
#define MR_ESZMAX 12

struct mr_waker {
	atomic_int wakes;
	atomic_int live;	/* clones not yet woken or dropped */
};

static const struct raw_waker_vtable mr_vt;

static struct raw_waker mr_clone(const void *d)
{
	atomic_fetch_add(&((struct mr_waker *)d)->live, 1);
	return (struct raw_waker){ d, &mr_vt };
}

static void mr_wake(const void *d)
{
	struct mr_waker *w = (struct mr_waker *)d;
	atomic_fetch_add(&w->wakes, 1);
	atomic_fetch_sub(&w->live, 1);
}

static void mr_wake_by_ref(const void *d)
{
	atomic_fetch_add(&((struct mr_waker *)d)->wakes, 1);
}

static void mr_drop(const void *d)
{
	atomic_fetch_sub(&((struct mr_waker *)d)->live, 1);
}

static const struct raw_waker_vtable mr_vt = { mr_clone, mr_wake, mr_wake_by_ref, mr_drop };

enum mr_end { MR_CLOSE, MR_RXDROP, MR_TXDROP };

struct mr_round {
	struct mpsc c;
	unsigned char store[MR_CAPMAX * MR_ESZMAX];
	size_t esz;
	enum mr_end end;
	int rxdrop_after;
	/* ok[p][i]: producer p's value i was sent with SYNC_OK;
	 * got[p][i]: the consumer received it (counted). */
	atomic_uchar ok[MR_PROD][MR_ITEMS];
	atomic_uchar got[MR_PROD][MR_ITEMS];
	atomic_int bad;
};

/* Two wakers per thread: a poll now and then uses the other one, as when
 * a task has moved (the registered waker must then be replaced). */
struct mr_thread {
	struct mr_round *r;
	int id;
	uint64_t rng;
	struct mr_waker w[2];
	struct waker wk[2];
	struct context cx[2];
};

static unsigned mr_rand(struct mr_thread *t, unsigned n)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return (unsigned)(t->rng % n);
}

static void mr_encode(unsigned char *e, size_t esz, uint32_t v)
{
	if (esz == 8) {
		uint64_t x = (uint64_t)v << 32 | (uint32_t)~v;
		memcpy(e, &x, 8);
	} else {
		memcpy(e, &v, 4);
		if (esz == 12) {
			uint32_t y = ~v, z = v * 7u;
			memcpy(e + 4, &y, 4);
			memcpy(e + 8, &z, 4);
		}
	}
}

/* Returns the value, or -1 if the element is torn. */
static long mr_decode(const unsigned char *e, size_t esz)
{
	uint32_t v, y, z;
	if (esz == 8) {
		uint64_t x;
		memcpy(&x, e, 8);
		v = (uint32_t)(x >> 32);
		return (uint32_t)x == (uint32_t)~v ? (long)v : -1;
	}
	memcpy(&v, e, 4);
	if (esz == 12) {
		memcpy(&y, e + 4, 4);
		memcpy(&z, e + 8, 4);
		if (y != ~v || z != v * 7u)
			return -1;
	}
	return v;
}

static void mr_thread_init(struct mr_thread *t, struct mr_round *r, int id, uint64_t seed)
{
	t->r = r;
	t->id = id;
	t->rng = seed * 0x9e3779b97f4a7c15ull + (uint64_t)id + 1;
	for (int k = 0; k < 2; k++) {
		atomic_init(&t->w[k].wakes, 0);
		atomic_init(&t->w[k].live, 0);
		t->wk[k].raw = (struct raw_waker){ &t->w[k], &mr_vt };
		t->cx[k].waker = &t->wk[k];
	}
}

static int mr_wakes(struct mr_thread *t)
{
	return atomic_load(&t->w[0].wakes) + atomic_load(&t->w[1].wakes);
}

static int mr_live(struct mr_thread *t)
{
	return atomic_load(&t->w[0].live) + atomic_load(&t->w[1].live);
}

/* The context for the next poll: mostly the same waker, sometimes not. */
static struct context *mr_cx(struct mr_thread *t)
{
	return &t->cx[mr_rand(t, 8) == 0];
}

/* Wait for a wake after Pending.  Everyone in a round keeps going until
 * it ends, so a wake that does not come within 10 s was lost: say so and
 * fail at once (the round could not end anyway). */
static void mr_wait(struct mr_thread *t, int before)
{
	uint64_t t0 = host_now_ns();
	while (mr_wakes(t) == before) {
		if (host_now_ns() - t0 > 10000000000ull) {
			printf("stress: mpsc thread %d (%s): lost wake\n", t->id,
			       t->id < MR_PROD ? "producer" : "consumer");
			printf("test stress_4_workers: FAILED\n");
			exit(1);
		}
		sched_yield();
	}
}

static void *mr_producer(void *arg)
{
	struct mr_thread *t = arg;
	struct mr_round *r = t->r;
	unsigned char e[MR_ESZMAX];
	bool closed = false;

	for (int i = 0; i < MR_ITEMS && !closed; i++) {
		mr_encode(e, r->esz, (uint32_t)(t->id * MR_ITEMS + i));
		if (mr_rand(t, 8) == 0) {
			int res = mpsc_try_send(&r->c, e);
			if (res == SYNC_OK)
				atomic_store(&r->ok[t->id][i], 1);
			closed = res == SYNC_CLOSED;
			continue;
		}
		struct mpsc_send s;
		mpsc_send_init(&s, &r->c, e);
		for (;;) {
			int before = mr_wakes(t);
			if (mpsc_send_poll(&s, mr_cx(t)) == POLL_READY) {
				if (s.result == SYNC_OK)
					atomic_store(&r->ok[t->id][i], 1);
				else
					closed = true;
				break;
			}
			if (mr_rand(t, 16) == 0) {
				mpsc_send_drop(&s);	/* cancelled: never received */
				break;
			}
			if (mr_rand(t, 4) != 0)	/* else poll again at once */
				mr_wait(t, before);
		}
	}
	/* (With MR_RXDROP too, in case the consumer never reaches its
	 * count: then the closed channel ends it.) */
	if (r->end != MR_CLOSE)
		mpsc_sender_drop(&r->c);
	return NULL;
}

static void mr_got(struct mr_round *r, const unsigned char *e, int *next)
{
	long v = mr_decode(e, r->esz);
	if (v < 0 || v >= MR_PROD * MR_ITEMS) {
		atomic_fetch_add(&r->bad, 1);
		return;
	}
	int p = (int)(v / MR_ITEMS), i = (int)(v % MR_ITEMS);
	/* in order per producer, at most once */
	if (i < next[p] || atomic_fetch_add(&r->got[p][i], 1) != 0)
		atomic_fetch_add(&r->bad, 1);
	next[p] = i + 1;
}

static void *mr_consumer(void *arg)
{
	struct mr_thread *t = arg;
	struct mr_round *r = t->r;
	unsigned char e[MR_ESZMAX];
	int next[MR_PROD] = { 0 }, n = 0;

	for (;;) {
		if (r->end == MR_RXDROP && n == r->rxdrop_after) {
			mpsc_receiver_drop(&r->c);
			return NULL;
		}
		if (mr_rand(t, 6) == 0) {
			int res = mpsc_try_recv(&r->c, e);
			if (res == SYNC_OK) {
				mr_got(r, e, next);
				n++;
			} else if (res == SYNC_CLOSED) {
				return NULL;
			} else {
				sched_yield();
			}
			continue;
		}
		struct mpsc_recv rv;
		mpsc_recv_init(&rv, &r->c, e);
		for (;;) {
			int before = mr_wakes(t);
			if (mpsc_recv_poll(&rv, mr_cx(t)) == POLL_READY)
				break;
			if (mr_rand(t, 16) == 0) {
				mpsc_recv_drop(&rv);	/* loses nothing */
				mpsc_recv_init(&rv, &r->c, e);
				continue;
			}
			if (mr_rand(t, 4) != 0)	/* else poll again at once */
				mr_wait(t, before);
		}
		if (rv.result != SYNC_OK)
			return NULL;
		mr_got(r, e, next);
		n++;
	}
}

static void *mr_closer(void *arg)
{
	struct mr_thread *t = arg;
	usleep(mr_rand(t, 3000));
	mpsc_close(&t->r->c);
	return NULL;
}

static struct mr_round mr_rounds_buf;

/* Returns the number of problems found. */
static int phase4(void)
{
	static const size_t eszs[3] = { 8, 4, 12 };
	int bad = 0;
	long received = 0, cancelled = 0;
	for (int round = 0; round < MR_ROUNDS; round++) {
		struct mr_round *r = &mr_rounds_buf;
		struct mr_thread prod[MR_PROD], cons, closer;
		pthread_t th[MR_PROD + 2];

		memset(r, 0, sizeof(*r));
		r->esz = eszs[round % 3];
		r->end = (enum mr_end)(round / 3 % 3);
		uint32_t cap = 1 + (uint32_t)(round / 9 % MR_CAPMAX);
		mpsc_init(&r->c, r->store, r->esz, cap);
		for (int k = 1; k < MR_PROD; k++)
			mpsc_sender_clone(&r->c);
		mr_thread_init(&cons, r, MR_PROD, (uint64_t)round);
		r->rxdrop_after = (int)mr_rand(&cons, MR_PROD * MR_ITEMS / 2);
		mr_thread_init(&closer, r, MR_PROD + 1, (uint64_t)round);
		pthread_create(&th[MR_PROD], NULL, mr_consumer, &cons);
		for (int k = 0; k < MR_PROD; k++) {
			mr_thread_init(&prod[k], r, k, (uint64_t)round);
			pthread_create(&th[k], NULL, mr_producer, &prod[k]);
		}
		if (r->end == MR_CLOSE)
			pthread_create(&th[MR_PROD + 1], NULL, mr_closer, &closer);
		for (int k = 0; k < MR_PROD; k++)
			pthread_join(th[k], NULL);
		if (r->end == MR_CLOSE)
			pthread_join(th[MR_PROD + 1], NULL);
		/* The consumer ends on SYNC_CLOSED (close, or the last sender
		 * handle dropped) or after its receiver_drop. */
		pthread_join(th[MR_PROD], NULL);

		int rbad = atomic_load(&r->bad);
		for (int p = 0; p < MR_PROD; p++)
			for (int i = 0; i < MR_ITEMS; i++) {
				int ok = atomic_load(&r->ok[p][i]), got = atomic_load(&r->got[p][i]);
				received += got;
				cancelled += !ok;
				if (got && !ok)
					rbad++;		/* a failed or cancelled send arrived */
				if (ok && !got && r->end != MR_RXDROP)
					rbad++;		/* a value was lost */
			}
		for (int k = 0; k < MR_PROD; k++)
			if (mr_live(&prod[k]) != 0)
				rbad++;
		if (mr_live(&cons) != 0 || r->c.reserved != 0 ||
		    !wait_list_empty(&r->c.send_waiters))
			rbad++;
		if (rbad)
			printf("stress: mpsc round %d (cap %u, %zu-byte, end %d): %d problems\n",
			       round, cap, r->esz, (int)r->end, rbad);
		bad += rbad;
	}
	printf("stress: %d mpsc race rounds (%d producers x %d values, close / "
	       "receiver drop / sender drop), %ld received, %ld not sent\n",
	       MR_ROUNDS, MR_PROD, MR_ITEMS, received, cancelled);
	return bad;
}

static void *runner(void *arg)
{
	(void)arg;
	host_run_threads(&ex, WORKERS, true);
	return NULL;
}

int main(int argc, char **argv)
{
	int ntasks = argc > 1 ? atoi(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 10;
	uint64_t wakes = 0;
	int spawned = 0, failed = 0;
	pthread_t th;

	alarm(170);	/* a lost wakeup hangs: die loudly instead */
	setvbuf(stdout, NULL, _IOLBF, 0);	/* and show what was printed */
	done = calloc((size_t)ntasks, 1);
	host_hooks_init(&hh);
	exec_init(&ex, &hh.hooks, WORKERS, 0);
	pthread_create(&th, NULL, runner, NULL);

	uint64_t t0 = host_now_ns();
	while (atomic_load(&completed) < (uint64_t)ntasks) {
		bool busy = false;
		while (spawned < ntasks &&
		       spawned - (int)atomic_load(&completed) < INFLIGHT) {
			struct stask s = { { &stask_vt }, spawned, rounds, { NULL, WAKER_NONE } };
			struct task_desc d = TASK_DESC_VOID(s, "stress");
			if (task_spawn(&ex, &stress_pool.src, &d, NULL) != TASK_OK)
				break;	/* slots still held by wakers: later */
			spawned++;
			busy = true;
		}
		struct node *n = atomic_exchange_explicit(&mbox, NULL, memory_order_acquire);
		while (n) {
			struct node *next = n->next;
			struct waker w = n->w;
			waker_wake(&w);	/* n may be reused from here on */
			wakes++;
			n = next;
			busy = true;
		}
		if (!busy)
			sched_yield();
	}
	uint64_t t1 = host_now_ns();

	/* Phase 2, spawned from outside while the workers run. */
	for (int i = 0; i < PAIRS; i++) {
		spin_init(&pairs[i].lock);
		pairs[i].w[0] = pairs[i].w[1] = WAKER_NONE;
		for (int side = 0; side < 2; side++) {
			struct ptask pt = { { &ptask_vt }, &pairs[i], side };
			struct task_desc d = TASK_DESC_VOID(pt, "pair");
			while (task_spawn(&ex, &stress_pool.src, &d, NULL) != TASK_OK)
				sched_yield();
		}
	}
	while (atomic_load(&pair_completed) < 2 * PAIRS)
		sched_yield();
	uint64_t t2 = host_now_ns();
	failed += phase3();
	failed += phase4();
	exec_stop(&ex);
	pthread_join(th, NULL);

	for (int i = 0; i < ntasks; i++)
		if (atomic_load(&done[i]) != 1)
			failed++;
	uint64_t expect_wakes = (uint64_t)ntasks * (uint64_t)rounds;
	if (wakes != expect_wakes || atomic_load(&polls) != expect_wakes + (uint64_t)ntasks)
		failed++;
	if (exec_live_tasks(&ex) != 0 || task_pool_in_use(&stress_pool) != 0)
		failed++;
	for (int i = 0; i < PAIRS; i++)
		if (pairs[i].done[0] != TURNS || pairs[i].done[1] != TURNS ||
		    !waker_is_none(&pairs[i].w[0]) || !waker_is_none(&pairs[i].w[1]))
			failed++;
	uint64_t steals = 0, parks = 0, injected = 0;
	for (int i = 0; i < WORKERS; i++) {
		steals += ex.workers[i].stats.steals;
		parks += ex.workers[i].stats.parks;
		injected += ex.workers[i].stats.inject_pops;
	}
	printf("stress: %d tasks, %llu cross-thread wakes, %llu polls, %d workers, "
	       "%.2f s; steals %llu parks %llu injected %llu unparks %llu; "
	       "%d problems\n", ntasks, (unsigned long long)wakes,
	       (unsigned long long)atomic_load(&polls), WORKERS,
	       (double)(t1 - t0) / 1e9, (unsigned long long)steals,
	       (unsigned long long)parks, (unsigned long long)injected,
	       (unsigned long long)atomic_load(&hh.futex_wakes), failed);
	printf("stress: %d task pairs x %d turns, %llu task-to-task wakes, %.2f s\n",
	       PAIRS, TURNS, (unsigned long long)atomic_load(&pair_wakes),
	       (double)(t2 - t1) / 1e9);
	printf("test stress_4_workers: %s\n", failed ? "FAILED" : "OK");
	printf("%d passed, %d failed\n", failed ? 0 : 1, failed ? 1 : 0);
	free((void *)done);
	return failed ? 1 : 0;
}

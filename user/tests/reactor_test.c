/* Host tests of the user reactor (user/lib/reactor.c) against a recording fake kernel ring. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "px_async.h"
#include "test.h"

/*
 * The fake kernel implements the four syscalls the reactor uses
 * (ring_setup, ring_enter, clock_gettime, sleep) over ring memory from
 * the heap, with the kernel's rules: SQEs consumed only by ring_enter,
 * NOP completes at once, READ/WRITE wait until a test completes them
 * (directly or from the on_wait hook, which runs when ring_enter is about
 * to wait), TIMEOUT completes when fake time passes its deadline, CANCEL
 * completes the named op with -PX_ECANCELED and itself with 0 (or
 * -PX_ENOENT), and a full CQ parks completions in a backlog with
 * PX_RING_CQ_OVERFLOW.  Waiting advances fake time to the timeout or the
 * next TIMEOUT op, so tests never sleep.  Indices start just below 2^32,
 * so every test crosses the wrap-around.
 *
 * The ring is made with 4 SQ entries (8 CQ): the first test to run calls
 * px_async_init(4), and the reactor is the same for all tests.
 */

/* The syscalls the fake replaces (px.h declares them; not included here,
 * its wait() and kill() would clash with <sys/wait.h>). */
long px_clock_gettime(int clock, struct px_timespec *ts);
long px_sleep(uint64_t ms);

/* The hooks of user/lib/syscall.c's read and close (user/lib/fdhook.h),
 * which the reactor sets once it keeps the bytes of a dropped read. */
long (*px_fd_read_hook)(int fd, void *buf, size_t n);
void (*px_fd_close_hook)(int fd);

#define FK_PEND 64
#define FK_LOG 512

static struct fake_kernel {
	int setup;
	uint32_t entries, cq_entries;
	struct px_ring_hdr *sq, *cq;
	struct px_sqe *sqes;
	struct px_cqe *cqes;
	uint32_t khead;                 /* the kernel's own SQ head */
	uint64_t now;
	struct pend { struct px_sqe sqe; uint64_t deadline; } pend[FK_PEND];
	int npend;
	struct px_cqe backlog[256];
	int nbacklog;
	struct px_sqe seen[FK_LOG];     /* every SQE consumed, in order */
	int nseen;
	struct enter_rec { unsigned to_submit, min; uint64_t timeout; long ret; } enters[FK_LOG];
	int nenters;
	void (*on_wait)(void);
} fk = { .now = 1000000000ull };

static void fk_post(uint64_t ud, long long res)
{
	uint32_t tail = fk.cq->tail;

	if (fk.nbacklog || tail - __atomic_load_n(&fk.cq->head, __ATOMIC_ACQUIRE) == fk.cq_entries) {
		if (fk.nbacklog == 256)
			abort();
		fk.backlog[fk.nbacklog++] = (struct px_cqe){ ud, res };
		fk.cq->flags |= PX_RING_CQ_OVERFLOW;
		fk.cq->overflow = (unsigned)fk.nbacklog;
		return;
	}
	fk.cqes[tail & (fk.cq_entries - 1)] = (struct px_cqe){ ud, res };
	__atomic_store_n(&fk.cq->tail, tail + 1, __ATOMIC_RELEASE);
}

static void fk_flush_backlog(void)
{
	int n = fk.nbacklog, i = 0;

	fk.nbacklog = 0;
	fk.cq->flags &= ~PX_RING_CQ_OVERFLOW;
	while (i < n && fk.cq->tail - __atomic_load_n(&fk.cq->head, __ATOMIC_ACQUIRE) < fk.cq_entries) {
		fk_post(fk.backlog[i].user_data, fk.backlog[i].res);
		i++;
	}
	memmove(fk.backlog, fk.backlog + i, (size_t)(n - i) * sizeof(fk.backlog[0]));
	fk.nbacklog = n - i;
	if (fk.nbacklog)
		fk.cq->flags |= PX_RING_CQ_OVERFLOW;
	fk.cq->overflow = (unsigned)fk.nbacklog;
}

static void fk_unpend(int i)
{
	fk.pend[i] = fk.pend[--fk.npend];
}

/* Complete every pending op `op` with res_of(sqe). */
static void fk_complete_all(unsigned op, long long (*res_of)(const struct px_sqe *))
{
	for (int i = 0; i < fk.npend;) {
		if (fk.pend[i].sqe.op == op) {
			fk_post(fk.pend[i].sqe.user_data, res_of(&fk.pend[i].sqe));
			fk_unpend(i);
		} else {
			i++;
		}
	}
}

static void fk_fire_timeouts(void)
{
	for (int i = 0; i < fk.npend;) {
		if (fk.pend[i].sqe.op == PX_OP_TIMEOUT && fk.pend[i].deadline <= fk.now) {
			fk_post(fk.pend[i].sqe.user_data, -PX_ETIME);
			fk_unpend(i);
		} else {
			i++;
		}
	}
}

static void fk_consume(const struct px_sqe *s)
{
	if (fk.nseen < FK_LOG)
		fk.seen[fk.nseen++] = *s;
	switch (s->op) {
	case PX_OP_NOP:
		fk_post(s->user_data, 0);
		break;
	case PX_OP_CANCEL:
		for (int i = 0; i < fk.npend; i++) {
			if (fk.pend[i].sqe.user_data == s->addr) {
				fk_post(s->addr, -PX_ECANCELED);
				fk_unpend(i);
				fk_post(s->user_data, 0);
				return;
			}
		}
		fk_post(s->user_data, -PX_ENOENT);
		break;
	default:
		if (fk.npend == FK_PEND)
			abort();
		fk.pend[fk.npend].sqe = *s;
		fk.pend[fk.npend].deadline = s->op == PX_OP_TIMEOUT ? fk.now + s->off : UINT64_MAX;
		fk.npend++;
	}
}

long px_ring_setup(unsigned entries, struct px_ring_params *p)
{
	struct px_ring_params *rp = (struct px_ring_params *)(void *)p;
	const uint32_t start_sq = 0xfffffff0u, start_cq = 0xfffffffau;

	if (fk.setup)
		return -PX_EBUSY;
	fk.setup = 1;
	fk.entries = entries;
	fk.cq_entries = 2 * entries;
	fk.sq = calloc(1, sizeof(struct px_ring_hdr) + entries * sizeof(struct px_sqe));
	fk.cq = calloc(1, sizeof(struct px_ring_hdr) + 2 * entries * sizeof(struct px_cqe));
	fk.sqes = (struct px_sqe *)(void *)(fk.sq + 1);
	fk.cqes = (struct px_cqe *)(void *)(fk.cq + 1);
	fk.sq->head = fk.sq->tail = fk.khead = start_sq;
	fk.cq->head = fk.cq->tail = start_cq;
	fk.sq->entries = entries;
	fk.sq->mask = entries - 1;
	fk.cq->entries = 2 * entries;
	fk.cq->mask = 2 * entries - 1;
	rp->sq_entries = entries;
	rp->cq_entries = 2 * entries;
	rp->sq_va = (uintptr_t)fk.sq;
	rp->cq_va = (uintptr_t)fk.cq;
	rp->ops_max = 2 * entries < 128 ? 2 * entries : 128;
	return 0;
}

static uint32_t fk_cq_ready(void)
{
	return fk.cq->tail - fk.cq->head;
}

long px_ring_enter(unsigned to_submit, unsigned min_complete, uint64_t timeout_ns)
{
	struct enter_rec *rec = &fk.enters[fk.nenters < FK_LOG ? fk.nenters++ : FK_LOG - 1];
	uint32_t tail = __atomic_load_n(&fk.sq->tail, __ATOMIC_ACQUIRE);
	uint32_t n = 0;

	*rec = (struct enter_rec){ to_submit, min_complete, timeout_ns, 0 };
	fk_flush_backlog();
	if (tail - fk.khead > fk.entries || fk.cq->tail - fk.cq->head > fk.cq_entries)
		return rec->ret = -PX_EINVAL;   /* the program corrupted its ring */
	while (n < to_submit && fk.khead != tail) {
		fk_consume(&fk.sqes[fk.khead & (fk.entries - 1)]);
		fk.khead++;
		n++;
	}
	__atomic_store_n(&fk.sq->head, fk.khead, __ATOMIC_RELEASE);
	if (min_complete && fk_cq_ready() < min_complete) {
		if (fk.on_wait)
			fk.on_wait();
		if (fk_cq_ready() < min_complete) {
			uint64_t target = timeout_ns == PX_RING_FOREVER ? UINT64_MAX : fk.now + timeout_ns;
			for (int i = 0; i < fk.npend; i++)
				if (fk.pend[i].deadline < target)
					target = fk.pend[i].deadline;
			if (target == UINT64_MAX) {
				fprintf(stderr, "fake kernel: ring_enter would wait forever\n");
				abort();
			}
			if (target > fk.now)
				fk.now = target;
			fk_fire_timeouts();
		}
	}
	return rec->ret = (long)n;
}

long px_clock_gettime(int clock, struct px_timespec *ts)
{
	(void)clock;
	ts->tv_sec = (long long)(fk.now / 1000000000u);
	ts->tv_nsec = (long long)(fk.now % 1000000000u);
	return 0;
}

long px_sleep(uint64_t ms)
{
	fk.now += ms * 1000000u;
	return 0;
}

/* ---- helpers ---------------------------------------------------------------*/

static void setup(void)
{
	px_async_init(4);
	fk.nseen = 0;
	fk.nenters = 0;
	fk.on_wait = NULL;
}

static unsigned slots_in_use(void)
{
	struct px_reactor_stats st;
	px_reactor_stats(&st);
	return st.slots_in_use;
}

static uint64_t cancels(void)
{
	struct px_reactor_stats st;
	px_reactor_stats(&st);
	return st.cancels;
}

static long long res_len(const struct px_sqe *s)
{
	return s->len;
}

static long long res_two(const struct px_sqe *s)
{
	(void)s;
	return 2;
}

static void complete_reads_with_len(void)
{
	fk_complete_all(PX_OP_READ, res_len);
}

/* A future that is ready at once. */
static enum poll ready_poll(struct future *f, struct context *cx)
{
	(void)f;
	(void)cx;
	return POLL_READY;
}
static const struct future_vtable ready_vtable = { ready_poll, NULL };

/* ---- tests -------------------------------------------------------------------*/

/* One read: its SQE as asked, one park submitting it, the result from
 * its CQE, the slot given back. */
TEST(reactor_read_completes)
{
	static char buf[16];
	struct px_io io;

	setup();
	fk.on_wait = complete_reads_with_len;
	px_io_read(&io, 3, buf, 10);
	CHECK_EQ(px_run(&io.base), 0);
	CHECK_EQ(io.result, 10);
	CHECK_EQ(fk.nseen, 1);
	CHECK_EQ(fk.seen[0].op, PX_OP_READ);
	CHECK_EQ(fk.seen[0].fd, 3);
	CHECK(fk.seen[0].addr == (uintptr_t)buf);
	CHECK_EQ(fk.seen[0].len, 10);
	CHECK(fk.seen[0].user_data != 0 && (fk.seen[0].user_data & 1) == 0);
	CHECK_EQ(fk.nenters, 1);
	CHECK_EQ(fk.enters[0].to_submit, 1);
	CHECK_EQ(fk.enters[0].min, 1);
	CHECK(fk.enters[0].timeout == PX_RING_FOREVER);
	CHECK_EQ(slots_in_use(), 0);
}

/* Three ops queued by one poll go to the kernel in one ring_enter. */
TEST(reactor_batches_submissions)
{
	struct px_io io[3];
	struct future *all[3];
	struct join_all j;

	setup();
	for (int i = 0; i < 3; i++) {
		px_io_nop(&io[i]);
		io[i].result = 99;
		all[i] = &io[i].base;
	}
	join_all_init(&j, all, 3);
	CHECK_EQ(px_run(&j.base), 0);
	CHECK_EQ(fk.nenters, 1);
	CHECK_EQ(fk.enters[0].to_submit, 3);
	CHECK_EQ(fk.nseen, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(io[i].result, 0);
		CHECK_EQ(fk.seen[i].op, PX_OP_NOP);
	}
	CHECK_EQ(slots_in_use(), 0);
}

/* A sleep costs no SQE: park's timeout is the wheel's next deadline. */
TEST(reactor_sleep_sets_park_timeout)
{
	struct sleep s;
	uint64_t t0 = fk.now;

	setup();
	px_sleep_for(&s, TIMER_MS(5));
	CHECK_EQ(px_run(&s.base), 0);
	CHECK_EQ(fk.nseen, 0);
	CHECK(fk.nenters >= 1);
	CHECK_EQ(fk.enters[0].to_submit, 0);
	CHECK_EQ(fk.enters[0].min, 1);
	/* 5 ms, rounded up to the wheel's ~1 ms tick */
	CHECK(fk.enters[0].timeout >= TIMER_MS(5) - TIMER_MS(1));
	CHECK(fk.enters[0].timeout <= TIMER_MS(5) + TIMER_MS(2));
	CHECK(fk.now - t0 >= TIMER_MS(5));
	CHECK(fk.now - t0 <= TIMER_MS(8));
}

/* select2(read, sleep): the sleep wins; dropping the submitted read
 * queues a CANCEL naming it, and waits until the read's completion has
 * arrived (its buffer is free when select2 returns). */
struct drop_read {
	struct future base;
	int state;
	char buf[8];
	struct px_io rd;
	struct sleep nap;
	struct select2 race;
	int npend_after;                /* kernel ops still pending after select2 */
	unsigned slots_after;
};

static enum poll drop_read_poll(struct future *f, struct context *cx)
{
	struct drop_read *d = (struct drop_read *)f;

	ASYNC_BEGIN(d);
	px_io_read(&d->rd, 5, d->buf, sizeof(d->buf));
	px_sleep_for(&d->nap, TIMER_MS(10));
	select2_init(&d->race, &d->rd.base, &d->nap.base);
	AWAIT(d, select2_poll(&d->race, cx));
	d->npend_after = fk.npend;
	d->slots_after = slots_in_use();
	ASYNC_END(d);
}
static const struct future_vtable drop_read_vtable = { drop_read_poll, NULL };

TEST(reactor_drop_cancels_and_waits_for_buffer)
{
	static struct drop_read d;
	uint64_t c0 = cancels();

	setup();
	memset(&d, 0, sizeof(d));
	d.base.vtable = &drop_read_vtable;
	CHECK_EQ(px_run(&d.base), 0);
	CHECK_EQ(d.race.winner, 1);
	CHECK_EQ(fk.nseen, 2);
	CHECK_EQ(fk.seen[0].op, PX_OP_READ);
	CHECK_EQ(fk.seen[1].op, PX_OP_CANCEL);
	CHECK(fk.seen[1].addr == fk.seen[0].user_data);
	CHECK(fk.seen[1].user_data == (fk.seen[0].user_data | 1));
	CHECK_EQ(d.npend_after, 0);     /* the kernel was done with buf */
	CHECK_EQ(d.slots_after, 0);     /* both completions arrived */
	CHECK_EQ(cancels() - c0, 1);
	CHECK_EQ(slots_in_use(), 0);
}

/* An op dropped before any ring_enter is rewritten to a NOP in place:
 * no CANCEL, the slot freed by the NOP's completion. */
TEST(reactor_drop_before_submit_becomes_nop)
{
	static char buf[8];
	struct px_io rd;
	struct future ready = { &ready_vtable };
	struct select2 race;
	uint64_t c0 = cancels();

	setup();
	px_io_read(&rd, 5, buf, sizeof(buf));
	select2_init(&race, &rd.base, &ready);
	CHECK_EQ(px_run(&race.base), 0);
	CHECK_EQ(race.winner, 1);
	CHECK_EQ(fk.nseen, 1);
	CHECK_EQ(fk.seen[0].op, PX_OP_NOP);
	CHECK(fk.seen[0].user_data != 0);
	CHECK_EQ(cancels() - c0, 0);
	CHECK_EQ(fk.npend, 0);
	CHECK_EQ(slots_in_use(), 0);
}

/* An op without a buffer (TIMEOUT) is orphaned: drop does not wait; its
 * slot lives until both its and the CANCEL's completions arrive, which
 * px_run's drain collects. */
struct drop_timer {
	struct future base;
	int state;
	struct px_io t;
	struct sleep nap;
	struct select2 race;
	unsigned slots_after;
	int seen_after;
};

static enum poll drop_timer_poll(struct future *f, struct context *cx)
{
	struct drop_timer *d = (struct drop_timer *)f;

	ASYNC_BEGIN(d);
	px_io_timeout(&d->t, TIMER_SEC(1));
	px_sleep_for(&d->nap, TIMER_MS(2));
	select2_init(&d->race, &d->t.base, &d->nap.base);
	AWAIT(d, select2_poll(&d->race, cx));
	d->slots_after = slots_in_use();
	d->seen_after = fk.nseen;
	ASYNC_END(d);
}
static const struct future_vtable drop_timer_vtable = { drop_timer_poll, NULL };

TEST(reactor_orphaned_op_freed_after_both_completions)
{
	static struct drop_timer d;
	uint64_t t0 = fk.now;

	setup();
	memset(&d, 0, sizeof(d));
	d.base.vtable = &drop_timer_vtable;
	CHECK_EQ(px_run(&d.base), 0);
	CHECK_EQ(d.race.winner, 1);
	CHECK_EQ(d.slots_after, 1);     /* orphaned, CANCEL not even submitted */
	CHECK_EQ(d.seen_after, 1);
	CHECK_EQ(fk.nseen, 2);
	CHECK_EQ(fk.seen[1].op, PX_OP_CANCEL);
	CHECK(fk.seen[1].addr == fk.seen[0].user_data);
	CHECK_EQ(slots_in_use(), 0);
	CHECK(fk.now - t0 < TIMER_MS(100));     /* nobody waited for the 1 s */
}

/* More completions than the CQ holds: the rest wait in the kernel's
 * backlog (overflow flag) and the reactor pulls them in.  Twelve reads
 * through a 4-entry SQ also exercise "SQ full: submit and retry". */
TEST(reactor_cq_overflow_and_full_sq)
{
	static char buf[12][16];
	struct px_io io[12];
	struct future *all[12];
	struct join_all j;
	int saw_refill = 0;

	setup();
	/* A kernel that runs 16 at once (ours runs 8 on this ring: then the
	 * CQ never overflows), and twelve fds: twelve lanes. */
	px_reactor_ring()->ops_max = 16;
	fk.on_wait = complete_reads_with_len;
	for (int i = 0; i < 12; i++) {
		px_io_read(&io[i], 4 + i, buf[i], (size_t)i + 1);
		all[i] = &io[i].base;
	}
	join_all_init(&j, all, 12);
	CHECK_EQ(px_run(&j.base), 0);
	px_reactor_ring()->ops_max = 8;
	CHECK_EQ(fk.nseen, 12);
	for (int i = 0; i < 12; i++)
		CHECK_EQ(io[i].result, i + 1);
	/* After the park that saw the 12 completions, a non-waiting enter
	 * moved the backlog in. */
	for (int i = 0; i < fk.nenters; i++)
		if (fk.enters[i].min == 1 && i + 1 < fk.nenters && fk.enters[i + 1].min == 0)
			saw_refill = 1;
	CHECK(saw_refill);
	CHECK_EQ(fk.nbacklog, 0);
	CHECK_EQ(slots_in_use(), 0);
}

/* Tasks and a channel on the user executor: a spawned producer sends
 * three values, each after a sleep; main receives them in order. */
static struct mpsc chan;
static int chan_buf[2];

struct producer {
	struct future base;
	int state, i, v;
	struct sleep nap;
	struct mpsc_send send;
};

static enum poll producer_poll(struct future *f, struct context *cx)
{
	struct producer *p = (struct producer *)f;

	ASYNC_BEGIN(p);
	for (p->i = 0; p->i < 3; p->i++) {
		px_sleep_for(&p->nap, TIMER_MS(1));
		AWAIT(p, sleep_poll(&p->nap, cx));
		p->v = 10 + p->i;
		mpsc_send_init(&p->send, &chan, &p->v);
		AWAIT(p, mpsc_send_poll(&p->send, cx));
	}
	mpsc_sender_drop(&chan);
	ASYNC_END(p);
}
static const struct future_vtable producer_vtable = { producer_poll, NULL };

struct consumer {
	struct future base;
	int state, got[4], n, v;
	struct mpsc_recv recv;
};

static enum poll consumer_poll(struct future *f, struct context *cx)
{
	struct consumer *c = (struct consumer *)f;

	ASYNC_BEGIN(c);
	{
		struct producer p = { .base = { &producer_vtable } };
		if (px_task_spawn(&TASK_DESC_VOID(p, "producer"), NULL) != TASK_OK)
			ASYNC_RETURN(c);
	}
	for (;;) {
		mpsc_recv_init(&c->recv, &chan, &c->v);
		AWAIT(c, mpsc_recv_poll(&c->recv, cx));
		if (c->recv.result != SYNC_OK || c->n == 4)
			break;
		c->got[c->n++] = c->v;
	}
	ASYNC_END(c);
}
static const struct future_vtable consumer_vtable = { consumer_poll, NULL };

TEST(reactor_tasks_and_channel)
{
	static struct consumer c;

	setup();
	mpsc_init(&chan, chan_buf, sizeof(int), 2);
	memset(&c, 0, sizeof(c));
	c.base.vtable = &consumer_vtable;
	CHECK_EQ(px_run(&c.base), 0);
	CHECK_EQ(c.n, 3);
	CHECK_EQ(c.got[0], 10);
	CHECK_EQ(c.got[1], 11);
	CHECK_EQ(c.got[2], 12);
	CHECK_EQ(exec_live_tasks(px_executor()), 0);
}

/* Waiting with no timer and nothing in flight can never end: the
 * reactor exits with PX_ASYNC_DEADLOCK instead of sleeping forever. */
TEST(reactor_deadlock_exits)
{
	pid_t pid = fork();
	int st = 0;

	CHECK(pid >= 0);
	if (pid == 0) {
		static struct oneshot o;
		static int slot;
		struct oneshot_recv r;

		setup();
		freopen("/dev/null", "w", stderr);
		oneshot_init(&o, &slot, sizeof(slot));
		oneshot_recv_init(&r, &o, &slot);
		px_run(&r.base);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), PX_ASYNC_DEADLOCK);
}

/* ---- between tests: px_async_inflight, px_async_reset, virtual time ---------*/

/* Reads fd 7 and completes; its poll has no drop, like most hand-written
 * async functions, so dropping the task leaves the read in flight. */
struct lone_reader {
	struct future base;
	int state;
	char buf[4];
	struct px_io rd;
};

static enum poll lone_reader_poll(struct future *f, struct context *cx)
{
	struct lone_reader *r = (struct lone_reader *)f;

	ASYNC_BEGIN(r);
	px_io_read(&r->rd, 7, r->buf, sizeof(r->buf));
	AWAIT(r, px_io_poll(&r->rd, cx));
	ASYNC_END(r);
}
static const struct future_vtable lone_reader_vtable = { lone_reader_poll, NULL };

/* Spawns a lone reader, starts a 10 s sleep and a read of fd 8, and
 * returns Ready with all three still pending. */
struct litterer {
	struct future base;
	int state;
	char buf[4];
	struct px_io rd;
	struct sleep nap;
};

static enum poll litterer_poll(struct future *f, struct context *cx)
{
	struct litterer *l = (struct litterer *)f;
	struct lone_reader r = { .base = { &lone_reader_vtable } };

	ASYNC_BEGIN(l);
	if (px_task_spawn(&TASK_DESC_VOID(r, "reader"), NULL) != TASK_OK)
		ASYNC_RETURN(l);
	px_sleep_for(&l->nap, TIMER_SEC(10));
	px_io_read(&l->rd, 8, l->buf, sizeof(l->buf));
	if (sleep_poll(&l->nap, cx) == POLL_READY || px_io_poll(&l->rd, cx) == POLL_READY)
		ASYNC_RETURN(l);
	YIELD(l, cx);                   /* the reader runs and submits too */
	ASYNC_END(l);
}
static const struct future_vtable litterer_vtable = { litterer_poll, NULL };

/* What a test left behind is counted, then cancelled: the kernel sees a
 * CANCEL for each read, no waker or task leaks (LeakSanitizer would
 * say), and the fresh executor works. */
TEST(reactor_reset_cancels_what_was_left)
{
	struct litterer l = { .base = { &litterer_vtable } };
	struct join_handle jh;
	struct px_async_inflight in;
	struct sleep s;
	uint64_t c0;

	setup();
	px_async_reset();
	px_async_inflight(&in);
	CHECK_EQ(in.tasks + in.timers + in.ops, 0);
	CHECK_EQ(px_task_spawn(&TASK_DESC_VOID(l, "litterer"), &jh), TASK_OK);
	exec_block_on(px_executor(), &jh.base);
	CHECK_EQ(jh.result, JOIN_OK);
	px_reactor_reap();
	CHECK_EQ(fk.nseen, 0);          /* nothing submitted yet: no park */
	px_async_inflight(&in);
	CHECK_EQ(in.tasks, 1);
	CHECK_EQ(in.timers, 1);
	CHECK_EQ(in.ops, 2);
	c0 = cancels();
	px_async_reset();
	CHECK_EQ(fk.nseen, 4);
	CHECK_EQ(fk.seen[0].op, PX_OP_READ);
	CHECK_EQ(fk.seen[1].op, PX_OP_READ);
	CHECK_EQ(fk.seen[2].op, PX_OP_CANCEL);
	CHECK_EQ(fk.seen[3].op, PX_OP_CANCEL);
	CHECK_EQ(cancels() - c0, 2);
	CHECK_EQ(fk.npend, 0);
	CHECK_EQ(slots_in_use(), 0);
	px_async_inflight(&in);
	CHECK_EQ(in.tasks + in.timers + in.ops, 0);
	px_sleep_for(&s, TIMER_MS(2));
	CHECK_EQ(px_run(&s.base), 0);

	/* An op that completed but whose result nobody read still holds
	 * its slot: counted, and given back by the reset. */
	{
		struct px_io nop;
		struct context cx = { waker_noop() };
		px_io_nop(&nop);
		CHECK_EQ(px_io_poll(&nop, &cx), POLL_PENDING);
		CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);
		CHECK_EQ(px_reactor_reap(), 1);
		px_async_inflight(&in);
		CHECK_EQ(in.ops, 1);
		px_async_reset();
		px_async_inflight(&in);
		CHECK_EQ(in.ops, 0);
		CHECK_EQ(slots_in_use(), 0);
	}
}

/* Virtual time: a wait that only a timer can end takes no time (no
 * ring_enter at all); with an op in flight the wait is real. */
TEST(reactor_virtual_time_only_when_timers_alone)
{
	static char buf[4];
	struct sleep s;
	struct px_io rd;
	struct select2 race;
	uint64_t t0, k0;

	setup();
	px_async_reset();
	px_async_virtual_time(1);
	t0 = px_now();
	k0 = fk.now;
	px_sleep_for(&s, TIMER_SEC(3600));
	CHECK_EQ(px_run(&s.base), 0);
	CHECK(px_now() - t0 >= TIMER_SEC(3600));
	CHECK_EQ(fk.now, k0);
	CHECK_EQ(fk.nenters, 0);

	/* The same with a read in flight: ring_enter waits for the sleep's
	 * deadline, and fake kernel time passes. */
	t0 = px_now();
	px_io_read(&rd, 5, buf, sizeof(buf));
	px_sleep_for(&s, TIMER_MS(20));
	select2_init(&race, &rd.base, &s.base);
	CHECK_EQ(px_run(&race.base), 0);
	CHECK_EQ(race.winner, 1);
	CHECK(fk.now - k0 >= TIMER_MS(19));
	CHECK(px_now() - t0 >= TIMER_MS(20));
	CHECK(px_now() - t0 < TIMER_MS(30));

	/* Off again after a reset; px_now() never goes back. */
	t0 = px_now();
	px_async_reset();
	k0 = fk.now;
	px_sleep_for(&s, TIMER_MS(5));
	CHECK_EQ(px_run(&s.base), 0);
	CHECK(fk.now - k0 >= TIMER_MS(4));
	CHECK(px_now() >= t0 + TIMER_MS(5));
}

/* One op in flight per (fd, direction) lane, in submission order: three
 * reads of fd 4 go to the kernel one after the other, fd 5's at once. */
TEST(reactor_lanes_one_op_at_a_time_in_order)
{
	static char buf[4][8];
	struct px_io rd[4];
	struct future *all[4];
	struct join_all j;

	setup();
	fk.on_wait = complete_reads_with_len;
	for (int i = 0; i < 4; i++) {
		px_io_read(&rd[i], i < 3 ? 4 : 5, buf[i], (size_t)i + 1);
		all[i] = &rd[i].base;
	}
	join_all_init(&j, all, 4);
	CHECK_EQ(px_run(&j.base), 0);
	CHECK_EQ(fk.nseen, 4);
	CHECK(fk.seen[0].addr == (uintptr_t)buf[0]);
	CHECK(fk.seen[1].addr == (uintptr_t)buf[3]);
	CHECK(fk.seen[2].addr == (uintptr_t)buf[1]);
	CHECK(fk.seen[3].addr == (uintptr_t)buf[2]);
	CHECK_EQ(fk.enters[0].to_submit, 2);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(rd[i].result, i + 1);
	CHECK_EQ(slots_in_use(), 0);
}

/* A read waiting on its lane behind one that is dropped with bytes gets
 * those bytes, before anything newer, without asking the kernel. */
TEST(reactor_queued_read_gets_the_dropped_reads_bytes)
{
	static char a[8], b[8];
	struct px_io ra, rb;
	struct context cx = { waker_noop() };

	setup();
	px_async_reset();
	px_io_read(&ra, 9, a, sizeof(a));
	CHECK_EQ(px_io_poll(&ra, &cx), POLL_PENDING);
	px_io_read(&rb, 9, b, sizeof(b));
	CHECK_EQ(px_io_poll(&rb, &cx), POLL_PENDING);
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);    /* ra only */
	memcpy(a, "hi", 2);
	fk_complete_all(PX_OP_READ, res_two);
	px_io_drop(&ra);
	CHECK_EQ(ra.result, -PX_ECANCELED);
	int seen = fk.nseen;
	CHECK_EQ(px_io_poll(&rb, &cx), POLL_READY);
	CHECK_EQ(rb.result, 2);
	CHECK(memcmp(b, "hi", 2) == 0);
	CHECK_EQ(fk.nseen, seen);
	CHECK_EQ(fk.npend, 0);
	CHECK_EQ(slots_in_use(), 0);
}

/* At most ops_max (8 here) ops in the kernel, at most half of them not
 * in a lane: ten TIMEOUTs go four at a time, and a read still gets in
 * at once while they wait; a dropped queued op leaves without a trace. */
TEST(reactor_queue_keeps_the_kernel_limit)
{
	static char buf[8];
	struct px_io tmo[10], rd, late;
	struct context cx = { waker_noop() };

	setup();
	px_async_reset();
	uint64_t c0 = cancels();
	for (int i = 0; i < 10; i++) {
		px_io_timeout(&tmo[i], TIMER_MS(1 + (uint64_t)i));
		CHECK_EQ(px_io_poll(&tmo[i], &cx), POLL_PENDING);
	}
	px_io_read(&rd, 3, buf, sizeof(buf));
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);
	px_io_nop(&late);
	CHECK_EQ(px_io_poll(&late, &cx), POLL_PENDING);
	px_io_drop(&late);                          /* queued: no CANCEL */
	CHECK_EQ(late.result, -PX_ECANCELED);
	px_ring_submit(px_reactor_ring(), 0, 0);   /* (the 4-entry SQ filled once) */
	CHECK_EQ(fk.npend, 5);
	CHECK_EQ(fk.nseen, 5);
	CHECK_EQ(fk.seen[4].op, PX_OP_READ);
	CHECK_EQ(cancels(), c0);
	fk.on_wait = complete_reads_with_len;
	for (int i = 0; i < 10; i++) {
		/* What a park does: submit, wait, reap (and the reap lets
		 * queued ops whose turn came into the SQ). */
		while (px_io_poll(&tmo[i], &cx) == POLL_PENDING) {
			CHECK(fk.npend <= 5);
			px_ring_submit(px_reactor_ring(), 1, PX_RING_FOREVER);
			px_reactor_reap();
			if (rd.state == 1)
				px_io_poll(&rd, &cx);
		}
		CHECK_EQ(tmo[i].result, -PX_ETIME);
	}
	CHECK_EQ(rd.result, 8);
	CHECK_EQ(slots_in_use(), 0);
}

/* px_io_cancel (and drop): a read the kernel completed before the CANCEL keeps its
 * bytes; one still pending reports -PX_ECANCELED; one never submitted
 * too; a finished one its result. */
TEST(reactor_cancel_reports_what_the_op_did)
{
	static char buf[8];
	struct px_io rd;
	struct context cx = { waker_noop() };

	setup();
	px_async_reset();
	px_io_read(&rd, 6, buf, sizeof(buf));
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);
	complete_reads_with_len();      /* CQE posted, not reaped */
	CHECK_EQ(px_io_cancel(&rd), 8);
	CHECK_EQ(fk.seen[fk.nseen - 1].op, PX_OP_CANCEL);
	CHECK_EQ(slots_in_use(), 0);

	px_io_read(&rd, 6, buf, sizeof(buf));
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);
	CHECK_EQ(px_io_cancel(&rd), -PX_ECANCELED);
	CHECK_EQ(fk.npend, 0);
	CHECK_EQ(slots_in_use(), 0);

	px_io_read(&rd, 6, buf, sizeof(buf));
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);
	CHECK_EQ(px_io_cancel(&rd), -PX_ECANCELED);     /* rewritten to a NOP */
	px_reactor_reap();
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);
	CHECK_EQ(px_reactor_reap(), 1);
	CHECK_EQ(slots_in_use(), 0);
	CHECK_EQ(px_io_cancel(&rd), -PX_ECANCELED);     /* still: done */

	/* Drop (select2's loser, a timeout's inner) of a read that had its
	 * bytes keeps them: fd 6's next reads return them, in order, before
	 * asking the kernel; other fds do not see them; close forgets them. */
	px_io_read(&rd, 6, buf, 5);
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);
	memcpy(buf, "hello", 5);        /* what the kernel "read" */
	complete_reads_with_len();
	px_io_drop(&rd);
	CHECK_EQ(rd.result, -PX_ECANCELED);
	CHECK_EQ(slots_in_use(), 0);
	CHECK(px_fd_read_hook != NULL && px_fd_close_hook != NULL);
	memset(buf, 0, sizeof(buf));
	int seen = fk.nseen;
	px_io_read(&rd, 7, buf, 5);
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);       /* fd 7: the kernel's */
	px_io_drop(&rd);                                     /* never submitted */
	px_io_read(&rd, 6, buf, 3);
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_READY);
	CHECK_EQ(rd.result, 3);
	CHECK(memcmp(buf, "hel", 3) == 0);
	CHECK_EQ(px_fd_read_hook(6, buf, sizeof(buf)), 2);  /* plain read() */
	CHECK(memcmp(buf, "lo", 2) == 0);
	CHECK_EQ(px_fd_read_hook(6, buf, sizeof(buf)), 0);  /* all returned */
	px_io_read(&rd, 6, buf, 5);
	CHECK(px_io_poll(&rd, &cx) == POLL_PENDING);
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 2);  /* fd 7's NOP too */
	memcpy(buf, "again", 5);
	complete_reads_with_len();
	px_io_drop(&rd);
	px_fd_close_hook(6);
	CHECK_EQ(px_fd_read_hook(6, buf, sizeof(buf)), 0);  /* closed: forgotten */
	CHECK(fk.nseen > seen);
	px_io_read(&rd, 6, buf, 5);
	CHECK_EQ(px_io_poll(&rd, &cx), POLL_PENDING);
	CHECK(px_ring_submit(px_reactor_ring(), 0, 0) == 1);
	px_io_drop(&rd);
	CHECK_EQ(rd.result, -PX_ECANCELED);
	CHECK_EQ(slots_in_use(), 0);
}

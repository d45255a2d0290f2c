/* The user reactor: the executor's hooks on the completion ring, completion slots, ring I/O futures. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdhook.h"
#include "px.h"
#include "px_async.h"
#include "ticks.h"
#include "utrace.h"

/*
 * Everything here runs on the program's one thread, so the reactor's
 * state needs no lock and no atomics: the only memory shared with another
 * agent is the ring, and px_ring.h does its barriers.  See px_async.h for
 * the executor hooks, the slot life cycle and the buffer rule.
 */

/* A completion slot: what a CQE's user_data points at.  8-byte aligned, so
 * bit 0 of a user_data is free to mark "the CANCEL naming this slot". */
struct px_slot {
	struct waker waker;             /* OWNED: woken by the op's completion */
	long long result;               /* the op's res, once !(flags & SLOT_OP) */
	unsigned flags;
	int lane;                       /* its (fd, direction) lane, or -1 */
	struct px_io *io;               /* OWNED: the future (its SQE) */
	struct px_slot *next_free;      /* free list; the wait queue while QUEUED */
	struct px_slot *next_all;       /* every slot ever made (reset walks them) */
};

#define SLOT_OWNED  1u  /* a px_io holds it */
#define SLOT_OP     2u  /* the op's completion has not arrived */
#define SLOT_CANCEL 4u  /* the CANCEL's completion has not arrived */
#define SLOT_QUEUED 8u  /* waits in the reactor's queue for its turn */
#define SLOT_RETRY 16u  /* the kernel could not start it (-PX_EAGAIN):
                           goes again when its future polls; keeps its lane */
#define UD_CANCEL   1u  /* user_data bit: this is the CANCEL's completion */

#define SLOT_POOL 64    /* static slots; more come from malloc, and stay */
#define LANE_FDS PX_NFD_MAX /* fds with lanes: every fd a process can have */

enum { IO_NEW = 0, IO_INFLIGHT = 1, IO_DONE = 2 };

/* Bytes a READ brought in before it was dropped: fd's next read returns
 * them first (see "cancel-safe reads" below). */
struct px_kept {
	struct px_kept *next;
	int fd;
	size_t off, len;                /* data[off, len) not yet read */
	char data[];
};

static struct reactor {
	int inited;
	long ring_err;                  /* 0: ring usable; else ring_setup's error */
	int token;                      /* unpark came before park */
	int virtual_time;               /* idle waits for timers take no time */
	uint64_t skew;                  /* ns px_now() is ahead of the kernel's clock */
	struct px_ring ring;
	struct px_slot *free_slots;
	struct px_slot *all_slots;
	struct px_kept *kept;           /* at most one per fd */
	struct px_slot *qhead, *qtail;  /* ops waiting for their turn, in order */
	unsigned inflight;              /* ops the kernel has (SLOT_OP) */
	unsigned inflight_other;        /* ... of them not in a lane */
	uint64_t lane_busy[2 * LANE_FDS / 64]; /* a bit per lane */
	int pump_held;                  /* a drop is deciding what to keep */
	unsigned pool_used;
	struct px_reactor_stats stats;
	struct px_slot pool[SLOT_POOL];
	struct executor exec;
} R;

static void lane_set(unsigned lane, bool busy)
{
	if (busy)
		R.lane_busy[lane / 64] |= 1ull << (lane % 64);
	else
		R.lane_busy[lane / 64] &= ~(1ull << (lane % 64));
}

/* ---- failures ----------------------------------------------------------------*/

static _Noreturn void reactor_fatal(const char *what, long err)
{
	fprintf(stderr, "px reactor: %s (%ld)\n", what, err);
	exit(134);
}

static _Noreturn void reactor_deadlock(void)
{
	fprintf(stderr, "px reactor: deadlock: every task waits, but no timer "
	        "and no ring operation is pending, so nothing can wake them\n");
	exit(PX_ASYNC_DEADLOCK);
}

/* ---- slots -------------------------------------------------------------------*/

static struct px_slot *slot_alloc(void)
{
	struct px_slot *s = R.free_slots;

	if (s) {
		R.free_slots = s->next_free;
	} else {
		if (R.pool_used < SLOT_POOL)
			s = &R.pool[R.pool_used++];
		else if (!(s = malloc(sizeof(*s))))
			return NULL;
		s->next_all = R.all_slots;
		R.all_slots = s;
	}
	s->waker = WAKER_NONE;
	s->result = 0;
	s->flags = 0;
	s->next_free = NULL;
	R.stats.slots_in_use++;
	return s;
}

static void op_done(struct px_slot *s);
static long reactor_enter(unsigned min_complete, uint64_t timeout_ns);
static long kept_take(int fd, void *buf, size_t n);

/* Clear `bits`; the slot is free once nothing is left.  Clearing SLOT_OP
 * (the op's completion arrived) gives its place in flight back.  (Inline:
 * every completion and every finished future pass here, and with `bits`
 * a constant little is left of it.) */
static inline __attribute__((always_inline))
void slot_clear(struct px_slot *s, unsigned bits)
{
	if (bits & s->flags & SLOT_OP)
		op_done(s);
	s->flags &= ~bits;
	if (s->flags)
		return;
	EXEC_ASSERT(waker_is_none(&s->waker));
	s->next_free = R.free_slots;
	R.free_slots = s;
	R.stats.slots_in_use--;
}

/* ---- operations in flight, and the queue --------------------------------------
 *
 * The kernel runs at most ring.ops_max operations of a ring at once and
 * completes more with -PX_EAGAIN.  Handing every op to the kernel as soon
 * as its future is polled would let ops that wait for each other use up
 * that limit: 200 writes blocked on a full pipe, and the read that would
 * empty it refused.  So the reactor decides what goes in:
 *
 *   lanes   a READ or a WRITE of fd f waits while an earlier op of the
 *           same fd and direction is in flight (one lane per (f, READ)
 *           and (f, WRITE)); lanes are served in submission order, so a
 *           stream's reads and writes also keep their order.  Ops on one
 *           lane wait for each other in any case: the kernel has them one
 *           after the other, or in any order.
 *   others  NOP, TIMEOUT, BLK_*: at most ops_max / 2 in flight.
 *   total   at most ops_max in flight.
 *
 * An op that may not go yet waits in the queue (SLOT_QUEUED) and goes,
 * in order, as soon as its turn comes: at the next poll of a new op or
 * the next park, after completions freed room.  With N lanes busy at
 * once an op waits for at most the ops ahead of it on its own lane, as
 * long as N <= ops_max - ops_max / 2 (64 with the default ring, 1,024
 * with a ring of PX_RING_MAX entries): a blocked op on one fd never
 * keeps out the op on another that would unblock it.  An op the kernel
 * still refuses (-PX_EAGAIN: a slot of a finished op not yet handed back
 * on another hart) goes again, first on its lane.
 */

/* A socket's RECV and SEND are its stream's reads and writes: the same
 * lanes, the same keeping of a dropped read's bytes. */
static int op_reads(unsigned op)
{
	return op == PX_OP_READ || op == PX_OP_RECV;
}

static int op_writes(unsigned op)
{
	return op == PX_OP_WRITE || op == PX_OP_SEND;
}

static int op_lane(const struct px_sqe *sqe)
{
	if ((!op_reads(sqe->op) && !op_writes(sqe->op)) ||
	    sqe->fd < 0 || sqe->fd >= LANE_FDS)
		return -1;
	return 2 * sqe->fd + op_writes(sqe->op);
}

static unsigned others_max(void)
{
	return R.ring.ops_max > 1 ? R.ring.ops_max / 2 : 1;
}

/* The op's completion arrived (or its SQE became a NOP that will):
 * its place in flight is free; its lane too, unless it goes again. */
static void op_done(struct px_slot *s)
{
	R.inflight--;
	if (s->lane < 0)
		R.inflight_other--;
	if (s->result == -PX_EAGAIN && (s->flags & (SLOT_OWNED | SLOT_CANCEL)) == SLOT_OWNED)
		s->flags |= SLOT_RETRY;
	else if (s->lane >= 0)
		lane_set(s->lane, false);
}

static void queue_push(struct px_slot *s, int front)
{
	s->flags |= SLOT_QUEUED;
	s->next_free = NULL;
	if (!R.qhead) {
		R.qhead = R.qtail = s;
	} else if (front) {
		s->next_free = R.qhead;
		R.qhead = s;
	} else {
		R.qtail->next_free = s;
		R.qtail = s;
	}
}

static void queue_unlink(struct px_slot *s)
{
	struct px_slot **p = &R.qhead, *prev = NULL;

	while (*p != s) {
		prev = *p;
		p = &(*p)->next_free;
	}
	*p = s->next_free;
	if (R.qtail == s)
		R.qtail = prev;
	s->next_free = NULL;
	s->flags &= ~SLOT_QUEUED;
}

static inline __attribute__((always_inline)) int op_may_go(const struct px_slot *s)
{
	if (R.inflight >= R.ring.ops_max)
		return 0;
	if (s->lane >= 0)
		return !(R.lane_busy[s->lane / 64] >> (s->lane % 64) & 1);
	return R.inflight_other < others_max();
}

/* The op goes to the kernel: its SQE, filled from the future's.  (Inline:
 * it is most of what submitting costs, and both callers are hot.) */
static inline __attribute__((always_inline))
void op_submit(struct px_slot *s, struct px_sqe *sqe)
{
	*sqe = s->io->sqe;
	sqe->user_data = (uint64_t)(uintptr_t)s;
	s->io->sq_index = R.ring.sq_tail - 1;
	s->flags |= SLOT_OP;
	R.inflight++;
	if (s->lane >= 0)
		lane_set(s->lane, true);
	else
		R.inflight_other++;
}

/* Hand the ops whose turn has come to the kernel, in queue order: into
 * the SQ (submitted by the next ring_enter), or, when the SQ fills, into
 * the kernel at once to make room. */
static void reactor_pump_queue(void)
{
	struct px_slot *s, *next;
	struct px_sqe *sqe;

	for (s = R.qhead; s; s = next) {
		next = s->next_free;
		if (!op_may_go(s))
			continue;
		if (op_reads(s->io->sqe.op) && R.kept && s->io->sqe.len &&
		    (s->result = kept_take(s->io->sqe.fd, (void *)(uintptr_t)s->io->sqe.addr,
		                           s->io->sqe.len)) > 0) {
			/* Bytes of a read on this lane that was dropped come
			 * first: this read gets them, the kernel is not asked. */
			queue_unlink(s);
			waker_wake(&s->waker);
			continue;
		}
		if (!(sqe = px_ring_get_sqe(&R.ring))) {
			if (reactor_enter(0, 0) <= 0)
				return;         /* nothing went in: the next park */
			if (!(sqe = px_ring_get_sqe(&R.ring)))
				return;
		}
		queue_unlink(s);
		op_submit(s, sqe);
	}
}

/* Called wherever room may have come (a completion) or an op was queued;
 * mostly the queue is empty, which costs only this test. */
static inline void reactor_pump(void)
{
	if (R.qhead && !R.pump_held)
		reactor_pump_queue();
}

/* ---- cancel-safe reads -------------------------------------------------------
 *
 * A READ that completes in the kernel just before its CANCEL (or whose
 * completion was reaped but not yet looked at) has taken bytes out of
 * the file, and the future that asked for them is being dropped by a
 * timeout, a select2 or an abort.  The bytes are kept here, in order,
 * and the fd's next read (px_io_read, or plain read()) returns them
 * before anything new: a stream read through futures that may be
 * dropped loses nothing and duplicates nothing.
 */

static struct px_kept **kept_find(int fd)
{
	struct px_kept **k = &R.kept;

	while (*k && (*k)->fd != fd)
		k = &(*k)->next;
	return k;
}

/* Up to n kept bytes of fd into buf; 0 if none are kept. */
static long kept_take(int fd, void *buf, size_t n)
{
	struct px_kept **pk = kept_find(fd), *k = *pk;
	size_t m;

	if (!k)
		return 0;
	m = k->len - k->off < n ? k->len - k->off : n;
	memcpy(buf, k->data + k->off, m);
	k->off += m;
	if (k->off == k->len) {
		*pk = k->next;
		free(k);
	}
	return (long)m;
}

static void kept_forget(int fd)
{
	struct px_kept **pk = kept_find(fd), *k = *pk;

	if (k) {
		*pk = k->next;
		free(k);
	}
}

/* Keep n bytes a dropped read of fd brought, after those already kept. */
static void kept_put(int fd, const void *buf, size_t n)
{
	struct px_kept **pk = kept_find(fd), *old = *pk, *k;
	size_t have = old ? old->len - old->off : 0;

	if (!(k = malloc(sizeof(*k) + have + n)))
		reactor_fatal("no memory to keep the bytes of a dropped read", (long)n);
	k->fd = fd;
	k->off = 0;
	k->len = have + n;
	if (old)
		memcpy(k->data, old->data + old->off, have);
	memcpy(k->data + have, buf, n);
	k->next = old ? old->next : NULL;
	*pk = k;
	free(old);
	px_fd_read_hook = kept_take;
	px_fd_close_hook = kept_forget;
}

/* ---- the ring ----------------------------------------------------------------*/

/* Publish and enter.  Transient results (busy backlog, timeout) are
 * normal; anything else means our ring is corrupt: a library bug. */
static long reactor_enter(unsigned min_complete, uint64_t timeout_ns)
{
	long r;

	r = px_ring_submit(&R.ring, min_complete, timeout_ns);
	R.stats.enters++;
	if (r > 0)
		R.stats.submitted += (uint64_t)r;
	else if (r < 0 && r != -PX_EBUSY && r != -PX_ETIME && r != -PX_EINTR)
		reactor_fatal("ring_enter failed", r);
	return r;
}

/* One completion: user_data names a slot (bit 0: the slot's CANCEL). */
static void reactor_complete(uint64_t user_data, long long res)
{
	UTR_REAP(user_data, res);
	/* LAB 7 BEGIN */
	struct px_slot *s = (struct px_slot *)(uintptr_t)(user_data & ~(uint64_t)UD_CANCEL);

	if (!s)
		return;                 /* nobody waits for this one */
	if (user_data & UD_CANCEL) {
		if (!(s->flags & SLOT_CANCEL))
			reactor_fatal("completion for a CANCEL not in flight", (long)user_data);
		slot_clear(s, SLOT_CANCEL);
		return;
	}
	if (!(s->flags & SLOT_OP))
		reactor_fatal("completion for an operation not in flight", (long)user_data);
	s->result = res;
	if (s->flags & SLOT_OWNED)
		waker_wake(&s->waker);  /* the task runs after the CQ walk */
	slot_clear(s, SLOT_OP);
	/* LAB 7 STUB
	// LAB 7: find the slot user_data names, store res, wake its waker,
	// free what is done (docs/labs/lab7.md).
	(void)user_data;
	(void)res;
	(void)slot_clear;
	reactor_fatal("LAB 7: implement reactor_complete (user/lib/reactor.c)", -PX_ENOSYS);
	   LAB 7 END */
}

unsigned px_reactor_reap(void)
{
	unsigned n = 0;
	uint32_t ready;

	if (R.ring_err)
		return 0;
	/* LAB 7 BEGIN */
	while ((ready = px_ring_cq_ready(&R.ring)) != 0) {
		for (uint32_t i = 0; i < ready; i++) {
			const struct px_cqe *c = px_ring_cqe_at(&R.ring, i);
			reactor_complete(c->user_data, c->res);
		}
		/* Completions only touch slots and queue tasks, never the
		 * ring, so the entries can go back after the walk. */
		px_ring_cq_advance(&R.ring, ready);
		n += ready;
	}
	/* LAB 7 STUB
	// LAB 7: walk the ready CQEs, complete each, give them back
	// (docs/labs/lab7.md).
	(void)ready;
	(void)reactor_complete;
	reactor_fatal("LAB 7: implement px_reactor_reap (user/lib/reactor.c)", -PX_ENOSYS);
	   LAB 7 END */
	R.stats.completions += n;
	if (n)
		reactor_pump();         /* completions made room: queued ops go in */
	return n;
}

/* Reap, and while the kernel holds completions back (CQ overflow), let
 * it move them in and reap again. */
static void reactor_reap_all(void)
{
	px_reactor_reap();
	while (px_ring_cq_overflowed(&R.ring)) {
		reactor_enter(0, 0);
		if (px_reactor_reap() == 0)
			break;
	}
}

/* A free SQE; if the SQ is full, submit (and reap, in case the kernel
 * refused for lack of CQ room) and try again.  NULL if still full. */
static struct px_sqe *reactor_get_sqe(void)
{
	struct px_sqe *sqe = px_ring_get_sqe(&R.ring);

	if (sqe)
		return sqe;
	reactor_enter(0, 0);
	px_reactor_reap();
	return px_ring_get_sqe(&R.ring);
}

/* ---- the executor's hooks ------------------------------------------------------*/

/*
 * The clock without a syscall (the executor reads it several times per
 * wake-up): the arch's time counter, which user mode may read (riscv64
 * scounteren.TM, aarch64 CNTKCTL_EL1.EL0PCTEN), times the ns per tick the
 * kernel reports (PX_KSTAT_TIMER_HZ) — the kernel's own ktimer_now_ns,
 * so the same time clock_gettime returns.  A frequency that is not a
 * whole number of ns per tick falls back to clock_gettime, and so does
 * the host build of the reactor's tests (its clock_gettime is the test's).
 */
#if defined(__riscv) || defined(__aarch64__)
static uint64_t ns_per_tick; /* 0: not asked yet; UINT64_MAX: use the syscall */
#endif

uint64_t px_now(void)
{
	struct px_timespec ts;

#if defined(__riscv) || defined(__aarch64__)
	if (ns_per_tick == 0) {
		long hz = px_kstat(PX_KSTAT_TIMER_HZ);
		ns_per_tick = hz > 0 && hz <= 1000000000 && 1000000000 % hz == 0
			      ? 1000000000ull / (uint64_t)hz : UINT64_MAX;
	}
	if (ns_per_tick != UINT64_MAX)
		return px_ticks() * ns_per_tick + R.skew;
#endif
	if (px_clock_gettime(CLOCK_MONOTONIC_ID, &ts) < 0)
		return R.skew;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + R.skew;
}

static uint64_t hook_now(void *ctx)
{
	(void)ctx;
	return px_now();
}

/* The executor has nothing to run until a completion or deadline_ns.
 * The time it compared the deadline with (park_from_ns) serves for the
 * wait's length: no clock reading here.  When completions end the wait,
 * the same reading goes back as the time after the park (park_now_ns):
 * the worker then knows no timer came due meanwhile that it had not
 * already fired, and reads no clock either.  (A deadline that passed
 * together with a completion fires at the worker's next look at its
 * timers, after the tasks the completions woke: a little late.) */
static void hook_park(void *ctx, unsigned worker, uint64_t deadline_ns)
{
	struct exec_worker *w = &R.exec.workers[worker];
	uint64_t now, timeout, reaped;

	(void)ctx;
	UTR_FLUSH();	/* about to enter the kernel anyway */
	if (R.token) {
		R.token = 0;
		return;
	}
	reactor_pump();                 /* ops whose turn came since the last park */
	if (deadline_ns == UINT64_MAX) {
		timeout = PX_RING_FOREVER;      /* no timer: no clock to read */
	} else {
		now = w->park_from_ns ? w->park_from_ns : px_now();
		timeout = deadline_ns > now ? deadline_ns - now : 0;
	}
	R.stats.parks++;
	reaped = R.stats.completions;
	if (R.virtual_time && deadline_ns != UINT64_MAX && R.stats.slots_in_use == 0) {
		/* Only a timer can end this wait, and nothing else can
		 * happen meanwhile: let the time pass at once. */
		R.skew += timeout;
		return;
	}
	if (R.ring_err) {
		/* No ring: only timers can wake us. */
		if (deadline_ns == UINT64_MAX)
			reactor_deadlock();
		px_sleep((timeout + 999999) / 1000000);
		return;
	}
	/* LAB 7 BEGIN */
	if (deadline_ns == UINT64_MAX && R.stats.slots_in_use == 0)
		reactor_deadlock();     /* every queued SQE has a slot */
	reactor_enter(1, timeout);
	reactor_reap_all();
	/* LAB 7 STUB
	// LAB 7: submit what the futures queued and sleep in the kernel until
	// a completion or the deadline, then reap (docs/labs/lab7.md).
	(void)timeout;
	(void)reactor_reap_all;
	reactor_fatal("LAB 7: implement hook_park (user/lib/reactor.c)", -PX_ENOSYS);
	   LAB 7 END */
	if (R.stats.completions != reaped)
		w->park_now_ns = w->park_from_ns;       /* 0: none, it reads */
	UTR_REAP_DONE();
}

/* Only this thread wakes tasks, and never while parked (see px_async.h):
 * remember it for the next park. */
static void hook_unpark(void *ctx, unsigned worker)
{
	(void)ctx;
	(void)worker;
	R.token = 1;
}

static const struct exec_hooks px_hooks = {
	hook_now, hook_park, hook_unpark, NULL,
};

long px_async_init(unsigned entries)
{
	if (R.inited)
		return R.ring_err;
	R.inited = 1;
	exec_init(&R.exec, &px_hooks, 1, 0);
	R.ring_err = px_ring_init(&R.ring, entries ? entries : PX_ASYNC_DEFAULT_ENTRIES);
	return R.ring_err;
}

struct executor *px_executor(void)
{
	px_async_init(0);
	return &R.exec;
}

struct px_ring *px_reactor_ring(void)
{
	px_async_init(0);
	return R.ring_err ? NULL : &R.ring;
}

void px_reactor_stats(struct px_reactor_stats *out)
{
	*out = R.stats;
}

/* Wait (at most about a second) for the completions of cancelled ops, so
 * the program does not exit with the kernel still using its memory. */
static void reactor_drain(void)
{
	uint64_t end = px_now() + TIMER_SEC(1);

	while (!R.ring_err && R.stats.slots_in_use > 0) {
		uint64_t now = px_now();
		if (now >= end)
			break;
		reactor_enter(1, end - now);
		reactor_reap_all();
	}
}

long px_run(struct future *main_future)
{
	long err = px_async_init(0);

	exec_block_on(&R.exec, main_future);
	exec_shutdown(&R.exec);         /* drops tasks still alive: their ops cancel */
	reactor_drain();
	return err;
}

/* ---- between tests ---------------------------------------------------------------*/

void px_async_inflight(struct px_async_inflight *out)
{
	out->tasks = 0;
	out->timers = 0;
	out->ops = 0;
	if (!R.inited)
		return;
	out->tasks = exec_live_tasks(&R.exec);
	out->timers = timer_wheel_pending(&R.exec.wheel);
	for (struct px_slot *s = R.all_slots; s; s = s->next_all)
		out->ops += (s->flags & SLOT_OWNED) != 0;
}

static int slots_busy(void)
{
	for (struct px_slot *s = R.all_slots; s; s = s->next_all)
		if (s->flags & (SLOT_OP | SLOT_CANCEL))
			return 1;
	return 0;
}

/* Cancel every operation whose future will never be polled or dropped
 * again, wait (boundedly) for the kernel to finish with all of them, then
 * take the slots back from those futures. */
static void reactor_cancel_all(void)
{
	struct px_slot *s;
	struct px_sqe *c;
	uint64_t end;

	if (R.ring_err)
		return;
	/* Ops the kernel never had: nothing to cancel. */
	for (s = R.all_slots; s; s = s->next_all) {
		if (s->flags & SLOT_QUEUED)
			queue_unlink(s);
		if ((s->flags & SLOT_RETRY) && s->lane >= 0)
			lane_set(s->lane, false);
		s->flags &= ~SLOT_RETRY;
	}
	if (slots_busy())       /* publish what is queued: every op is the kernel's */
		reactor_enter(0, 0);
	for (s = R.all_slots; s; s = s->next_all) {
		if ((s->flags & (SLOT_OP | SLOT_CANCEL)) != SLOT_OP)
			continue;
		while (!(c = reactor_get_sqe()))
			;                       /* each try submits and reaps */
		px_sqe_prep(c, PX_OP_CANCEL, 0, 0, (uint64_t)(uintptr_t)s, 0,
		            (uint64_t)(uintptr_t)s | UD_CANCEL);
		R.stats.cancels++;
		s->flags |= SLOT_CANCEL;
	}
	/* An op that completes wakes the waker its slot still owns: a task
	 * that is complete, so the wake only drops the reference. */
	end = px_now() + TIMER_SEC(2);
	while (slots_busy()) {
		uint64_t now = px_now();
		if (now >= end)
			break;                  /* the kernel keeps the rest (and their wakers) */
		reactor_enter(1, end - now);
		reactor_reap_all();
	}
	for (s = R.all_slots; s; s = s->next_all) {
		if ((s->flags & (SLOT_OWNED | SLOT_OP)) != SLOT_OWNED)
			continue;
		waker_drop(&s->waker);
		slot_clear(s, SLOT_OWNED);
	}
}

void px_async_reset(void)
{
	if (!R.inited) {
		px_async_init(0);
		return;
	}
	exec_shutdown(&R.exec);
	timer_wheel_cancel_all(&R.exec.wheel);
	reactor_cancel_all();
	R.token = 0;
	R.virtual_time = 0;
	exec_init(&R.exec, &px_hooks, 1, 0);
}

void px_async_virtual_time(int on)
{
	px_async_init(0);
	R.virtual_time = on;
}

/* ---- tasks on the heap ---------------------------------------------------------*/

static void *heap_alloc(struct task_src *src, size_t size)
{
	(void)src;
	return aligned_alloc(16, TASK_ALIGN_UP(size, 16));
}

static void heap_free(struct task_src *src, void *p, size_t size)
{
	(void)src;
	(void)size;
	free(p);
}

static struct task_src heap_src = { heap_alloc, heap_free };

int px_task_spawn(const struct task_desc *desc, struct join_handle *jh)
{
	return task_spawn(px_executor(), &heap_src, desc, jh);
}

/* ---- timers ----------------------------------------------------------------------*/

void px_sleep_for(struct sleep *s, uint64_t ns)
{
	sleep_for(s, exec_wheel(px_executor()), px_now(), ns);
}

void px_timeout_for(struct timeout *t, struct future *inner, uint64_t ns)
{
	struct timer_wheel *w = exec_wheel(px_executor());
	uint64_t now = px_now();

	timeout_init(t, inner, w, ns > UINT64_MAX - now ? TIMER_NEVER : now + ns);
}

void px_interval_every(struct interval *iv, uint64_t period_ns)
{
	interval_init(iv, exec_wheel(px_executor()), px_now() + period_ns, period_ns,
	              INTERVAL_SKIP);
}

/* ---- ring operations as futures ------------------------------------------------*/

static void io_init(struct px_io *io, unsigned op, int fd, uint64_t off,
                    const void *addr, uint64_t len)
{
	io->base.vtable = &px_io_vtable;
	/* A length beyond 32 bits is clipped: the op does less, as read() may. */
	px_sqe_prep(&io->sqe, op, fd, off, (uint64_t)(uintptr_t)addr,
	            len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, 0);
	io->slot = NULL;
	io->result = 0;
	io->state = IO_NEW;
	io->sq_index = 0;
}

void px_io_read(struct px_io *io, int fd, void *buf, size_t n)
{
	io_init(io, PX_OP_READ, fd, PX_OFF_CUR, buf, n);
}

void px_io_write(struct px_io *io, int fd, const void *buf, size_t n)
{
	io_init(io, PX_OP_WRITE, fd, PX_OFF_CUR, buf, n);
}

void px_io_blk_read(struct px_io *io, uint64_t sector, void *buf, size_t bytes)
{
	io_init(io, PX_OP_BLK_READ, 0, sector, buf, bytes);
}

void px_io_blk_write(struct px_io *io, uint64_t sector, const void *buf, size_t bytes)
{
	io_init(io, PX_OP_BLK_WRITE, 0, sector, buf, bytes);
}

void px_io_read_at(struct px_io *io, int fd, void *buf, size_t n, uint64_t off)
{
	io_init(io, PX_OP_READ, fd, off, buf, n);
}

void px_io_write_at(struct px_io *io, int fd, const void *buf, size_t n, uint64_t off)
{
	io_init(io, PX_OP_WRITE, fd, off, buf, n);
}

void px_io_openat(struct px_io *io, const char *path, int flags)
{
	io_init(io, PX_OP_OPENAT, 0, 0, path, (uint32_t)flags);
}

void px_io_close(struct px_io *io, int fd)
{
	io_init(io, PX_OP_CLOSE, fd, 0, NULL, 0);
}

void px_io_fstat(struct px_io *io, int fd, struct px_stat *st)
{
	io_init(io, PX_OP_FSTAT, fd, 0, st, 0);
}

void px_io_stat(struct px_io *io, const char *path, struct px_stat *st)
{
	io_init(io, PX_OP_STAT, 0, (uint64_t)(uintptr_t)st, path, 0);
}

void px_io_fsync(struct px_io *io, int fd)
{
	io_init(io, PX_OP_FSYNC, fd, 0, NULL, 0);
}

void px_io_mkdir(struct px_io *io, const char *path)
{
	io_init(io, PX_OP_MKDIR, 0, 0, path, 0);
}

void px_io_unlink(struct px_io *io, const char *path)
{
	io_init(io, PX_OP_UNLINK, 0, 0, path, 0);
}

void px_io_rmdir(struct px_io *io, const char *path)
{
	io_init(io, PX_OP_RMDIR, 0, 0, path, 0);
}

void px_io_rename(struct px_io *io, const char *from, const char *to)
{
	io_init(io, PX_OP_RENAME, 0, (uint64_t)(uintptr_t)to, from, 0);
}

void px_io_link(struct px_io *io, const char *from, const char *to)
{
	io_init(io, PX_OP_LINK, 0, (uint64_t)(uintptr_t)to, from, 0);
}

void px_io_getdents(struct px_io *io, int fd, struct px_dirent *buf, size_t n, uint64_t off)
{
	io_init(io, PX_OP_GETDENTS, fd, off, buf, n);
}

void px_io_ftruncate(struct px_io *io, int fd, uint64_t size)
{
	io_init(io, PX_OP_FTRUNCATE, fd, size, NULL, 0);
}

void px_io_accept(struct px_io *io, int fd, struct px_sockaddr_in *peer)
{
	io_init(io, PX_OP_ACCEPT, fd, 0, peer, 0);
}

void px_io_connect(struct px_io *io, int fd, const struct px_sockaddr_in *to)
{
	io_init(io, PX_OP_CONNECT, fd, 0, to, 0);
}

void px_io_recv(struct px_io *io, int fd, void *buf, size_t n)
{
	io_init(io, PX_OP_RECV, fd, 0, buf, n);
}

void px_io_send(struct px_io *io, int fd, const void *buf, size_t n)
{
	io_init(io, PX_OP_SEND, fd, 0, buf, n);
}

void px_io_nop(struct px_io *io)
{
	io_init(io, PX_OP_NOP, 0, 0, NULL, 0);
}

void px_io_timeout(struct px_io *io, uint64_t ns)
{
	io_init(io, PX_OP_TIMEOUT, 0, ns, NULL, 0);
}

/* First poll: take a slot and queue the op; it goes into the SQ when its
 * turn comes (at once, mostly; see "the queue"), and the next park
 * submits it.  Later polls: Ready once the reactor stored the result in
 * the slot. */
enum poll px_io_poll(struct px_io *io, struct context *cx)
{
	struct px_slot *s = io->slot;

	if (io->state == IO_INFLIGHT) {
		if (s->flags & SLOT_RETRY) {
			/* The kernel could not start it: again, first on its lane. */
			s->flags &= ~SLOT_RETRY;
			if (s->lane >= 0)
				lane_set(s->lane, false);
			queue_push(s, 1);
			reactor_pump();
		}
		if (s->flags & (SLOT_OP | SLOT_QUEUED)) {
			waker_register(&s->waker, cx->waker);
			return POLL_PENDING;
		}
		io->result = s->result;
		io->state = IO_DONE;
		io->slot = NULL;
		slot_clear(s, SLOT_OWNED);
		return POLL_READY;
	}
	EXEC_ASSERT(io->state == IO_NEW);
	if (op_reads(io->sqe.op) && R.kept && io->sqe.len &&
	    (io->result = kept_take(io->sqe.fd, (void *)(uintptr_t)io->sqe.addr,
	                            io->sqe.len)) > 0) {
		io->state = IO_DONE;
		return POLL_READY;
	}
	if (px_async_init(0) != 0) {
		io->result = R.ring_err;
		io->state = IO_DONE;
		return POLL_READY;
	}
	if (!(s = slot_alloc())) {
		io->result = -PX_ENOMEM;
		io->state = IO_DONE;
		return POLL_READY;
	}
	s->flags = SLOT_OWNED;
	s->lane = op_lane(&io->sqe);
	s->io = io;
	s->waker = waker_clone(cx->waker);
	io->slot = s;
	io->state = IO_INFLIGHT;
	/* The usual case: nothing waits ahead of it and its turn has come,
	 * so it goes straight into the SQ; otherwise it queues. */
	struct px_sqe *sqe;
	if (!R.qhead && !R.pump_held && op_may_go(s) && (sqe = px_ring_get_sqe(&R.ring))) {
		op_submit(s, sqe);
		return POLL_PENDING;
	}
	queue_push(s, 0);
	reactor_pump();
	return POLL_PENDING;
}

static int op_has_buffer(unsigned op)
{
	return op_reads(op) || op_writes(op) || op == PX_OP_BLK_READ ||
	       op == PX_OP_BLK_WRITE || op == PX_OP_FSTAT || op == PX_OP_STAT ||
	       op == PX_OP_GETDENTS || op == PX_OP_ACCEPT;
}

/* Cancel io if it is in flight.  wait: until its completion has arrived,
 * and return the op's result (its own, if it finished before the
 * CANCEL); otherwise the slot is orphaned.  -PX_ECANCELED for an op the
 * kernel never saw. */
static long long io_cancel_(struct px_io *io, int wait)
{
	struct px_slot *s = io->slot;
	struct px_sqe *c;
	long long res;

	if (io->state != IO_INFLIGHT) {
		res = io->state == IO_DONE ? io->result : -PX_ECANCELED;
		io->state = IO_DONE;
		return res;
	}
	io->state = IO_DONE;
	io->slot = NULL;
	waker_drop(&s->waker);
	if (s->flags & (SLOT_QUEUED | SLOT_RETRY)) {
		/* The kernel does not have it (any more): nothing to cancel. */
		if (s->flags & SLOT_QUEUED)
			queue_unlink(s);
		else if (s->lane >= 0)
			lane_set(s->lane, false);
		slot_clear(s, SLOT_OWNED | SLOT_RETRY);
		return -PX_ECANCELED;
	}
	if (!(s->flags & SLOT_OP)) {            /* completed, result unread */
		res = s->result;
		slot_clear(s, SLOT_OWNED);
		return res;
	}
	if ((int32_t)(io->sq_index - px_ring_load_acquire(&R.ring.sq->tail)) >= 0) {
		/* Not published (sq.tail is only ever written by us), so the
		 * kernel has not seen the SQE: make it a NOP. */
		struct px_sqe *q = &R.ring.sqes[io->sq_index & R.ring.sq_mask];
		px_sqe_prep(q, PX_OP_NOP, 0, 0, 0, 0, (uint64_t)(uintptr_t)s);
		slot_clear(s, SLOT_OWNED);
		return -PX_ECANCELED;
	}
	while (!(c = reactor_get_sqe()))
		;                               /* each try submits and reaps */
	px_sqe_prep(c, PX_OP_CANCEL, 0, 0, (uint64_t)(uintptr_t)s, 0,
	            (uint64_t)(uintptr_t)s | UD_CANCEL);
	R.stats.cancels++;
	s->flags |= SLOT_CANCEL;
	if (!wait) {
		/* Not freed here: SLOT_OP and SLOT_CANCEL remain. */
		s->flags &= ~SLOT_OWNED;
		return -PX_ECANCELED;
	}
	/* The kernel may use the buffer until the op completes: wait. */
	while (s->flags & SLOT_OP) {
		reactor_enter(1, PX_RING_FOREVER);
		reactor_reap_all();
	}
	res = s->result;
	slot_clear(s, SLOT_OWNED);
	return res;
}

/* Either way, io->result says what the op did. */
static long long io_cancel(struct px_io *io, int wait)
{
	return io->result = io_cancel_(io, wait);
}

/* A READ that had already taken bytes keeps them for fd's next read. */
void px_io_drop(struct px_io *io)
{
	int inflight = io->state == IO_INFLIGHT;
	long long res;

	/* No op of this lane may go while the bytes are not kept yet: they
	 * come before whatever a later read would get. */
	R.pump_held++;
	res = io_cancel(io, op_has_buffer(io->sqe.op));
	if (inflight && op_reads(io->sqe.op) && res > 0) {
		kept_put(io->sqe.fd, (const void *)(uintptr_t)io->sqe.addr, (size_t)res);
		io->result = -PX_ECANCELED;
	}
	R.pump_held--;
	if (inflight)
		reactor_pump();
}

long long px_io_cancel(struct px_io *io)
{
	return io_cancel(io, 1);
}

static enum poll io_vpoll(struct future *f, struct context *cx)
{
	return px_io_poll((struct px_io *)f, cx);
}

static void io_vdrop(struct future *f)
{
	px_io_drop((struct px_io *)f);
}

const struct future_vtable px_io_vtable = { io_vpoll, io_vdrop };

/* Lab 10's checkpoints: the UDP socket's receive future and its waker (kernel/net/udp_sock.c), on a fake stack. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/hosttest/lab_check.h"
#include "executor/notify.h"
#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/ktimer.h"
#include "kernel/net/net.h"
#include "kernel/net/net_kernel.h"
#include "kernel/net/udp_sock.h"
#include "kernel/uaccess.h"
#include "lib/uapi/pollux.h"

/*
 * The socket runs alone: this file is the stack it binds to, the lock it
 * takes, user memory (a "user address" is a host pointer), and the tasks
 * that poll its receive futures.  A datagram "arrives" the way the stack
 * delivers one: the bound callback, called with netk_lock held.
 *
 * Each reader is one receive future and one task waker that counts its
 * wakes; the tests poll readers in the order they choose.  The rules
 * checked everywhere:
 *   - a waker is cloned or dropped only outside netk_lock (a wake under
 *     it is fine: it only queues a task);
 *   - netk_lock is never taken twice, and is free when a poll returns;
 *   - every clone is consumed by the end (no leaked waker);
 *   - a reader is woken only when something happened for it: a datagram
 *     it may take, or the socket shut down (no busy polling).
 * lost_wake and random also deliver a datagram at the moment the
 * receive future lets go of netk_lock in the middle of a poll, as a
 * delivery on another hart could.
 */

/* ---- the environment -------------------------------------------------------------*/

static int lock_depth;
static void (*on_unlock)(void);  /* armed by a test: runs once, at the next unlock */

unsigned long netk_lock(void)
{
	EXPECT(lock_depth == 0, "netk_lock is not taken twice");
	lock_depth++;
	return 0;
}

void netk_unlock(unsigned long flags)
{
	(void)flags;
	EXPECT(lock_depth == 1, "netk_unlock only after netk_lock");
	lock_depth = 0;
	void (*hook)(void) = on_unlock;
	on_unlock = NULL;
	if (hook)
		hook();
}

bool netk_up(void)
{
	return true;
}

static net_udp_fn bound_fn;
static void *bound_arg;
static uint16_t bound_port;

int net_udp_bind(uint16_t port, net_udp_fn fn, void *arg)
{
	bound_fn = fn;
	bound_arg = arg;
	bound_port = port;
	return 0;
}

void net_udp_unbind(uint16_t port)
{
	CHECK_EQ(port, bound_port);
	bound_fn = NULL;
}

int net_echo_bind(uint16_t id, net_echo_fn fn, void *arg)
{
	(void)id, (void)fn, (void)arg;
	return NET_EINVAL;
}

void net_echo_unbind(uint16_t id)
{
	(void)id;
}

int net_udp_send(uint16_t sport, uint32_t ip, uint16_t dport, const void *data, size_t n,
		 uint64_t now)
{
	(void)sport, (void)ip, (void)dport, (void)data, (void)n, (void)now;
	return 0;
}

int net_ping_send(uint32_t ip, uint16_t id, uint16_t seq, const void *data, size_t n,
		  uint64_t now)
{
	(void)ip, (void)id, (void)seq, (void)data, (void)n, (void)now;
	return 0;
}

struct notify vnet_tx_room;

uint64_t ktimer_now_ns(void)
{
	return 0;
}

int copyout(const struct vm_root *vm, uint64_t dst_va, const void *src, size_t n)
{
	(void)vm;
	memcpy((void *)(uintptr_t)dst_va, src, n);
	return 0;
}

int copyin(const struct vm_root *vm, void *dst, uint64_t src_va, size_t n)
{
	(void)vm;
	memcpy(dst, (const void *)(uintptr_t)src_va, n);
	return 0;
}

int uaccess_ok(const struct vm_root *vm, uint64_t va, size_t n, unsigned need)
{
	(void)vm, (void)va, (void)n, (void)need;
	return 1;
}

static long live_allocs;

void *kmalloc(size_t size)
{
	live_allocs++;
	return calloc(1, size);
}

/* Not zeroed: filled, so a field read before it is written shows. */
void *kmalloc_raw(size_t size)
{
	void *p = malloc(size);
	if (p) {
		live_allocs++;
		memset(p, 0xa5, size);
	}
	return p;
}

void kfree(void *p, size_t size)
{
	(void)size;
	if (p)
		live_allocs--;
	free(p);
}

void *kpage_alloc(void)
{
	live_allocs++;
	return aligned_alloc(4096, 4096);
}

void kpage_free(void *page)
{
	if (page)
		live_allocs--;
	free(page);
}

/* ---- tasks: counting wakers ------------------------------------------------------*/

static long live_clones;

struct tw {
	unsigned wakes;
};

static struct raw_waker cw_clone(const void *data);
static void cw_wake(const void *data)
{
	((struct tw *)(uintptr_t)data)->wakes++;
	live_clones--;
}
static void cw_wake_by_ref(const void *data)
{
	((struct tw *)(uintptr_t)data)->wakes++;
}
static void cw_drop(const void *data)
{
	(void)data;
	EXPECT(lock_depth == 0, "no waker is dropped under netk_lock");
	live_clones--;
}
static const struct raw_waker_vtable cw_vtable = { cw_clone, cw_wake, cw_wake_by_ref, cw_drop };
static struct raw_waker cw_clone(const void *data)
{
	EXPECT(lock_depth == 0, "no waker is cloned under netk_lock");
	live_clones++;
	return (struct raw_waker){ data, &cw_vtable };
}

/* One receive future and the task that polls it. */
struct reader {
	union io_slot slot;
	struct tw task, other;  /* other: the waker of a second task (moved futures) */
	unsigned seen;          /* task.wakes already answered by a poll */
	bool polled, ready, dropped;
	int64_t result;
	uint8_t buf[2048];
	struct px_sockaddr_in from;
};

static struct file *sock;

static void rstart(struct reader *r, size_t n)
{
	memset(r, 0, sizeof(*r));
	int64_t st = udp_sock_recvfrom(sock, NULL, (uintptr_t)r->buf, n, (uintptr_t)&r->from,
				       &r->slot);
	CHECK_EQ(st, IO_STARTED);
}

static enum poll rpoll_with(struct reader *r, struct tw *t)
{
	if (r->ready || r->dropped)
		return POLL_READY;
	struct waker w = { { t, &cw_vtable } };
	struct context cx = { &w };
	r->seen = r->task.wakes;
	r->polled = true;
	enum poll p = r->slot.f.base.vtable->poll(&r->slot.f.base, &cx);
	EXPECT(lock_depth == 0, "netk_lock is free when a poll returns");
	if (p == POLL_READY) {
		r->ready = true;
		r->result = r->slot.f.result;
	}
	return p;
}

static enum poll rpoll(struct reader *r)
{
	return rpoll_with(r, &r->task);
}

static void rdrop(struct reader *r)
{
	if (!r->ready && !r->dropped)
		r->slot.f.base.vtable->drop(&r->slot.f.base);
	r->dropped = true;
}

/* Woken since its last poll. */
static bool woken(const struct reader *r)
{
	return r->task.wakes > r->seen;
}

/* A poll that must wait: Pending, and nobody woke the task for nothing. */
static void pend(struct reader *r)
{
	EXPECT(rpoll(r) == POLL_PENDING, "a reader waits while nothing is queued");
	EXPECT(!woken(r), "nobody wakes a reader while nothing arrives");
}

/* ---- datagrams ---------------------------------------------------------------------*/

#define SRC_IP 0x0a000202u
#define SRC_PORT 4000

static unsigned next_seq;  /* of the next datagram to arrive */

static size_t dgram_len(unsigned seq)
{
	return 1 + (seq * 37) % 200;
}

static uint8_t dgram_byte(unsigned seq, size_t i)
{
	return (uint8_t)(seq * 7 + i * 3);
}

/* Datagram seq arrives (the stack's callback, with netk_lock held). */
static void arrive_seq(unsigned seq)
{
	uint8_t d[256];
	size_t n = dgram_len(seq);
	for (size_t i = 0; i < n; i++)
		d[i] = dgram_byte(seq, i);
	CHECK(bound_fn != NULL);
	if (!bound_fn)
		return;
	unsigned long fl = netk_lock();
	bound_fn(bound_arg, SRC_IP, (uint16_t)(SRC_PORT + seq), bound_port, d, n);
	netk_unlock(fl);
}

static void arrive(void)
{
	arrive_seq(next_seq++);
}

/* r finished with datagram seq, whole, with its sender. */
static bool got(const struct reader *r, unsigned seq)
{
	if (!r->ready || r->result != (int64_t)dgram_len(seq))
		return false;
	for (size_t i = 0; i < dgram_len(seq); i++)
		if (r->buf[i] != dgram_byte(seq, i))
			return false;
	return r->from.family == PX_AF_INET && r->from.addr == SRC_IP &&
	       r->from.port == SRC_PORT + seq;
}

/* ---- per test -----------------------------------------------------------------------*/

static void setup(void)
{
	int err = 0;
	live_clones = 0;
	live_allocs = 0;
	lock_depth = 0;
	on_unlock = NULL;
	next_seq = 0;
	sock = udp_sock_open(PX_IPPROTO_UDP, &err);
	CHECK(sock != NULL);
	CHECK_EQ(udp_sock_bind(sock, 5555), 0);
}

static void teardown(void)
{
	on_unlock = NULL;
	file_put(sock);
	sock = NULL;
	EXPECT(live_clones == 0, "every waker cloned is woken or dropped");
	CHECK_EQ(live_allocs, 0);
}

/* ---- checkpoints ----------------------------------------------------------------------*/

/* A datagram already queued: Ready at the first poll, no waker kept. */
static void test_ready_at_once(void)
{
	setup();
	struct reader *r = calloc(1, sizeof(*r));
	arrive();
	arrive();
	rstart(r, sizeof(r->buf));
	EXPECT(rpoll(r) == POLL_READY, "a queued datagram is taken at the first poll");
	CHECK(got(r, 0));
	CHECK_EQ(r->task.wakes, 0);
	/* The next one, cut to the buffer. */
	rstart(r, 3);
	EXPECT(rpoll(r) == POLL_READY, "a queued datagram is taken at the first poll");
	CHECK_EQ(r->result, 3);
	CHECK(r->buf[0] == dgram_byte(1, 0) && r->buf[2] == dgram_byte(1, 2));
	CHECK_EQ(r->task.wakes, 0);
	/* Eight queued (a full queue), eight readers in turn, in order. */
	for (unsigned i = 0; i < 8; i++)
		arrive();
	for (unsigned i = 0; i < 8; i++) {
		rstart(r, sizeof(r->buf));
		EXPECT(rpoll(r) == POLL_READY, "a queued datagram is taken at the first poll");
		CHECK(got(r, 2 + i));
	}
	CHECK_EQ(r->task.wakes, 0);
	/* The queue is empty now: the next reader waits. */
	rstart(r, sizeof(r->buf));
	pend(r);
	rdrop(r);
	free(r);
	teardown();
}

/* An empty queue: Pending, not woken until a datagram arrives, then woken
 * once and Ready with it; the waker is the latest poll's. */
static void test_wake_on_arrival(void)
{
	setup();
	struct reader *r = calloc(1, sizeof(*r));
	rstart(r, sizeof(r->buf));
	pend(r);
	pend(r);
	arrive();
	EXPECT(r->task.wakes == 1, "a datagram wakes the waiting reader, once");
	EXPECT(rpoll(r) == POLL_READY, "the woken reader takes the datagram");
	CHECK(got(r, 0));
	CHECK_EQ(r->task.wakes, 1);

	/* Polled by one task, then by another (a future moved, a select): the
	 * wake goes to the second. */
	rstart(r, sizeof(r->buf));
	CHECK(rpoll(r) == POLL_PENDING);
	CHECK(rpoll_with(r, &r->other) == POLL_PENDING);
	arrive();
	EXPECT(r->other.wakes == 1, "the wake goes to the waker of the latest poll");
	EXPECT(r->task.wakes == 0, "a replaced waker is not woken");
	CHECK(rpoll_with(r, &r->other) == POLL_READY);
	CHECK(got(r, 1));
	free(r);
	teardown();
}

/* Three readers wait: each datagram wakes one, the oldest, and only it. */
static void test_one_per_datagram(void)
{
	setup();
	struct reader *r = calloc(3, sizeof(*r));
	for (unsigned i = 0; i < 3; i++) {
		rstart(&r[i], sizeof(r[i].buf));
		pend(&r[i]);
	}
	/* A spurious poll keeps a reader's place. */
	pend(&r[0]);
	for (unsigned k = 0; k < 3; k++) {
		arrive();
		for (unsigned i = 0; i < 3; i++)
			EXPECT(r[i].task.wakes == (i <= k),
			       "a datagram wakes one reader, the one waiting longest");
		EXPECT(rpoll(&r[k]) == POLL_READY, "the woken reader takes the datagram");
		CHECK(got(&r[k], k));
	}
	free(r);
	teardown();
}

static void race_arrive(void)
{
	arrive();
}

static void race_shut(void)
{
	udp_sock_shutdown(sock);
}

/* A datagram arrives while the receive future has let go of the lock in
 * the middle of a poll: the poll returns Ready with it, or Pending with
 * its task woken.  The same for a shutdown. */
static void test_lost_wake(void)
{
	setup();
	struct reader *r = calloc(1, sizeof(*r));
	for (unsigned k = 0; k < 4; k++) {
		rstart(r, sizeof(r->buf));
		if (k & 1)
			pend(r);  /* a second poll races, not the first */
		r->task.wakes = 0;
		r->seen = 0;
		on_unlock = race_arrive;
		enum poll p = rpoll(r);
		on_unlock = NULL;
		EXPECT(p == POLL_READY || woken(r),
		       "a datagram arriving during a poll is not lost: Ready, or the task woken");
		for (unsigned i = 0; i < 3 && p == POLL_PENDING && woken(r); i++)
			p = rpoll(r);
		EXPECT(p == POLL_READY, "the woken reader takes the datagram");
		CHECK(got(r, k));
	}
	free(r);
	teardown();

	setup();
	r = calloc(1, sizeof(*r));
	rstart(r, sizeof(r->buf));
	on_unlock = NULL;
	pend(r);
	on_unlock = race_shut;
	enum poll p = rpoll(r);
	on_unlock = NULL;
	EXPECT(p == POLL_READY || woken(r),
	       "a shutdown during a poll is not lost: Ready, or the task woken");
	for (unsigned i = 0; i < 3 && p == POLL_PENDING && woken(r); i++)
		p = rpoll(r);
	EXPECT(p == POLL_READY && r->result == -PX_EPIPE, "after a shutdown a reader gets -PX_EPIPE");
	rdrop(r);
	free(r);
	teardown();
}

/* A reader that leaves: dropped while waiting it is forgotten; dropped
 * after being woken for a datagram it did not take, it passes the wake on. */
static void test_drop(void)
{
	setup();
	struct reader *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	rstart(a, sizeof(a->buf));
	rstart(b, sizeof(b->buf));
	pend(a);
	pend(b);
	/* a leaves while waiting (its memory is gone: any later use of it is
	 * an AddressSanitizer error); the datagram wakes b. */
	rdrop(a);
	free(a);
	arrive();
	EXPECT(b->task.wakes == 1, "a dropped reader leaves the wait list");
	CHECK(rpoll(b) == POLL_READY && got(b, 0));

	a = calloc(1, sizeof(*a));
	rstart(a, sizeof(a->buf));
	rstart(b, sizeof(b->buf));
	pend(a);
	pend(b);
	arrive();
	CHECK(a->task.wakes == 1 && b->task.wakes == 0);
	rdrop(a);  /* woken, never took it */
	free(a);
	EXPECT(b->task.wakes == 1, "a woken reader dropped before it took the datagram wakes the next");
	CHECK(rpoll(b) == POLL_READY && got(b, 1));

	/* Dropped after Ready, or before its first poll: nothing happens. */
	a = calloc(1, sizeof(*a));
	rstart(a, sizeof(a->buf));
	a->slot.f.base.vtable->drop(&a->slot.f.base);
	rstart(b, sizeof(b->buf));
	arrive();
	CHECK(rpoll(b) == POLL_READY && got(b, 2));
	b->slot.f.base.vtable->drop(&b->slot.f.base);
	free(a);
	free(b);
	teardown();
}

/* Shutdown: every waiting reader is woken and gets -PX_EPIPE; queued
 * datagrams are taken first; nothing is queued after it. */
static void test_shutdown(void)
{
	setup();
	struct reader *r = calloc(3, sizeof(*r));
	rstart(&r[0], sizeof(r[0].buf));
	rstart(&r[1], sizeof(r[1].buf));
	pend(&r[0]);
	pend(&r[1]);
	udp_sock_shutdown(sock);
	EXPECT(r[0].task.wakes == 1 && r[1].task.wakes == 1, "a shutdown wakes every reader");
	CHECK(rpoll(&r[0]) == POLL_READY && r[0].result == -PX_EPIPE);
	CHECK(rpoll(&r[1]) == POLL_READY && r[1].result == -PX_EPIPE);
	rstart(&r[2], sizeof(r[2].buf));
	EXPECT(rpoll(&r[2]) == POLL_READY && r[2].result == -PX_EPIPE,
	       "a receive after the shutdown finishes at once");
	arrive();
	rstart(&r[2], sizeof(r[2].buf));
	EXPECT(rpoll(&r[2]) == POLL_READY && r[2].result == -PX_EPIPE,
	       "nothing is queued after a shutdown");
	teardown();

	setup();
	arrive();
	udp_sock_shutdown(sock);
	rstart(&r[0], sizeof(r[0].buf));
	EXPECT(rpoll(&r[0]) == POLL_READY && got(&r[0], 0),
	       "a datagram queued before the shutdown is still taken");
	rstart(&r[0], sizeof(r[0].buf));
	CHECK(rpoll(&r[0]) == POLL_READY && r[0].result == -PX_EPIPE);
	free(r);
	teardown();
}

/* r is Ready: with the next datagram in arrival order (some may have been
 * lost to a full queue), whole; or -PX_EPIPE after a shutdown. */
static void check_taken(const struct reader *r, unsigned *taken_next, bool shut_down)
{
	if (r->result >= 0) {
		unsigned seq = (unsigned)(r->from.port - SRC_PORT);
		EXPECT(seq >= *taken_next, "datagrams are taken in arrival order, once");
		EXPECT(got(r, seq), "a reader gets its datagram whole, with its sender");
		*taken_next = seq + 1;
	} else {
		EXPECT(r->result == -PX_EPIPE && shut_down, "-PX_EPIPE only after a shutdown");
	}
}

/* xorshift32, seeded per run. */
static uint32_t rng;
static unsigned below(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % n;
}

/* 200 seeded runs: six readers, datagrams arriving at random moments,
 * some in the middle of a poll, readers dropped and restarted, a
 * shutdown now and then.  Every datagram is taken once, in order, or
 * lost to a full queue (counted); a reader never sleeps while a datagram
 * waits for it; nobody is woken for nothing. */
static void test_random(void)
{
	enum { N = 6 };
	for (unsigned run = 0; run < 200 && !failed_checks; run++) {
		rng = 0x9e3779b9u * (run + 1);
		setup();
		struct reader *r[N];
		bool active[N] = { false };
		for (unsigned i = 0; i < N; i++)
			r[i] = calloc(1, sizeof(*r[i]));
		unsigned taken_next = 0; /* datagrams are taken in arrival order */
		bool shut_down = false;
		for (unsigned step = 0; step < 300; step++) {
			unsigned i = below(N), what = below(100);
			if (!active[i]) {
				rstart(r[i], sizeof(r[i]->buf));
				active[i] = true;
			} else if (what < 30) {
				arrive();
			} else if (what < 60) {
				on_unlock = below(2) ? race_arrive : NULL;
				if (rpoll(r[i]) == POLL_READY) {
					check_taken(r[i], &taken_next, shut_down);
					active[i] = false;
				}
				on_unlock = NULL;
			} else if (what < 70) {
				rdrop(r[i]);
				active[i] = false;
			} else if (what < 71 && !shut_down) {
				udp_sock_shutdown(sock);
				shut_down = true;
			} else if (what < 80) {
				/* A task gives up on a receive it was just woken for. */
				for (unsigned j = 0; j < N; j++)
					if (active[j] && woken(r[j])) {
						rdrop(r[j]);
						active[j] = false;
						break;
					}
			}
			/* Now and then the executor runs: it polls every woken reader
			 * until none is (in between, woken readers may be dropped). */
			if (below(2))
				continue;
			unsigned rounds = 0;
			for (bool again = true; again; rounds++) {
				again = false;
				if (rounds == 50) {
					EXPECT(rounds < 50, "a reader is not woken again and again for nothing");
					break;
				}
				for (unsigned j = 0; j < N; j++)
					if (active[j] && woken(r[j])) {
						EXPECT(r[j]->polled, "nobody wakes a reader while nothing arrives");
						again = true;
						if (rpoll(r[j]) == POLL_READY) {
							check_taken(r[j], &taken_next, shut_down);
							active[j] = false;
						}
					}
			}
			/* Nobody asleep while a datagram (or the shutdown) waits: a
			 * fresh reader finds nothing while another one sleeps. */
			bool sleeping = false;
			for (unsigned j = 0; j < N; j++)
				sleeping |= active[j] && r[j]->polled && !r[j]->ready;
			if (sleeping) {
				struct reader *probe = calloc(1, sizeof(*probe));
				rstart(probe, sizeof(probe->buf));
				EXPECT(rpoll(probe) == POLL_PENDING,
				       "no reader sleeps, unwoken, while a datagram waits or after a shutdown");
				if (probe->ready)
					check_taken(probe, &taken_next, shut_down);
				rdrop(probe);
				free(probe);
			}
		}
		for (unsigned j = 0; j < N; j++) {
			if (active[j])
				rdrop(r[j]);
			free(r[j]);
		}
		teardown();
	}
}

static const struct lab_test tests[] = {
	{ test_ready_at_once, "ready_at_once" },
	{ test_wake_on_arrival, "wake_on_arrival" },
	{ test_one_per_datagram, "one_per_datagram" },
	{ test_lost_wake, "lost_wake" },
	{ test_drop, "drop" },
	{ test_shutdown, "shutdown" },
	{ test_random, "random" },
};

/* usage: udp_sock_test [-T TOKEN] [NAME...] (lab_check_main). */
int main(int argc, char **argv)
{
	notify_init(&vnet_tx_room);
	return lab_check_main("udp_sock", tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}

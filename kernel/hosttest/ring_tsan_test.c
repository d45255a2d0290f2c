/* The ring's memory ordering under ThreadSanitizer: a program thread and a kernel thread share one fake ring. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/ring_queue.h"

/*
 * kernel/ring_queue.c on the host, with two real threads where the kernel
 * has a program on one hart and a ring operation on another.  The program
 * writes SQEs with plain stores and store-releases the SQ tail; the kernel
 * (rsq_available, rsq_take, rsq_publish) consumes them and posts one CQE
 * each (rq_reserve, rq_add, rq_publish); the program load-acquires the CQ
 * tail, reads each CQE with plain loads and store-releases the CQ head.
 * Only the acquire/release pairs order the plain accesses to the entries,
 * so ThreadSanitizer reports a data race (and the run fails) when one side
 * is relaxed: a CQ tail published relaxed, an SQ tail or CQ head read
 * without acquire.  The contents are checked too: every SQE arrives whole
 * and in order, every CQE names its SQE.
 *
 * usage: ring_tsan [-T TOKEN]; prints "ring_tsan ordering: OK [TOKEN]".
 */

#define ENTRIES 64      /* SQ 64, CQ 128, backlog 256 */
#define ROUNDS 20000
#define LIMIT_S 20      /* a ring that never delivers fails instead of hanging */

/* Halt at the first report: a race is a failure, whatever follows. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "halt_on_error=1:exitcode=66";
}

static void *sq_pages[RQ_MAX_PAGES], *cq_pages[RQ_MAX_PAGES];
static struct px_cqe *bl_pages[RQ_BL_PAGES];
static struct rsq sq;
static struct rq cq;
static atomic_int stop;
static const char *failure;

static struct px_ring_hdr *sqh(void) { return sq_pages[0]; }
static struct px_ring_hdr *cqh(void) { return cq_pages[0]; }

static char *at(void *const pages[], uint32_t off)
{
	return (char *)pages[off / RQ_PAGE] + off % RQ_PAGE;
}

static uint64_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void fail(const char *why)
{
	if (!atomic_exchange(&stop, 1))
		failure = why;
}

/* The kernel: what ring_submit does, minus the lock and the ops. */
static void *kernel_side(void *arg)
{
	(void)arg;
	uint64_t taken = 0, start = now_s();
	while (taken < ROUNDS && !atomic_load(&stop)) {
		if (now_s() - start > LIMIT_S) {
			fail("the kernel side timed out");
			break;
		}
		int64_t avail = rsq_available(&sq);
		if (avail < 0) {
			fail("rsq_available: the SQ looked corrupt");
			break;
		}
		if (avail == 0) {
			rq_flush(&cq);
			sched_yield();
			continue;
		}
		for (int64_t i = 0; i < avail; i++) {
			if (!rq_reserve(&cq)) {
				rq_flush(&cq);
				break;
			}
			struct px_sqe e;
			rsq_take(&sq, &e);
			if (e.user_data != taken || e.op != PX_OP_NOP || e.fd != (int)(taken & 0xffff) ||
			    e.off != taken * 3 || e.addr != ~taken || e.len != (unsigned)taken) {
				fail("an SQE arrived torn or out of order");
				return NULL;
			}
			rq_add(&cq, e.user_data, (int64_t)(e.user_data * 7));
			taken++;
		}
		/* ring_submit's order: completions, then the SQ head. */
		rq_publish(&cq);
		rsq_publish(&sq);
	}
	while (!atomic_load(&stop)) {     /* deliver the backlog */
		rq_flush(&cq);
		sched_yield();
	}
	return NULL;
}

/* The program's side: queue what fits in the SQ, as user/lib/ring.c does. */
static uint64_t pushed, reaped;

static void push_sqes(void)
{
	uint32_t tail = sqh()->tail;
	uint32_t head = atomic_load_explicit((_Atomic uint32_t *)&sqh()->head, memory_order_acquire);
	while (pushed < ROUNDS && tail - head < ENTRIES) {
		struct px_sqe e = { .op = PX_OP_NOP, .fd = (int)(pushed & 0xffff), .off = pushed * 3,
				    .addr = ~pushed, .len = (unsigned)pushed, .user_data = pushed };
		uint32_t off = RQ_HDR_BYTES + (tail & (ENTRIES - 1)) * (uint32_t)sizeof(e);
		for (size_t i = 0; i < sizeof(e); i++)
			*at(sq_pages, off + (uint32_t)i) = ((const char *)&e)[i];
		tail++;
		pushed++;
	}
	atomic_store_explicit((_Atomic uint32_t *)&sqh()->tail, tail, memory_order_release);
}

/* ... and reap up to `max` of the CQEs there; false if one was wrong. */
static int reap_cqes(uint32_t max)
{
	uint32_t ch = cqh()->head;
	uint32_t ct = atomic_load_explicit((_Atomic uint32_t *)&cqh()->tail, memory_order_acquire);
	if (ct - ch > max)
		ct = ch + max;
	for (; ch != ct; ch++) {
		uint32_t off = RQ_HDR_BYTES + (ch & (2 * ENTRIES - 1)) * (uint32_t)sizeof(struct px_cqe);
		const struct px_cqe *c = (const struct px_cqe *)(const void *)at(cq_pages, off);
		if (c->user_data != reaped || c->res != (int64_t)(reaped * 7))
			return 0;
		reaped++;
	}
	atomic_store_explicit((_Atomic uint32_t *)&cqh()->head, ch, memory_order_release);
	return 1;
}

/*
 * Two phases, over and over, so that neither side's release can stand in
 * for the other's (which would hide a relaxed one): fill (push only, until
 * the CQ is full and the backlog holds some), then drain (reap a few at a
 * time, push nothing).  While draining, the kernel refills each freed CQ
 * slot from its backlog, ordered after the program's reads of that slot
 * by the CQ head alone, and the program's reads after the kernel's writes
 * by the CQ tail alone.
 */
#define FILL_TO (4 * ENTRIES + ENTRIES)   /* SQ + CQ full, backlog half */
#define DRAIN_TO ENTRIES
#define REAP_MAX 8

static void program_side(void)
{
	uint64_t start = now_s();
	int filling = 1;
	while (reaped < ROUNDS && !atomic_load(&stop)) {
		if (now_s() - start > LIMIT_S) {
			fail("the program side timed out: completions went missing");
			return;
		}
		if (filling) {
			push_sqes();
			if (pushed - reaped >= FILL_TO || pushed == ROUNDS)
				filling = 0;
		} else {
			if (!reap_cqes(REAP_MAX)) {
				fail("a CQE arrived wrong or out of order");
				return;
			}
			if (pushed - reaped < DRAIN_TO && pushed < ROUNDS)
				filling = 1;
		}
		sched_yield();
	}
}

int main(int argc, char **argv)
{
	const char *token = argc >= 3 && strcmp(argv[1], "-T") == 0 ? argv[2] : NULL;
	pthread_t k;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (unsigned i = 0; i < RQ_MAX_PAGES; i++) {
		sq_pages[i] = aligned_alloc(RQ_PAGE, RQ_PAGE);
		cq_pages[i] = aligned_alloc(RQ_PAGE, RQ_PAGE);
		memset(sq_pages[i], 0, RQ_PAGE);
		memset(cq_pages[i], 0, RQ_PAGE);
	}
	for (unsigned i = 0; i < RQ_BL_PAGES; i++)
		bl_pages[i] = aligned_alloc(RQ_PAGE, RQ_PAGE);
	rsq_init(&sq, sq_pages, ENTRIES);
	rq_init(&cq, cq_pages, ENTRIES, bl_pages, 4 * ENTRIES);
	if (pthread_create(&k, NULL, kernel_side, NULL) != 0) {
		printf("ring_tsan ordering: FAILED (no thread)\n0 passed, 1 failed\n");
		return 1;
	}
	program_side();
	atomic_store(&stop, 1);
	pthread_join(k, NULL);
	if (failure) {
		printf("  %s\nring_tsan ordering: FAILED\n0 passed, 1 failed\n", failure);
		return 1;
	}
	printf("    %d SQEs in, %d CQEs out, in order, %llu through the backlog, no data race\n",
	       ROUNDS, ROUNDS, (unsigned long long)cq.overflowed);
	if (token)
		printf("ring_tsan ordering: OK [%s]\n", token);
	else
		printf("ring_tsan ordering: OK\n");
	printf("1 passed, 0 failed\n");
	return 0;
}

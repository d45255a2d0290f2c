/* In-kernel tests of the virtio-blk driver: patterns with many requests in flight, range errors, exhaustion. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/block_on.h"
#include "kernel/irq.h"
#include "kernel/machine.h"
#include "kernel/ktest/ktest.h"
#include "kernel/ktest/blk.h"
#include "kernel/virtio_blk.h"

#define SECT BLK_SECTOR_SIZE
#define REGION_START 64     /* test 1's sectors */
#define REGION_LEN 256
#define EXH_START 1024      /* test 3's sectors */
#define EXH_N 48            /* more than the 21 requests the queue holds */

static uint8_t wbuf[REGION_LEN * SECT], rbuf[REGION_LEN * SECT];
static struct blk_req reqs[REGION_LEN];
static struct future *futs[REGION_LEN];
/* Every 8-byte word names its sector and position, mixed with a seed from
 * the clock: stale data from an earlier run or a misplaced sector shows. */
static void fill_pattern(uint8_t *buf, uint64_t first, unsigned nsect, uint64_t seed)
{
	for (unsigned s = 0; s < nsect; s++)
		for (unsigned w = 0; w < SECT / 8; w++) {
			uint64_t v = ((first + s) << 20 | w) ^ seed;
			memcpy(buf + s * SECT + w * 8, &v, 8);
		}
}

static bool have_disk(void)
{
	if (blk_capacity() == 0) {
		printf("    no virtio-blk disk (run through scripts/ktest.sh)\n");
		return false;
	}
	return true;
}

/* Split [start, start+len) into requests of 1..8 sectors; returns how many. */
static unsigned plan(uint64_t start, unsigned len, uint8_t *buf, bool write)
{
	unsigned n = 0;
	for (unsigned off = 0; off < len; n++) {
		unsigned k = 1 + (unsigned)(ktest_rng() % 8);
		if (k > len - off)
			k = len - off;
		if (write)
			blk_write_init(&reqs[n], start + off, buf + off * SECT, k);
		else
			blk_read_init(&reqs[n], start + off, buf + off * SECT, k);
		futs[n] = &reqs[n].base;
		off += k;
	}
	return n;
}

/* Drive n requests; the first round goes out under a plug, so the device
 * is handed the whole first batch (as many as the queue holds) at once. */
static bool run_batch(unsigned n)
{
	struct context cx = { &ktest_count_waker };
	bool pending = true;

	blk_plug();
	for (unsigned i = 0; i < n; i++)
		pending &= future_poll(futs[i], &cx) == POLL_PENDING;
	blk_unplug();
	if (!pending)
		return false; /* refused up front: not what these tests expect */
	block_on_all(futs, n);
	return true;
}

static bool all_ok(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (reqs[i].result != BLK_OK) {
			printf("    request %u (sector %llu, %u sectors): %s\n", i,
			       (unsigned long long)reqs[i].sector, reqs[i].count,
			       blk_strerror(reqs[i].result));
			return false;
		}
	return true;
}

/* ---- 1: pattern over 256 sectors, 8+ requests in flight each way ---------*/

bool ktest_blk_pattern(void)
{
	if (!have_disk())
		return false;
	uint64_t seed = arch_timer_now() * 0x9e3779b97f4a7c15ULL;
	ktest_rng_seed(seed);
	fill_pattern(wbuf, REGION_START, REGION_LEN, seed);

	uint64_t elsewhere = ktest_device_irqs_off_hart0();
	unsigned n = plan(REGION_START, REGION_LEN, wbuf, true);
	blk_stats.inflight_max = 0;
	EXPECT(run_batch(n));
	EXPECT(all_ok(n));
	unsigned hw_write = blk_stats.inflight_max;

	memset(rbuf, 0, sizeof(rbuf));
	unsigned m = plan(REGION_START, REGION_LEN, rbuf, false);
	blk_stats.inflight_max = 0;
	EXPECT(run_batch(m));
	EXPECT(all_ok(m));
	unsigned hw_read = blk_stats.inflight_max;

	printf("    %u sectors: %u writes (up to %u in flight), %u reads (up to %u in flight)\n",
	       REGION_LEN, n, hw_write, m, hw_read);
	for (unsigned s = 0; s < REGION_LEN; s++)
		if (memcmp(rbuf + s * SECT, wbuf + s * SECT, SECT) != 0) {
			printf("    sector %u differs\n", REGION_START + s);
			return false;
		}
	EXPECT(hw_write >= 8);
	EXPECT(hw_read >= 8);
	/* With several harts the disk's interrupts go to another hart; the
	 * batches above completed, so its wakes reached this one. */
	if (machine.nharts > 1 && arch_irqc_spread_ok())
		EXPECT(ktest_device_irqs_off_hart0() > elsewhere);

	/* The whole region again as one request, the largest allowed. */
	memset(rbuf, 0, sizeof(rbuf));
	blk_read_init(&reqs[0], REGION_START, rbuf, REGION_LEN);
	block_on(&reqs[0].base);
	EXPECT(reqs[0].result == BLK_OK);
	EXPECT(memcmp(rbuf, wbuf, sizeof(rbuf)) == 0);
	EXPECT(blk_inflight() == 0);
	return true;
}

/* ---- 2: the end of the disk ------------------------------------------------*/

static int run1(struct blk_req *r)
{
	block_on(&r->base);
	return r->result;
}

bool ktest_blk_range(void)
{
	if (!have_disk())
		return false;
	uint64_t cap = blk_capacity();
	struct blk_req r;
	static uint8_t one[2 * SECT], back[2 * SECT];
	uint64_t seed = arch_timer_now();

	/* The last sector is fine, both ways. */
	fill_pattern(one, cap - 1, 1, seed);
	blk_write_init(&r, cap - 1, one, 1);
	EXPECT(run1(&r) == BLK_OK);
	memset(back, 0, sizeof(back));
	blk_read_init(&r, cap - 1, back, 1);
	EXPECT(run1(&r) == BLK_OK);
	EXPECT(memcmp(one, back, SECT) == 0);

	/* Past it: refused up front, never reaching the device. */
	uint64_t submitted = blk_stats.requests;
	blk_read_init(&r, cap - 1, back, 2);
	EXPECT(run1(&r) == BLK_ERANGE);
	blk_read_init(&r, cap, back, 1);
	EXPECT(run1(&r) == BLK_ERANGE);
	blk_write_init(&r, UINT64_MAX, one, 1);
	EXPECT(run1(&r) == BLK_ERANGE);
	blk_read_init(&r, 0, back, 0);
	EXPECT(run1(&r) == BLK_EINVAL);
	blk_read_init(&r, 0, back, BLK_MAX_SECTORS + 1);
	EXPECT(run1(&r) == BLK_EINVAL);
	EXPECT(blk_stats.requests == submitted);

	/* Bypass the check: the device answers IOERR, and that must come back
	 * as an error, with the buffer not presented as data. */
	uint64_t errors = blk_stats.errors;
	blk_read_init(&r, cap, back, 1);
	r.unchecked = true;
	int e1 = run1(&r);
	blk_read_init(&r, cap - 1, back, 2);
	r.unchecked = true;
	int e2 = run1(&r);
	printf("    capacity %llu; past the end: refused (%s); device says: %s / %s\n",
	       (unsigned long long)cap, blk_strerror(BLK_ERANGE), blk_strerror(e1),
	       blk_strerror(e2));
	EXPECT(e1 == BLK_EIO);
	EXPECT(e2 == BLK_EIO);
	EXPECT(blk_stats.errors == errors + 2);
	EXPECT(blk_stats.requests == submitted + 2);
	return true;
}

/* ---- 3: more requests than descriptors --------------------------------------*/

bool ktest_blk_exhaust(void)
{
	if (!have_disk())
		return false;
	uint64_t seed = arch_timer_now() ^ 0x5555;
	struct context cx = { &ktest_count_waker };
	unsigned inflight = 0, waiting = 0, cap = blk_queue_requests();

	fill_pattern(wbuf, EXH_START, EXH_N, seed);
	for (unsigned i = 0; i < EXH_N; i++) {
		blk_write_init(&reqs[i], EXH_START + i, wbuf + i * SECT, 1);
		futs[i] = &reqs[i].base;
	}
	/* One round with interrupts masked, so no completion frees room
	 * mid-round: exactly the queue's capacity goes out, the rest wait. */
	uint64_t waits = blk_stats.waits, wwakes = blk_stats.waiter_wakes;
	unsigned long f = arch_irq_save();
	for (unsigned i = 0; i < EXH_N; i++) {
		enum poll p = future_poll(futs[i], &cx);
		EXPECT(p == POLL_PENDING);
		inflight += reqs[i].state == BLK_REQ_INFLIGHT;
		waiting += reqs[i].state == BLK_REQ_WAIT;
	}
	/* A nowait request (the file system's read-ahead) that finds the
	 * queue full is refused at once, never left on the wait list: nobody
	 * would poll it when its turn came, and it would hold up everyone
	 * behind it. */
	struct blk_req ahead;
	blk_read_init(&ahead, EXH_START, rbuf, 1);
	ahead.nowait = true;
	EXPECT(future_poll(&ahead.base, &cx) == POLL_READY);
	EXPECT(ahead.result == BLK_EAGAIN && ahead.state == BLK_REQ_DONE);
	EXPECT(blk_selfcheck());
	arch_irq_restore(f);
	printf("    %u requests: %u in flight, %u waiting for descriptors\n", EXH_N,
	       inflight, waiting);
	EXPECT(cap > 0 && cap < EXH_N);
	EXPECT(inflight == cap);
	EXPECT(waiting == EXH_N - cap);
	EXPECT(blk_stats.waits - waits == EXH_N - cap);

	/* Drop one waiter and one request in flight: the rest still finish,
	 * and the dropped in-flight chain is freed when the device answers. */
	future_drop(futs[EXH_N - 1]);
	future_drop(futs[0]);
	block_on_all(futs + 1, EXH_N - 2);
	/* Waiters were woken because completions freed room. */
	EXPECT(blk_stats.waiter_wakes > wwakes);
	for (unsigned i = 1; i < EXH_N - 1; i++)
		EXPECT(reqs[i].result == BLK_OK);
	while (blk_inflight() != 0) {
		f = arch_irq_save();
		irq_wait_begin();
		if (blk_inflight() != 0)
			arch_wait_for_interrupt();
		irq_wait_end();
		arch_irq_restore(f);
	}
	EXPECT(blk_selfcheck());

	/* Read everything back the same way, all EXH_N at once. */
	memset(rbuf, 0, EXH_N * SECT);
	for (unsigned i = 0; i < EXH_N; i++)
		blk_read_init(&reqs[i], EXH_START + i, rbuf + i * SECT, 1);
	block_on_all(futs, EXH_N);
	EXPECT(all_ok(EXH_N));
	/* Sector 0's write was dropped in flight: it may or may not have
	 * landed.  Sector N-1's was dropped before submission: it did not. */
	for (unsigned i = 1; i < EXH_N - 1; i++)
		EXPECT(memcmp(rbuf + i * SECT, wbuf + i * SECT, SECT) == 0);
	EXPECT(memcmp(rbuf + (EXH_N - 1) * SECT, wbuf + (EXH_N - 1) * SECT, SECT) != 0);
	EXPECT(blk_selfcheck());
	return true;
}

/* ---- 4: the books balance ---------------------------------------------------*/

bool ktest_blk_stats(void)
{
	if (!have_disk())
		return false;
	printf("    %llu requests, %llu completions (%llu errors), %llu interrupts, "
	       "%llu doorbells, %llu malformed, %llu waits, %llu refused\n",
	       (unsigned long long)blk_stats.requests,
	       (unsigned long long)blk_stats.completions,
	       (unsigned long long)blk_stats.errors,
	       (unsigned long long)blk_stats.interrupts,
	       (unsigned long long)blk_stats.notifies,
	       (unsigned long long)blk_stats.malformed,
	       (unsigned long long)blk_stats.waits,
	       (unsigned long long)blk_stats.rejected);
	EXPECT(blk_stats.interrupts > 0);
	EXPECT(blk_stats.requests > 0);
	EXPECT(blk_stats.completions == blk_stats.requests);
	EXPECT(blk_stats.malformed == 0);
	EXPECT(blk_inflight() == 0);
	EXPECT(blk_selfcheck());
	return true;
}

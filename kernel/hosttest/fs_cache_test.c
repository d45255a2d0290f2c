/* Lab 9's checkpoints: the buffer cache (kernel/fs/fs_cache.c) on a scripted disk that checks every request. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/fs_cache.h"
#include "kernel/hosttest/lab_check.h"
#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_format.h"
#include "lib/uapi/pollux.h"

/*
 * The cache runs alone: this file is its environment (memory, messages)
 * and its device.  The device completes a request only when a test says
 * so, and checks the cache's side of every request as it goes:
 *
 *   - a read is submitted at its request's first poll; two reads of one
 *     block in flight at once mean two misses of it were not coalesced;
 *   - a read into the page of a buffer a task holds means a buffer in
 *     use was evicted; a new read on a request still in flight means a
 *     buffer was reused while it loaded;
 *   - a request polled after Ready, dropped, or a write: the cache never
 *     does these.
 *
 * Tasks are played by `struct getter`s: an fs_bget future and a waker
 * that counts its wakes, polled by the tests in the order they choose.
 * Every buffer a getter receives must hold its block's bytes, and still
 * hold them when it is released.
 */

#define NBLK 128

/* ---- the environment: counted allocations, messages on stdout -----------------------*/

static long live_allocs;

void *fs_env_alloc(size_t n)
{
	if (n > 2048)
		abort(); /* the kernel's kmalloc could not give it */
	live_allocs++;
	return calloc(1, n);
}

void fs_env_free(void *p, size_t n)
{
	(void)n;
	if (p)
		live_allocs--;
	free(p);
}

void *fs_env_page_alloc(void)
{
	live_allocs++;
	return calloc(1, FS_BLOCK_SIZE);
}

void fs_env_page_free(void *p)
{
	if (p)
		live_allocs--;
	free(p);
}

int fs_env_copyout(const void *vm, uint64_t va, const void *src, size_t n)
{
	(void)vm;
	memcpy((void *)(uintptr_t)va, src, n);
	return 0;
}

int fs_env_copyin(const void *vm, void *dst, uint64_t va, size_t n)
{
	(void)vm;
	memcpy(dst, (const void *)(uintptr_t)va, n);
	return 0;
}

void fs_env_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("    fs: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* ---- the scripted disk ---------------------------------------------------------------*/

enum { RQ_NEW, RQ_FLIGHT, RQ_DONE, RQ_READY };

struct sreq {
	uint32_t block;
	uint8_t st;
	void *buf;
	struct waker w;
};
_Static_assert(sizeof(struct sreq) <= sizeof(((struct fs_req *)0)->priv), "fits");

static struct sdisk {
	struct fs_dev dev;
	uint8_t mem[NBLK][FS_BLOCK_SIZE];
	struct fs_req *inflight[256];
	unsigned n, inflight_max;
	unsigned reads[NBLK];     /* reads submitted, per block */
	unsigned flying[NBLK];    /* reads in flight now, per block */
	bool bad[NBLK];           /* reads of it fail with -PX_EIO */
	uint64_t rng;
} D;

/* Pages the tests hold now (one entry per reference they were given). */
static void *held[256];
static unsigned nheld;

static struct sreq *R(struct fs_req *r)
{
	return (struct sreq *)(void *)r->priv;
}

static uint64_t rnd(void)
{
	D.rng ^= D.rng << 13;
	D.rng ^= D.rng >> 7;
	D.rng ^= D.rng << 17;
	return D.rng;
}

/* A rule the disk enforces, said with where it is checked. */
#define violation(...) disk_violation(__LINE__, __VA_ARGS__)
static void disk_violation(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void disk_violation(int line, const char *fmt, ...)
{
	if (!lab_say_failure(-line))
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("    %s:%d: disk: ", __FILE__, line);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static enum poll sd_poll(struct future *f, struct context *cx)
{
	struct fs_req *r = (struct fs_req *)f;
	struct sreq *q = R(r);
	if (q->st == RQ_READY) {
		violation("block %u: its request was polled again after it was Ready", q->block);
		return POLL_READY;
	}
	if (q->st == RQ_NEW) {
		if (D.flying[q->block])
			violation("block %u: a second read while one is in flight (concurrent misses "
				  "of one block must share one request)", q->block);
		for (unsigned i = 0; i < nheld; i++)
			if (held[i] == q->buf)
				violation("block %u: read into a buffer a task holds (a buffer in use "
					  "was evicted)", q->block);
		D.reads[q->block]++;
		D.flying[q->block]++;
		D.inflight[D.n++] = r;
		if (D.n > D.inflight_max)
			D.inflight_max = D.n;
		q->st = RQ_FLIGHT;
		q->w = WAKER_NONE;
	}
	if (q->st == RQ_DONE) {
		q->st = RQ_READY;
		return POLL_READY;
	}
	waker_register(&q->w, cx->waker);
	return POLL_PENDING;
}

static void sd_drop(struct future *f)
{
	violation("block %u: a request was dropped (the buffer owns it until Ready)",
		  R((struct fs_req *)f)->block);
}

static const struct future_vtable sd_vtable = { sd_poll, sd_drop };

static void sd_read(struct fs_dev *dev, struct fs_req *r, uint32_t block, void *buf)
{
	(void)dev;
	struct sreq *q = R(r);
	if (r->base.vtable == &sd_vtable && (q->st == RQ_FLIGHT || q->st == RQ_DONE))
		violation("block %u: a buffer whose read of block %u is in flight was reused",
			  block, q->block);
	if (block >= NBLK) {
		violation("a read of block %u, outside the disk", block);
		block = 0;
	}
	r->base.vtable = &sd_vtable;
	r->result = 0;
	q->block = block;
	q->st = RQ_NEW;
	q->buf = buf;
	q->w = WAKER_NONE;
}

static void sd_write(struct fs_dev *dev, struct fs_req *r, uint32_t block, const void *buf)
{
	(void)buf;
	violation("block %u written (the cache never writes)", block);
	sd_read(dev, r, block, (void *)(uintptr_t)buf);
}

static const struct fs_dev_ops sd_ops = { sd_read, sd_write, NULL };

static void disk_init(uint64_t seed)
{
	memset(&D, 0, sizeof(D));
	D.dev.ops = &sd_ops;
	D.dev.nblocks = NBLK;
	D.rng = seed | 1;
	for (unsigned b = 0; b < NBLK; b++)
		for (unsigned i = 0; i < FS_BLOCK_SIZE; i++)
			D.mem[b][i] = (uint8_t)(b * 131 + i * 7 + (i >> 8));
	nheld = 0;
}

/* Complete the i-th request in flight. */
static void complete_at(unsigned i)
{
	struct fs_req *r = D.inflight[i];
	D.inflight[i] = D.inflight[--D.n];
	struct sreq *q = R(r);
	if (D.bad[q->block]) {
		r->result = -PX_EIO;
	} else {
		memcpy(q->buf, D.mem[q->block], FS_BLOCK_SIZE);
		r->result = 0;
	}
	D.flying[q->block]--;
	q->st = RQ_DONE;
	struct waker w = q->w;
	q->w = WAKER_NONE;
	waker_wake(&w);
}

/* Complete the read of `block`; false if none is in flight. */
static bool complete(uint32_t block)
{
	for (unsigned i = 0; i < D.n; i++)
		if (R(D.inflight[i])->block == block) {
			complete_at(i);
			return true;
		}
	return false;
}

static void complete_all(void)
{
	while (D.n)
		complete_at(D.n - 1);
}

/* ---- getters: a task's fs_bget, and a waker that counts ------------------------------*/

static struct raw_waker cw_clone(const void *data);
static void cw_wake(const void *data)
{
	(*(unsigned *)(uintptr_t)data)++;
}
static void cw_drop(const void *data)
{
	(void)data;
}
static const struct raw_waker_vtable cw_vtable = { cw_clone, cw_wake, cw_wake, cw_drop };
static struct raw_waker cw_clone(const void *data)
{
	return (struct raw_waker){ data, &cw_vtable };
}

struct getter {
	struct fs_bget g;
	uint32_t block;
	unsigned wakes;
	bool polled;
	bool ready;
	int result;
	struct fs_buf *b;
};

static void hold(struct fs_buf *b)
{
	if (nheld < sizeof(held) / sizeof(held[0]))
		held[nheld++] = b->data;
}

static void unhold(struct fs_buf *b)
{
	for (unsigned i = 0; i < nheld; i++)
		if (held[i] == b->data) {
			held[i] = held[--nheld];
			return;
		}
}

/* Does b hold `block`, with the disk's bytes? */
static bool holds(struct fs_buf *b, uint32_t block)
{
	return b && b->block == block && b->state == BUF_VALID &&
	       memcmp(b->data, D.mem[block], FS_BLOCK_SIZE) == 0;
}

static void gstart(struct getter *t, struct fs_cache *c, uint32_t block)
{
	memset(t, 0, sizeof(*t));
	t->block = block;
	fs_bget_init(&t->g, c, block, false);
}

static enum poll gpoll(struct getter *t)
{
	if (t->ready)
		return POLL_READY; /* (a check before this one failed) */
	struct waker w = { { &t->wakes, &cw_vtable } };
	struct context cx = { &w };
	t->polled = true;
	if (fs_bget_poll(&t->g, &cx) == POLL_PENDING)
		return POLL_PENDING;
	t->ready = true;
	t->result = t->g.result;
	t->b = t->result == 0 ? t->g.b : NULL;
	if (t->b)
		hold(t->b);
	return POLL_READY;
}

static void release(struct fs_cache *c, struct getter *t)
{
	if (!t->b)
		return;
	CHECK(holds(t->b, t->block)); /* nobody overwrote it while it was held */
	unhold(t->b);
	fs_brelse(c, t->b);
	t->b = NULL;
}

/* Poll every getter that was woken or never polled until all are Ready.
 * Between rounds nothing is completed: the disk's state stays as the test
 * left it.  False if some wait for nothing (a lost wake-up). */
static bool settle(struct getter **ts, unsigned n)
{
	for (int round = 0; round < 1000; round++) {
		bool any = false, all = true;
		for (unsigned i = 0; i < n; i++) {
			if (ts[i]->ready)
				continue;
			all = false;
			if (ts[i]->polled && ts[i]->wakes == 0)
				continue;
			ts[i]->wakes = 0;
			any = true;
			gpoll(ts[i]);
		}
		if (all)
			return true;
		if (!any)
			return false;
	}
	return false;
}

/* Get `block` start to end: polled, its read (if any) completed, Ready. */
static struct fs_buf *get(struct fs_cache *c, struct getter *t, uint32_t block)
{
	gstart(t, c, block);
	for (int i = 0; i < 8 && gpoll(t) == POLL_PENDING; i++) {
		if (!complete(block) && t->wakes == 0)
			break;
		t->wakes = 0;
	}
	CHECK(t->ready);
	return t->b;
}

static bool cache_up(struct fs_cache *c, uint32_t nbuf, uint64_t seed)
{
	disk_init(seed);
	live_allocs = 0;
	int r = fs_cache_init(c, &D.dev, nbuf);
	CHECK_EQ(r, 0);
	return r == 0;
}

/* Every reference given back, nothing loading: tear down, nothing leaked. */
static void cache_down(struct fs_cache *c)
{
	complete_all();
	/* loads that ended with nobody waiting: the scan finishes them */
	for (uint32_t i = 0; i < c->nbuf; i++) {
		if (c->bufs[i]->refs) {
			printf("    buffer of block %u still has %u references\n", c->bufs[i]->block,
			       c->bufs[i]->refs);
			failed_checks++;
		}
	}
	if (!failed_checks) {
		/* finish orphaned loads the way unmount does */
		struct fs_buf *b;
		for (int i = 0; i < 64 && (b = fs_cache_loading(c)); i++) {
			struct getter t;
			get(c, &t, b->block);
			if (t.b) {
				unhold(t.b);
				fs_brelse(c, t.b);
			}
		}
		CHECK(fs_cache_loading(c) == NULL);
	}
	CHECK_EQ(D.n, 0);
	fs_cache_destroy(c);
	CHECK_EQ(live_allocs, 0);
}

/* ---- the checkpoints -----------------------------------------------------------------*/

/* A miss reads, waits for the completion and ends holding the block; a hit
 * reads nothing; a failed read is EIO and the next get reads again. */
static void test_hit_miss(void)
{
	struct fs_cache c;
	if (!cache_up(&c, 4, 1))
		return;
	struct getter a, b, z;
	gstart(&a, &c, 5);
	EXPECT(gpoll(&a) == POLL_PENDING, "a miss is Pending while its read is in flight");
	EXPECT(D.reads[5] == 1, "a miss submits one read at its first poll");
	EXPECT(a.wakes == 0, "a miss waits to be woken by the completion, not by itself");
	EXPECT(gpoll(&a) == POLL_PENDING, "a miss is Pending while its read is in flight");
	EXPECT(D.reads[5] == 1, "another poll of a miss submits nothing");
	EXPECT(a.wakes == 0, "a miss waits to be woken by the completion, not by itself");
	CHECK(complete(5));
	EXPECT(a.wakes >= 1, "the completion wakes the task that waits for the block");
	CHECK_EQ(gpoll(&a), POLL_READY);
	CHECK_EQ(a.result, 0);
	CHECK(holds(a.b, 5));
	/* a hit: Ready at the first poll, the same buffer, no read */
	gstart(&b, &c, 5);
	EXPECT(gpoll(&b) == POLL_READY, "a hit is Ready at its first poll");
	CHECK_EQ(b.result, 0);
	EXPECT(b.b == a.b, "a hit gets the buffer that holds the block");
	EXPECT(D.reads[5] == 1, "a hit reads nothing");
	release(&c, &a);
	release(&c, &b);
	/* still cached when nobody holds it */
	gstart(&b, &c, 5);
	CHECK_EQ(gpoll(&b), POLL_READY);
	CHECK(holds(b.b, 5));
	CHECK_EQ(D.reads[5], 1);
	release(&c, &b);
	/* a block just allocated: zero-filled, never read */
	memset(&z, 0, sizeof(z));
	z.block = 9;
	fs_bget_init(&z.g, &c, 9, true);
	CHECK_EQ(gpoll(&z), POLL_READY);
	CHECK_EQ(z.result, 0);
	CHECK(z.b && z.b->block == 9);
	EXPECT(D.reads[9] == 0, "a zero-filled get reads nothing");
	if (z.b) {
		static const uint8_t zero[FS_BLOCK_SIZE];
		CHECK(memcmp(z.b->data, zero, FS_BLOCK_SIZE) == 0);
		unhold(z.b);
		fs_brelse(&c, z.b);
	}
	/* a failed read: EIO, not held; the next get reads again */
	D.bad[7] = true;
	gstart(&a, &c, 7);
	EXPECT(gpoll(&a) == POLL_PENDING, "a miss is Pending while its read is in flight");
	CHECK(complete(7));
	CHECK(a.wakes >= 1);
	CHECK_EQ(gpoll(&a), POLL_READY);
	EXPECT(a.result == -PX_EIO, "a failed read is -PX_EIO");
	D.bad[7] = false;
	get(&c, &b, 7);
	EXPECT(D.reads[7] == 2, "the get after a failed read reads again");
	CHECK_EQ(b.result, 0);
	CHECK(holds(b.b, 7));
	release(&c, &b);
	cache_down(&c);
}

/* Misses of different blocks are all in flight at once, and a completion
 * wakes the tasks waiting for its block and nobody else. */
static void test_in_flight(void)
{
	struct fs_cache c;
	if (!cache_up(&c, 16, 2))
		return;
	struct getter t[8];
	for (unsigned i = 0; i < 8; i++) {
		gstart(&t[i], &c, 10 + i);
		EXPECT(gpoll(&t[i]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	}
	EXPECT(D.n == 8, "misses of different blocks are all in flight at once");
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(D.reads[10 + i], 1);
	CHECK(complete(13));
	for (unsigned i = 0; i < 8; i++)
		EXPECT(i == 3 ? t[i].wakes >= 1 : t[i].wakes == 0,
		       "a completion wakes the tasks waiting for its block, and nobody else");
	CHECK_EQ(gpoll(&t[3]), POLL_READY);
	CHECK(holds(t[3].b, 13));
	/* the others, completed newest first */
	for (int i = 7; i >= 0; i--) {
		if (i == 3)
			continue;
		CHECK(complete(10 + (uint32_t)i));
		CHECK(t[i].wakes >= 1);
		CHECK_EQ(gpoll(&t[i]), POLL_READY);
		CHECK_EQ(t[i].result, 0);
		CHECK(holds(t[i].b, 10 + (uint32_t)i));
	}
	for (unsigned i = 0; i < 8; i++)
		release(&c, &t[i]);
	CHECK_EQ(D.inflight_max, 8);
	cache_down(&c);
}

/* Concurrent misses of one block: one request, one completion wakes them
 * all, one buffer for all; a failed load fails every waiter of it. */
static void test_coalesce(void)
{
	struct fs_cache c;
	if (!cache_up(&c, 8, 3))
		return;
	struct getter t[8];
	struct getter *all[8];
	for (unsigned i = 0; i < 4; i++) {
		gstart(&t[i], &c, 20);
		all[i] = &t[i];
		EXPECT(gpoll(&t[i]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	}
	EXPECT(D.reads[20] == 1, "concurrent misses of one block share one read");
	for (unsigned i = 0; i < 4; i++) /* spurious polls change nothing */
		EXPECT(gpoll(&t[i]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	EXPECT(D.reads[20] == 1, "concurrent misses of one block share one read");
	CHECK_EQ(D.n, 1);
	CHECK(complete(20));
	for (unsigned i = 0; i < 4; i++)
		EXPECT(t[i].wakes >= 1, "one completion wakes every task waiting for the block");
	for (int i = 3; i >= 0; i--) {
		CHECK_EQ(gpoll(&t[i]), POLL_READY);
		CHECK_EQ(t[i].result, 0);
		CHECK(holds(t[i].b, 20));
		EXPECT(t[i].b == t[3].b, "the tasks that shared a read share its buffer");
	}
	if (t[0].b)
		EXPECT(t[0].b->refs == 4, "each task the buffer was given counts in its refs");
	for (unsigned i = 4; i < 8; i++) { /* hits now */
		gstart(&t[i], &c, 20);
		CHECK_EQ(gpoll(&t[i]), POLL_READY);
		CHECK(t[i].b == t[0].b);
	}
	CHECK_EQ(D.reads[20], 1);
	for (unsigned i = 0; i < 8; i++)
		release(&c, &t[i]);

	/* a failed load: each of its waiters gets EIO; the next get reads again */
	D.bad[21] = true;
	for (unsigned i = 0; i < 3; i++) {
		gstart(&t[i], &c, 21);
		EXPECT(gpoll(&t[i]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	}
	CHECK_EQ(D.reads[21], 1);
	CHECK(complete(21));
	for (unsigned i = 0; i < 3; i++)
		CHECK(t[i].wakes >= 1);
	CHECK(settle(all, 3));
	for (unsigned i = 0; i < 3; i++)
		EXPECT(t[i].result == -PX_EIO, "every waiter of a failed read gets -PX_EIO");
	D.bad[21] = false;
	get(&c, &t[0], 21);
	EXPECT(D.reads[21] == 2, "the get after a failed read reads again");
	CHECK(holds(t[0].b, 21));
	release(&c, &t[0]);

	/* a late joiner: the read completed, its waiter not yet polled */
	gstart(&t[0], &c, 22);
	EXPECT(gpoll(&t[0]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	CHECK(complete(22));
	gstart(&t[1], &c, 22); /* polled first */
	all[0] = &t[1];
	all[1] = &t[0];
	EXPECT(settle(all, 2), "every task that waits is woken in the end");
	EXPECT(D.reads[22] == 1, "a get of a block whose read completed joins it");
	CHECK(holds(t[0].b, 22));
	CHECK(t[0].b == t[1].b);
	release(&c, &t[0]);
	release(&c, &t[1]);

	/* four blocks, three waiters each, completed in a shuffled order */
	struct getter m[12];
	struct getter *mp[12];
	for (unsigned i = 0; i < 12; i++) {
		gstart(&m[i], &c, 30 + i % 4);
		mp[i] = &m[i];
		EXPECT(gpoll(&m[i]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	}
	CHECK_EQ(D.n, 4);
	static const uint32_t order[4] = { 32, 30, 33, 31 };
	for (unsigned k = 0; k < 4; k++) {
		CHECK(complete(order[k]));
		for (unsigned i = 0; i < 12; i++)
			if (m[i].block == order[k])
				CHECK(m[i].wakes >= 1);
	}
	EXPECT(settle(mp, 12), "every task that waits is woken in the end");
	for (unsigned i = 0; i < 12; i++) {
		CHECK(holds(m[i].b, 30 + i % 4));
		CHECK(m[i].b == m[i % 4].b);
		CHECK_EQ(D.reads[30 + i % 4], 1);
	}
	for (unsigned i = 0; i < 12; i++)
		release(&c, &m[i]);
	cache_down(&c);
}

/* LRU eviction of buffers nobody holds; a held buffer stays put; with
 * every buffer held a get waits, and a release wakes it. */
static void test_evict(void)
{
	struct fs_cache c;
	if (!cache_up(&c, 4, 4))
		return;
	struct getter t[6];
	for (uint32_t b = 1; b <= 4; b++) {
		get(&c, &t[0], b);
		release(&c, &t[0]);
	}
	get(&c, &t[0], 2); /* a hit: 2 becomes the most recently used */
	CHECK_EQ(D.reads[2], 1);
	release(&c, &t[0]);
	get(&c, &t[0], 5); /* evicts 1, the least recently used */
	release(&c, &t[0]);
	get(&c, &t[1], 3);
	get(&c, &t[2], 4);
	get(&c, &t[3], 2);
	EXPECT(D.reads[3] == 1 && D.reads[4] == 1 && D.reads[2] == 1,
	       "a miss evicts the least recently used buffer (released first, not hit since)");
	release(&c, &t[1]);
	release(&c, &t[2]);
	release(&c, &t[3]);
	get(&c, &t[0], 1); /* read again: it was the one evicted, and 5 goes */
	EXPECT(D.reads[1] == 2, "a miss evicts the least recently used buffer");
	release(&c, &t[0]);
	get(&c, &t[0], 5);
	CHECK_EQ(D.reads[5], 2);
	release(&c, &t[0]);

	/* 3 and 4 held through ten misses that share the two other buffers */
	get(&c, &t[1], 3);
	get(&c, &t[2], 4);
	unsigned r3 = D.reads[3];
	for (uint32_t b = 40; b < 50; b++) {
		get(&c, &t[0], b);
		CHECK(holds(t[0].b, b));
		release(&c, &t[0]);
	}
	EXPECT(holds(t[1].b, 3) && holds(t[2].b, 4), "a buffer somebody holds is never evicted");
	get(&c, &t[3], 3);
	CHECK(t[3].b == t[1].b);
	CHECK_EQ(D.reads[3], r3);
	release(&c, &t[3]);

	/* every buffer held: a get waits, reading nothing, until a release */
	get(&c, &t[3], 50);
	get(&c, &t[4], 51);
	gstart(&t[5], &c, 52);
	EXPECT(gpoll(&t[5]) == POLL_PENDING, "with every buffer held a get waits");
	EXPECT(D.reads[52] == 0, "with every buffer held a get reads nothing");
	CHECK_EQ(t[5].wakes, 0);
	CHECK(holds(t[3].b, 50));
	release(&c, &t[4]);
	EXPECT(t[5].wakes >= 1, "a release that frees a buffer wakes the gets waiting for one");
	t[5].wakes = 0;
	if (gpoll(&t[5]) == POLL_PENDING) {
		CHECK_EQ(D.reads[52], 1);
		CHECK(complete(52));
		CHECK(t[5].wakes >= 1);
		CHECK_EQ(gpoll(&t[5]), POLL_READY);
	}
	CHECK(holds(t[5].b, 52));
	CHECK(holds(t[1].b, 3));
	CHECK(holds(t[2].b, 4));
	CHECK(holds(t[3].b, 50));
	release(&c, &t[1]);
	release(&c, &t[2]);
	release(&c, &t[3]);
	release(&c, &t[5]);
	cache_down(&c);
}

/* A waiter that leaves cancels nothing and takes nothing with it. */
static void test_drop(void)
{
	struct fs_cache c;
	if (!cache_up(&c, 4, 5))
		return;
	/* one of two waiters leaves: the other still gets the block */
	struct getter *a = malloc(sizeof(*a)), b, e, f;
	gstart(a, &c, 50);
	gstart(&b, &c, 50);
	EXPECT(gpoll(a) == POLL_PENDING, "a miss is Pending while its read is in flight");
	EXPECT(gpoll(&b) == POLL_PENDING, "a miss is Pending while its read is in flight");
	fs_bget_drop(&a->g);
	free(a); /* gone: nothing may touch it again (ASan) */
	CHECK(complete(50));
	EXPECT(b.wakes >= 1, "a waiter that leaves takes nobody's wake-up with it");
	CHECK_EQ(gpoll(&b), POLL_READY);
	CHECK(holds(b.b, 50));
	CHECK_EQ(D.reads[50], 1);
	release(&c, &b);

	/* the only waiter leaves: the read goes on, the next get joins it */
	a = malloc(sizeof(*a));
	gstart(a, &c, 51);
	EXPECT(gpoll(a) == POLL_PENDING, "a miss is Pending while its read is in flight");
	fs_bget_drop(&a->g);
	free(a);
	EXPECT(D.n == 1, "a read goes on when its only waiter leaves");
	gstart(&b, &c, 51);
	if (gpoll(&b) == POLL_PENDING) {
		CHECK(complete(51));
		CHECK(b.wakes >= 1);
		CHECK_EQ(gpoll(&b), POLL_READY);
	}
	CHECK(holds(b.b, 51));
	EXPECT(D.reads[51] == 1, "a get joins a read whose waiters all left");
	release(&c, &b);

	/* an orphaned load is not evicted while it is in flight: with the
	 * three other buffers held, a get waits, and the load's completion
	 * (nobody waits for it) wakes that get */
	struct getter h[3];
	for (unsigned i = 0; i < 3; i++)
		get(&c, &h[i], 60 + i);
	a = malloc(sizeof(*a));
	gstart(a, &c, 63);
	EXPECT(gpoll(a) == POLL_PENDING, "a miss is Pending while its read is in flight");
	fs_bget_drop(&a->g);
	free(a);
	gstart(&f, &c, 64);
	EXPECT(gpoll(&f) == POLL_PENDING, "a buffer whose read is in flight is not evicted");
	CHECK_EQ(D.reads[64], 0);
	CHECK_EQ(f.wakes, 0);
	CHECK(complete(63));
	EXPECT(f.wakes >= 1, "a read that ends with nobody waiting wakes the gets waiting for a buffer");
	f.wakes = 0;
	if (gpoll(&f) == POLL_PENDING) {
		CHECK(complete(64));
		CHECK(f.wakes >= 1);
		CHECK_EQ(gpoll(&f), POLL_READY);
	}
	CHECK(holds(f.b, 64));
	CHECK_EQ(D.reads[64], 1);

	/* a get that waits for a free buffer leaves; the release wakes no one */
	a = malloc(sizeof(*a));
	gstart(a, &c, 65);
	EXPECT(gpoll(a) == POLL_PENDING, "with every buffer held or loading, a get waits");
	fs_bget_drop(&a->g);
	free(a);
	release(&c, &f);
	CHECK_EQ(D.reads[65], 0);
	/* a dropped get gave back its reference: every buffer can be had */
	for (unsigned i = 0; i < 3; i++)
		release(&c, &h[i]);
	struct getter g4[4];
	for (unsigned i = 0; i < 4; i++)
		get(&c, &g4[i], 70 + i);
	for (unsigned i = 0; i < 4; i++) {
		CHECK(holds(g4[i].b, 70 + i));
		release(&c, &g4[i]);
	}
	/* dropped after Ready: nothing to do, the caller holds the buffer */
	get(&c, &e, 71);
	fs_bget_drop(&e.g);
	CHECK(holds(e.b, 71));
	release(&c, &e);
	cache_down(&c);
}

/* Read-ahead: fs_prefetch starts a load that nobody holds; a get joins
 * it or hits; a cached block or a full cache prefetch nothing. */
static void test_readahead(void)
{
	struct fs_cache c;
	if (!cache_up(&c, 8, 6))
		return;
	struct getter t[8];
	fs_prefetch(&c, 80);
	EXPECT(D.reads[80] == 1, "fs_prefetch submits its read at once");
	fs_prefetch(&c, 80);
	EXPECT(D.reads[80] == 1, "fs_prefetch of a block being read does nothing");
	gstart(&t[0], &c, 80);
	EXPECT(gpoll(&t[0]) == POLL_PENDING, "a miss is Pending while its read is in flight");
	CHECK(complete(80));
	CHECK(t[0].wakes >= 1);
	CHECK_EQ(gpoll(&t[0]), POLL_READY);
	CHECK(holds(t[0].b, 80));
	EXPECT(D.reads[80] == 1, "a get joins the read fs_prefetch started");
	release(&c, &t[0]);
	fs_prefetch(&c, 80);
	EXPECT(D.reads[80] == 1, "fs_prefetch of a cached block does nothing");
	CHECK_EQ(D.n, 0);

	/* read ahead and completed before anybody asks */
	for (uint32_t b = 81; b <= 84; b++)
		fs_prefetch(&c, b);
	CHECK_EQ(D.n, 4);
	complete_all();
	for (uint32_t b = 81; b <= 84; b++) {
		struct getter *p = &t[0];
		gstart(p, &c, b);
		CHECK(settle(&p, 1));
		CHECK(holds(p->b, b));
		CHECK_EQ(D.reads[b], 1);
		release(&c, p);
	}

	/* every buffer held: nothing is prefetched, nothing waits */
	for (unsigned i = 0; i < 8; i++)
		get(&c, &t[i], 90 + i);
	fs_prefetch(&c, 98);
	EXPECT(D.reads[98] == 0, "fs_prefetch with no free buffer does nothing");
	CHECK_EQ(D.n, 0);
	for (unsigned i = 0; i < 8; i++)
		release(&c, &t[i]);

	/* eight loads in flight that nobody holds: a get waits for one to
	 * end instead of taking a buffer that is loading */
	for (uint32_t b = 100; b < 108; b++)
		fs_prefetch(&c, b);
	CHECK_EQ(D.n, 8);
	gstart(&t[0], &c, 110);
	EXPECT(gpoll(&t[0]) == POLL_PENDING, "with every buffer held or loading, a get waits");
	CHECK_EQ(D.reads[110], 0);
	CHECK(complete(104));
	CHECK(t[0].wakes >= 1);
	t[0].wakes = 0;
	if (gpoll(&t[0]) == POLL_PENDING) {
		CHECK(complete(110));
		CHECK_EQ(gpoll(&t[0]), POLL_READY);
	}
	CHECK(holds(t[0].b, 110));
	release(&c, &t[0]);
	/* prefetched blocks are evictable once loaded */
	complete_all();
	for (unsigned i = 0; i < 8; i++)
		get(&c, &t[i], 111 + i);
	for (unsigned i = 0; i < 8; i++) {
		CHECK(holds(t[i].b, 111 + i));
		release(&c, &t[i]);
	}
	cache_down(&c);
}

/* Ten tasks, a cache of six, random blocks (some shared, one bad), random
 * completion order, drops and read-ahead; the disk checks every request. */
static void random_run(uint64_t seed)
{
	struct fs_cache c;
	if (!cache_up(&c, 6, seed))
		return;
	enum { NT = 10, ROUNDS = 40, BAD = 13 };
	D.bad[BAD] = true;
	struct task {
		struct getter t;
		int left;      /* gets still to do */
		int hold;      /* steps to keep the buffer */
		bool busy;
	} tk[NT];
	memset(tk, 0, sizeof(tk));
	for (unsigned i = 0; i < NT; i++)
		tk[i].left = ROUNDS;
	unsigned gets = 0, eio = 0;
	for (int step = 0; step < 200000; step++) {
		bool alldone = true;
		bool progressed = false;
		for (unsigned i = 0; i < NT; i++) {
			struct task *k = &tk[i];
			if (!k->busy && k->left == 0)
				continue;
			alldone = false;
			if (!k->busy) {
				uint32_t b = (uint32_t)(rnd() % 3 ? rnd() % 8 : rnd() % 24);
				gstart(&k->t, &c, b);
				k->t.wakes = 1;
				k->busy = true;
				k->left--;
				gets++;
				if (rnd() % 4 == 0)
					fs_prefetch(&c, (uint32_t)(rnd() % 24));
			}
			if (!k->t.ready && k->t.wakes) {
				k->t.wakes = 0;
				progressed = true;
				if (gpoll(&k->t) == POLL_READY) {
					if (k->t.block == BAD) {
						CHECK_EQ(k->t.result, -PX_EIO);
						eio++;
					} else {
						CHECK_EQ(k->t.result, 0);
						CHECK(holds(k->t.b, k->t.block));
					}
					k->hold = (int)(rnd() % 4);
				} else if (rnd() % 16 == 0) {
					fs_bget_drop(&k->t.g); /* it leaves while it waits */
					memset(&k->t, 0x5a, sizeof(k->t));
					k->busy = false;
				}
				continue;
			}
			if (k->t.ready) {
				progressed = true;
				if (k->hold-- > 0)
					continue;
				release(&c, &k->t);
				k->busy = false;
			}
		}
		if (alldone)
			break;
		if (D.n && (!progressed || rnd() % 3 == 0)) {
			complete_at((unsigned)(rnd() % D.n));
			continue;
		}
		if (!progressed) {
			unsigned waiting = 0;
			for (unsigned i = 0; i < NT; i++)
				waiting += tk[i].busy && !tk[i].t.ready;
			printf("    seed %llu: %u tasks wait for nothing (a lost wake-up or a "
			       "deadlock)\n", (unsigned long long)seed, waiting);
			failed_checks++;
			break;
		}
		if (failed_checks)
			break;
	}
	for (unsigned i = 0; i < NT; i++)
		if (tk[i].busy && tk[i].t.ready)
			release(&c, &tk[i].t);
		else if (tk[i].busy)
			fs_bget_drop(&tk[i].t.g);
	CHECK(gets >= NT * ROUNDS / 2);
	if (!failed_checks) {
		cache_down(&c);
	} else {
		complete_all();
		fs_cache_destroy(&c);
	}
}

static void test_random(void)
{
	for (uint64_t seed = 1; seed <= 40 && !failed_checks; seed++)
		random_run(seed * 0x9e3779b97f4a7c15ull);
}

static const struct lab_test tests[] = {
	{ test_hit_miss, "hit_miss" },
	{ test_in_flight, "in_flight" },
	{ test_coalesce, "coalesce" },
	{ test_evict, "evict" },
	{ test_drop, "drop" },
	{ test_readahead, "readahead" },
	{ test_random, "random" },
};

/* usage: fs_cache_test [-T TOKEN] [NAME...] (lab_check_main). */
int main(int argc, char **argv)
{
	return lab_check_main("fs_cache", tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}

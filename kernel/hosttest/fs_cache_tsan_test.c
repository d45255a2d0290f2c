/* Lab 9's threads checkpoint: the buffer cache on 4 executor threads and a device thread (ThreadSanitizer). */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "host/host.h"
#include "kernel/fs/fs_cache.h"
#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_format.h"
#include "lib/uapi/pollux.h"
#include "task.h"

/*
 * What the kernel does on 4 harts: the executor's workers are threads,
 * and the disk completes requests from a thread of its own (the interrupt
 * handler's place, inside exec_interrupt_enter).  8 tasks get blocks from
 * a cache of 6 buffers (16 blocks, so they share blocks and wait for
 * buffers), check every byte, hold each buffer a moment, release it, and
 * read ahead now and then.  A field of the cache touched without its lock
 * is a data race, which ThreadSanitizer reports (and the run fails); the
 * disk fails it too on two reads of one block in flight.
 *
 * usage: fs_cache_tsan [-T TOKEN] [rounds]
 */
#define WORKERS 4
#define TASKS 8
#define NBLK 16
#define NBUF 6

/* ---- the environment -----------------------------------------------------------------*/

static atomic_long live_allocs;

void *fs_env_alloc(size_t n)
{
	if (n > 2048)
		abort();
	atomic_fetch_add(&live_allocs, 1);
	return calloc(1, n);
}

void fs_env_free(void *p, size_t n)
{
	(void)n;
	if (p)
		atomic_fetch_sub(&live_allocs, 1);
	free(p);
}

void *fs_env_page_alloc(void)
{
	atomic_fetch_add(&live_allocs, 1);
	return calloc(1, FS_BLOCK_SIZE);
}

void fs_env_page_free(void *p)
{
	if (p)
		atomic_fetch_sub(&live_allocs, 1);
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

static pthread_mutex_t say_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int failures;

void fs_env_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&say_lock);
	printf("    fs: ");
	vprintf(fmt, ap);
	printf("\n");
	pthread_mutex_unlock(&say_lock);
	va_end(ap);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	if (atomic_fetch_add(&failures, 1) >= 4)
		return;
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&say_lock);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	pthread_mutex_unlock(&say_lock);
	va_end(ap);
}

/* ---- the disk: a lock, requests in flight, a thread that completes them --------------*/

struct treq {
	uint32_t block;
	uint8_t st; /* 0 new, 1 in flight, 2 done */
	void *buf;
	struct waker w;
};
_Static_assert(sizeof(struct treq) <= sizeof(((struct fs_req *)0)->priv), "fits");

static struct {
	pthread_mutex_t lock;
	struct fs_dev dev;
	uint8_t mem[NBLK][FS_BLOCK_SIZE];
	struct fs_req *inflight[64];
	unsigned n, inflight_max;
	unsigned flying[NBLK];
	unsigned long reads;
	uint64_t rng;
} D = { .lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_bool device_stop;
static atomic_long progress; /* gets that reached Ready */

static struct treq *R(struct fs_req *r)
{
	return (struct treq *)(void *)r->priv;
}

static enum poll td_poll(struct future *f, struct context *cx)
{
	struct fs_req *r = (struct fs_req *)f;
	struct treq *q = R(r);
	pthread_mutex_lock(&D.lock);
	if (q->st == 0) {
		if (D.flying[q->block])
			fail("disk: block %u: a second read while one is in flight", q->block);
		if (D.n >= sizeof(D.inflight) / sizeof(D.inflight[0]))
			abort();
		D.flying[q->block]++;
		D.reads++;
		D.inflight[D.n++] = r;
		if (D.n > D.inflight_max)
			D.inflight_max = D.n;
		q->st = 1;
		q->w = WAKER_NONE;
	}
	if (q->st == 2) {
		pthread_mutex_unlock(&D.lock);
		return POLL_READY;
	}
	waker_register(&q->w, cx->waker);
	pthread_mutex_unlock(&D.lock);
	return POLL_PENDING;
}

static void td_drop(struct future *f)
{
	(void)f;
	fail("disk: a request was dropped");
}

static const struct future_vtable td_vtable = { td_poll, td_drop };

static void td_read(struct fs_dev *dev, struct fs_req *r, uint32_t block, void *buf)
{
	(void)dev;
	struct treq *q = R(r);
	r->base.vtable = &td_vtable;
	r->result = 0;
	if (block >= NBLK) {
		fail("disk: a read of block %u, outside the disk", block);
		block = 0;
	}
	q->block = block;
	q->st = 0;
	q->buf = buf;
	q->w = WAKER_NONE;
}

static void td_write(struct fs_dev *dev, struct fs_req *r, uint32_t block, const void *buf)
{
	fail("disk: block %u written (the cache never writes)", block);
	td_read(dev, r, block, (void *)(uintptr_t)buf);
}

static const struct fs_dev_ops td_ops = { td_read, td_write, NULL };

/* Complete up to k requests, a random choice each; how many. */
static unsigned td_complete(unsigned k)
{
	unsigned done = 0;
	while (done < k) {
		pthread_mutex_lock(&D.lock);
		if (!D.n) {
			pthread_mutex_unlock(&D.lock);
			break;
		}
		D.rng ^= D.rng << 13;
		D.rng ^= D.rng >> 7;
		D.rng ^= D.rng << 17;
		unsigned i = (unsigned)(D.rng % D.n);
		struct fs_req *r = D.inflight[i];
		D.inflight[i] = D.inflight[--D.n];
		struct treq *q = R(r);
		memcpy(q->buf, D.mem[q->block], FS_BLOCK_SIZE);
		r->result = 0;
		D.flying[q->block]--;
		q->st = 2;
		struct waker w = q->w;
		q->w = WAKER_NONE;
		pthread_mutex_unlock(&D.lock);
		waker_wake(&w);
		done++;
	}
	return done;
}

/* The device thread, and a watchdog: 5 s without a get reaching Ready
 * while nothing is in flight means the tasks wait for nothing. */
static void *device_main(void *arg)
{
	(void)arg;
	long seen = -1;
	unsigned idle = 0;
	while (!atomic_load(&device_stop)) {
		struct exec_worker *saved = exec_interrupt_enter();
		unsigned n = td_complete(1 + (unsigned)(rand() % 3));
		exec_interrupt_exit(saved);
		if (!n) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
		long now = atomic_load(&progress);
		idle = now == seen && !n ? idle + 1 : 0;
		seen = now;
		if (idle > 100000) {
			fail("no get finished for seconds with nothing in flight: a lost wake-up "
			     "or a deadlock");
			printf("fs_cache threads: FAILED\n");
			printf("0 passed, 1 failed\n");
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

/* ---- the tasks -----------------------------------------------------------------------*/

static struct fs_cache C;
static struct executor ex;
static struct host_hooks hh;
static atomic_int tasks_done;
static int rounds = 150;

struct user {
	struct future base;
	int state;
	int id, round, spin;
	uint64_t rng;
	struct fs_bget g;
	struct fs_buf *b;
};

static uint32_t urand(struct user *u, uint32_t n)
{
	u->rng ^= u->rng << 13;
	u->rng ^= u->rng >> 7;
	u->rng ^= u->rng << 17;
	return (uint32_t)(u->rng % n);
}

static enum poll user_poll(struct future *f, struct context *cx)
{
	struct user *u = (struct user *)f;
	ASYNC_BEGIN(u);
	for (u->round = 0; u->round < rounds; u->round++) {
		if (urand(u, 4) == 0)
			fs_prefetch(&C, urand(u, NBLK));
		fs_bget_init(&u->g, &C, urand(u, urand(u, 3) ? 6 : NBLK), false);
		AWAIT(u, fs_bget_poll(&u->g, cx));
		atomic_fetch_add(&progress, 1);
		if (u->g.result != 0) {
			fail("task %d: block %u: result %d", u->id, u->g.block, u->g.result);
			continue;
		}
		u->b = u->g.b;
		if (u->b->block != u->g.block ||
		    memcmp(u->b->data, D.mem[u->g.block], FS_BLOCK_SIZE) != 0)
			fail("task %d: block %u: the buffer does not hold its bytes", u->id,
			     u->g.block);
		for (u->spin = (int)urand(u, 3); u->spin > 0; u->spin--)
			YIELD(u, cx);
		if (memcmp(u->b->data, D.mem[u->g.block], FS_BLOCK_SIZE) != 0)
			fail("task %d: block %u: changed while held", u->id, u->g.block);
		fs_brelse(&C, u->b);
	}
	atomic_fetch_add(&tasks_done, 1);
	ASYNC_END(u);
}

static const struct future_vtable user_vt = { user_poll, NULL };

TASK_POOL(user_pool, struct user, TASKS);

int main(int argc, char **argv)
{
	const char *token = NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "-T") == 0) {
		token = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc > 1)
		rounds = atoi(argv[1]);
	D.dev.ops = &td_ops;
	D.dev.nblocks = NBLK;
	D.rng = 88172645463325252ull;
	for (unsigned b = 0; b < NBLK; b++)
		for (unsigned i = 0; i < FS_BLOCK_SIZE; i++)
			D.mem[b][i] = (uint8_t)(b * 37 + i * 11 + (i >> 9));
	if (fs_cache_init(&C, &D.dev, NBUF) != 0)
		return 1;
	host_hooks_init(&hh);
	exec_init(&ex, &hh.hooks, WORKERS, 0);
	for (int i = 0; i < TASKS; i++) {
		static struct user u; /* copied into the pool by task_spawn */
		memset(&u, 0, sizeof(u));
		u.base.vtable = &user_vt;
		u.id = i;
		u.rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		struct task_desc d = TASK_DESC_VOID(u, "cache-user");
		if (task_spawn(&ex, &user_pool.src, &d, NULL) != TASK_OK)
			return 1;
	}
	pthread_t dev;
	pthread_create(&dev, NULL, device_main, NULL);
	host_run_threads(&ex, WORKERS, false);
	atomic_store(&device_stop, true);
	pthread_join(dev, NULL);
	exec_shutdown(&ex);

	if (atomic_load(&tasks_done) != TASKS)
		fail("%d of %d tasks finished (a lost wake-up or a deadlock)",
		     atomic_load(&tasks_done), TASKS);
	td_complete(~0u);
	for (uint32_t i = 0; i < C.nbuf; i++)
		if (C.bufs[i]->refs)
			fail("buffer of block %u still has %u references", C.bufs[i]->block,
			     C.bufs[i]->refs);
	fs_cache_destroy(&C);
	if (atomic_load(&live_allocs) != 0)
		fail("%ld allocations leaked", (long)atomic_load(&live_allocs));
	int bad = atomic_load(&failures);
	printf("fs_cache_tsan: %d tasks x %d rounds on %d threads, %u buffers: %lu reads, up to %u "
	       "in flight\n", TASKS, rounds, WORKERS, NBUF, D.reads, D.inflight_max);
	if (bad)
		printf("fs_cache threads: FAILED (%d checks)\n", bad);
	else if (token)
		printf("fs_cache threads: OK [%s]\n", token);
	else
		printf("fs_cache threads: OK\n");
	printf("%d passed, %d failed\n", bad ? 0 : 1, bad ? 1 : 0);
	return bad ? 1 : 0;
}

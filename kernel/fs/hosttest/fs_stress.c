/* The file system on 4 executor threads with a device thread: 8 tasks creating, writing, reading back, renaming and deleting (ThreadSanitizer). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "host/host.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/hosttest/fakedisk.h"
#include "kernel/fs/tools/fsck_check.h"
#include "task.h"

/*
 * What the kernel will do on 4 harts: the executor's workers are host
 * threads, the disk completes requests from a thread of its own (the
 * interrupt handler's place), and 8 tasks work at once, half in their own
 * directory, half in a shared one, each on files only it names.  Every
 * byte read back is checked, every result must be the expected one, and
 * afterwards the image must pass fsck.  Under ThreadSanitizer, any data
 * race in the file system (or its use of the executor) fails the run.
 *
 * Beside them, CYCLERS tasks make and remove a directory over and over
 * (/cyc/dK with a file f in it: mkdir, create, unlink, rmdir), so its
 * inode number is freed and given out again, while WALKERS threads open
 * /cyc/dK and /cyc/dK/f at once (fs_open_now, through the name cache,
 * as open() and stat() do first).  A walker's reference must never land
 * on an inode that was freed or given out again meanwhile: the cycler's
 * next mkdir would find its new inode in use and call the disk damaged.
 *
 * usage: fs_stress IMAGE [rounds [cycles]]   (IMAGE: made by mkfs, read
 * in memory)
 */
#define WORKERS 4
#define TASKS 8
#define CYCLERS 2
#define WALKERS 2
#define FILE_BYTES 20000

static struct fakedisk D;
static struct fs *FS;
static struct executor ex;
static struct host_hooks hh;
static atomic_bool device_stop;
static atomic_int failures, tasks_done, cyclers_done;
static atomic_bool reclaim_due;
static atomic_ulong walks, walks_found;
static int rounds = 20, cycles = 200;

struct worker {
	struct future base;
	int state;
	int id, round, step;
	char path[64], path2[64], dir[32];
	union io_slot slot;
	struct fs_inode *ip;
	uint8_t data[FILE_BYTES], back[FILE_BYTES];
};

static void fail_at(int id, int round, const char *what, int64_t got, int64_t want)
{
	fprintf(stderr, "fs_stress: task %d round %d: %s gave %lld, expected %lld\n", id,
		round, what, (long long)got, (long long)want);
	atomic_fetch_add(&failures, 1);
}
/* w: a worker or a cycler */
#define fail(w, what, got, want) fail_at((w)->id, (w)->round, what, got, want)

/* Start an operation into w->slot and poll it to Ready. */
#define OP(w, startexpr, want, what)                                              \
	do {                                                                      \
		int64_t s_ = (startexpr);                                         \
		if (s_ != IO_STARTED) {                                           \
			(w)->slot.f.result = s_;                                  \
		} else {                                                          \
			(w)->step = 1;                                            \
		}                                                                 \
		AWAIT(w, (w)->step == 0 ? POLL_READY : io_poll(&(w)->slot.f, cx)); \
		(w)->step = 0;                                                    \
		if ((w)->slot.f.result != (want))                                 \
			fail(w, what, (w)->slot.f.result, want);                  \
	} while (0)

static enum poll worker_poll(struct future *f, struct context *cx)
{
	struct worker *w = (struct worker *)f;
	ASYNC_BEGIN(w);
	snprintf(w->dir, sizeof(w->dir), w->id % 2 ? "/shared" : "/own%d", w->id);
	if (w->id % 2 == 0)
		OP(w, fs_mkdir(&w->slot, FS, NULL, w->dir), 0, "mkdir own");
	for (w->round = 0; w->round < rounds; w->round++) {
		snprintf(w->path, sizeof(w->path), "%s/t%d-r%d", w->dir, w->id, w->round);
		snprintf(w->path2, sizeof(w->path2), "%s/t%d-moved", w->dir, w->id);
		for (int i = 0; i < FILE_BYTES; i++)
			w->data[i] = (uint8_t)(i * 13 + w->id * 7 + w->round);
		OP(w, fs_open(&w->slot, FS, NULL, w->path, PX_O_CREAT | PX_O_EXCL | PX_O_RDWR), 0,
		   "create");
		if (w->slot.f.result)
			continue;
		w->ip = fs_op_inode(&w->slot);
		OP(w, fs_write(&w->slot, FS, w->ip, NULL, (uint64_t)(uintptr_t)w->data, FILE_BYTES, 0,
			       false), FILE_BYTES, "write");
		memset(w->back, 0, FILE_BYTES);
		OP(w, fs_read(&w->slot, FS, w->ip, NULL, (uint64_t)(uintptr_t)w->back, FILE_BYTES, 0),
		   FILE_BYTES, "read");
		if (memcmp(w->data, w->back, FILE_BYTES))
			fail(w, "read back differs", 1, 0);
		if (fs_iput(FS, w->ip))
			fail(w, "put of a linked file asked for a reclaim", 1, 0);
		w->ip = NULL;
		/* rename over the previous round's file, then read it by the new name */
		OP(w, fs_rename(&w->slot, FS, NULL, w->path, w->path2), 0, "rename");
		OP(w, fs_open(&w->slot, FS, NULL, w->path2, PX_O_RDONLY), 0, "open moved");
		if (w->slot.f.result)
			continue;
		w->ip = fs_op_inode(&w->slot);
		OP(w, fs_read(&w->slot, FS, w->ip, NULL, (uint64_t)(uintptr_t)w->back, FILE_BYTES, 0),
		   FILE_BYTES, "read moved");
		if (memcmp(w->data, w->back, FILE_BYTES))
			fail(w, "moved file differs", 1, 0);
		/* unlinked while open: freed by the reclaim after the last put */
		if (w->round % 3 == 2) {
			OP(w, fs_unlink(&w->slot, FS, NULL, w->path2), 0, "unlink open");
			if (fs_iput(FS, w->ip))
				OP(w, fs_reclaim(&w->slot, FS), 0, "reclaim");
		} else {
			fs_iput(FS, w->ip);
		}
		w->ip = NULL;
	}
	atomic_fetch_add(&tasks_done, 1);
	ASYNC_END(w);
}

static const struct future_vtable worker_vt = { worker_poll, NULL };

TASK_POOL(worker_pool, struct worker, TASKS);

/* ---- a directory made and removed while others open through it ------------------*/

struct cycler {
	struct future base;
	int state;
	int id, round, step;
	char dir[32], path[40];
	union io_slot slot;
};

static enum poll cycler_poll(struct future *f, struct context *cx)
{
	struct cycler *w = (struct cycler *)f;
	ASYNC_BEGIN(w);
	snprintf(w->dir, sizeof(w->dir), "/cyc/d%d", w->id);
	snprintf(w->path, sizeof(w->path), "%s/f", w->dir);
	for (w->round = 0; w->round < cycles; w->round++) {
		OP(w, fs_mkdir(&w->slot, FS, NULL, w->dir), 0, "cycle mkdir");
		OP(w, fs_open(&w->slot, FS, NULL, w->path, PX_O_CREAT | PX_O_EXCL | PX_O_RDWR), 0,
		   "cycle create");
		if (w->slot.f.result == 0 && fs_iput(FS, fs_op_inode(&w->slot)))
			fail(w, "put of a linked file asked for a reclaim", 1, 0);
		OP(w, fs_unlink(&w->slot, FS, NULL, w->path), 0, "cycle unlink");
		OP(w, fs_rmdir(&w->slot, FS, NULL, w->dir), 0, "cycle rmdir");
		/* A walker that held the last reference of a removed inode
		 * left it to the reclaim. */
		if (atomic_exchange(&reclaim_due, false))
			OP(w, fs_reclaim(&w->slot, FS), 0, "cycle reclaim");
	}
	atomic_fetch_add(&cyclers_done, 1);
	atomic_fetch_add(&tasks_done, 1);
	ASYNC_END(w);
}

static const struct future_vtable cycler_vt = { cycler_poll, NULL };

TASK_POOL(cycler_pool, struct cycler, CYCLERS);

/* The name cache's race point (kernel/fs/fs_env.h): one pass in 64
 * yields the thread there, as a preempted hart would stall. */
void fs_env_race_point(void)
{
	static atomic_uint n;
	if ((atomic_fetch_add(&n, 1) & 63) == 0)
		sched_yield();
}

/* A walker: fs_open_now of each cycler's directory and file until the
 * cyclers are done.  Every answer is one the paths can have. */
static void *walker_main(void *arg)
{
	(void)arg;
	char path[48];
	while (atomic_load(&cyclers_done) < CYCLERS) {
		for (int k = 0; k < CYCLERS; k++) {
			for (int file = 0; file < 2; file++) {
				snprintf(path, sizeof(path), file ? "/cyc/d%d/f" : "/cyc/d%d", k);
				struct fs_inode *ip = NULL;
				int64_t r = fs_open_now(FS, NULL, path, PX_O_RDONLY, &ip);
				atomic_fetch_add(&walks, 1);
				if (r == 0) {
					atomic_fetch_add(&walks_found, 1);
					if (fs_iput(FS, ip))
						atomic_store(&reclaim_due, true);
				} else if (r != -PX_ENOENT && r != FS_WOULD_WAIT) {
					fprintf(stderr, "fs_stress: walker: open_now %s gave %lld\n", path,
						(long long)r);
					atomic_fetch_add(&failures, 1);
				}
			}
		}
	}
	return NULL;
}

/* The device: completes what is in flight, a few at a time, like an
 * interrupt handler (exec_interrupt_enter: wakes go to the injection queue). */
static void *device_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&device_stop)) {
		struct exec_worker *saved = exec_interrupt_enter();
		unsigned n = fakedisk_complete(&D, 1 + (unsigned)(rand() % 4));
		exec_interrupt_exit(saved);
		if (!n) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fs_stress IMAGE [rounds]\n");
		return 2;
	}
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		cycles = atoi(argv[3]);
	if (fakedisk_load(&D, argv[1], 12345) != 0)
		return 2;

	union io_slot s;
	struct fs_params p = { .nbuf = 128, .ninode = 64 };
	if (run1(&D, &s, fs_mount(&s, &D.dev, &p)) != 0)
		return 1;
	FS = fs_op_fs(&s);
	if (run1(&D, &s, fs_mkdir(&s, FS, NULL, "/shared")) != 0 ||
	    run1(&D, &s, fs_mkdir(&s, FS, NULL, "/cyc")) != 0)
		return 1;

	host_hooks_init(&hh);
	exec_init(&ex, &hh.hooks, WORKERS, 0);
	for (int i = 0; i < TASKS; i++) {
		static struct worker w; /* copied into the pool by task_spawn */
		memset(&w, 0, sizeof(w));
		w.base.vtable = &worker_vt;
		w.id = i;
		struct task_desc d = TASK_DESC_VOID(w, "fs-worker");
		if (task_spawn(&ex, &worker_pool.src, &d, NULL) != TASK_OK)
			return 1;
	}
	for (int i = 0; i < CYCLERS; i++) {
		static struct cycler c;
		memset(&c, 0, sizeof(c));
		c.base.vtable = &cycler_vt;
		c.id = i;
		struct task_desc d = TASK_DESC_VOID(c, "fs-cycler");
		if (task_spawn(&ex, &cycler_pool.src, &d, NULL) != TASK_OK)
			return 1;
	}
	pthread_t dev, walkers[WALKERS];
	pthread_create(&dev, NULL, device_main, NULL);
	for (int i = 0; i < WALKERS; i++)
		pthread_create(&walkers[i], NULL, walker_main, NULL);
	host_run_threads(&ex, WORKERS, false);
	for (int i = 0; i < WALKERS; i++)
		pthread_join(walkers[i], NULL);
	atomic_store(&device_stop, true);
	pthread_join(dev, NULL);
	exec_shutdown(&ex);
	if (atomic_load(&reclaim_due) && run1(&D, &s, fs_reclaim(&s, FS)) != 0) {
		fprintf(stderr, "fs_stress: the last reclaim failed\n");
		atomic_fetch_add(&failures, 1);
	}

	int bad = atomic_load(&failures);
	if (atomic_load(&tasks_done) != TASKS + CYCLERS) {
		fprintf(stderr, "fs_stress: %d of %d tasks finished\n", atomic_load(&tasks_done),
			TASKS + CYCLERS);
		bad++;
	}
	/* The walks must have gone through the cache and found the paths
	 * often enough to have met the cyclers' changes. */
	if (atomic_load(&walks_found) < (unsigned long)cycles) {
		fprintf(stderr, "fs_stress: walkers found the paths %lu times in %lu walks, "
			"fewer than %d\n", atomic_load(&walks_found), atomic_load(&walks), cycles);
		bad++;
	}
	struct fs_stats st;
	fs_get_stats(FS, &st);
	if (run1(&D, &s, fs_unmount(&s, FS)) != 0) {
		fprintf(stderr, "fs_stress: unmount failed\n");
		bad++;
	}
	struct fsck_result res;
	if (fsck_check(fakedisk_read_block, NULL, &D, D.nblocks, stdout, &res))
		bad++;
	printf("fs_stress: %d tasks x %d rounds on %d threads: %llu commits, %llu blocks "
	       "committed, up to %u requests in flight\n", TASKS, rounds, WORKERS,
	       (unsigned long long)st.commits, (unsigned long long)st.blocks_committed,
	       D.inflight_max);
	printf("fs_stress: %d cyclers x %d cycles; %d walkers: %lu opens, %lu found\n", CYCLERS,
	       cycles, WALKERS, atomic_load(&walks), atomic_load(&walks_found));
	fakedisk_free(&D);
	printf("%d passed, %d failed\n", bad ? 0 : 1, bad ? 1 : 0);
	return bad ? 1 : 0;
}

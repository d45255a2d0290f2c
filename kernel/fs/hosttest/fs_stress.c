/* The file system on 4 executor threads with a device thread: 8 tasks creating, writing, reading back, renaming and deleting (ThreadSanitizer). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "host/host.h"
#include "kernel/fs/fs.h"
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
 * usage: fs_stress IMAGE [rounds]   (IMAGE: made by mkfs, read in memory)
 */
#define WORKERS 4
#define TASKS 8
#define FILE_BYTES 20000

static struct fakedisk D;
static struct fs *FS;
static struct executor ex;
static struct host_hooks hh;
static atomic_bool device_stop;
static atomic_int failures, tasks_done;
static int rounds = 20;

struct worker {
	struct future base;
	int state;
	int id, round, step;
	char path[64], path2[64], dir[32];
	union io_slot slot;
	struct fs_inode *ip;
	uint8_t data[FILE_BYTES], back[FILE_BYTES];
};

static void fail(struct worker *w, const char *what, int64_t got, int64_t want)
{
	fprintf(stderr, "fs_stress: task %d round %d: %s gave %lld, expected %lld\n", w->id,
		w->round, what, (long long)got, (long long)want);
	atomic_fetch_add(&failures, 1);
}

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
	if (fakedisk_load(&D, argv[1], 12345) != 0)
		return 2;

	union io_slot s;
	struct fs_params p = { .nbuf = 128, .ninode = 64 };
	if (run1(&D, &s, fs_mount(&s, &D.dev, &p)) != 0)
		return 1;
	FS = fs_op_fs(&s);
	if (run1(&D, &s, fs_mkdir(&s, FS, NULL, "/shared")) != 0)
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
	pthread_t dev;
	pthread_create(&dev, NULL, device_main, NULL);
	host_run_threads(&ex, WORKERS, false);
	atomic_store(&device_stop, true);
	pthread_join(dev, NULL);
	exec_shutdown(&ex);

	int bad = atomic_load(&failures);
	if (atomic_load(&tasks_done) != TASKS) {
		fprintf(stderr, "fs_stress: %d of %d tasks finished\n", atomic_load(&tasks_done), TASKS);
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
	fakedisk_free(&D);
	printf("%d passed, %d failed\n", bad ? 0 : 1, bad ? 1 : 0);
	return bad ? 1 : 0;
}

/* Host test of the struct file kinds for regular files and directories (kernel/fs/fs_file.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host/host.h"
#include "kernel/file.h"
#include "kernel/fs/fs_file.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/hosttest/fakedisk.h"
#include "kernel/fs/tools/fsck_check.h"
#include "kernel/hosttest/check.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/uaccess.h"

/*
 * fs_file.c and kernel/file.c, compiled for the host as they are; what
 * they use of the kernel is played here: kmalloc and kfree are malloc and
 * free, a "user address" is a host pointer (0 is a bad one), and
 * kernel_exec is a host executor whose worker runs on this thread while
 * a device thread completes the fake disk's requests (for the reclaim
 * task a release spawns).  Every operation goes through file_start, the
 * one dispatcher both doors use.
 *
 * usage: fs_file_test IMAGE
 */

/* ---- the kernel, played ----------------------------------------------------------------*/

struct executor kernel_exec;
#define SMALL_SLOT TASK_SIZE(KTASK_SMALL_MAX)
#define LARGE_SLOT TASK_SIZE(KTASK_LARGE_MAX)
static _Alignas(16) unsigned char small_mem[16][SMALL_SLOT];
static _Alignas(16) unsigned char large_mem[4][LARGE_SLOT];
struct task_pool ktask_small = TASK_POOL_INIT(small_mem, SMALL_SLOT, 16);
struct task_pool ktask_large = TASK_POOL_INIT(large_mem, LARGE_SLOT, 4);

void *kmalloc(size_t size)
{
	return calloc(1, size);
}

/* Not zeroed: filled, so a field read before it is written shows. */
void *kmalloc_raw(size_t size)
{
	void *p = malloc(size);
	if (p)
		memset(p, 0xa5, size);
	return p;
}

void kfree(void *p, size_t size)
{
	(void)size;
	free(p);
}

int uaccess_ok(const struct vm_root *vm, uint64_t va, size_t n, unsigned need)
{
	(void)vm;
	(void)n;
	(void)need;
	return va != 0;
}

int copyout(const struct vm_root *vm, uint64_t dst_va, const void *src, size_t n)
{
	(void)vm;
	if (!dst_va)
		return -PX_EFAULT;
	memcpy((void *)(uintptr_t)dst_va, src, n);
	return 0;
}

int copyin(const struct vm_root *vm, void *dst, uint64_t src_va, size_t n)
{
	(void)vm;
	if (!src_va)
		return -PX_EFAULT;
	memcpy(dst, (const void *)(uintptr_t)src_va, n);
	return 0;
}

/* ---- harness ----------------------------------------------------------------------------*/

static struct fakedisk D;
static struct fs *FS;
static union io_slot S;
static struct host_hooks hh;
static atomic_bool device_stop;

static int64_t op(enum io_op o, struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	struct io_req rq = { .file = f, .vm = NULL, .va = (uint64_t)(uintptr_t)buf, .len = len,
			     .off = off };
	return run1(&D, &S, file_start(o, &rq, &S));
}

static struct file *open_file(const char *path, int flags)
{
	if (run1(&D, &S, fs_open(&S, FS, NULL, path, flags)) != 0)
		return NULL;
	struct file *f = NULL;
	struct fs_inode *ip = fs_op_inode(&S);
	if (fs_file_new(FS, ip, flags, &f) != 0)
		fs_iput(FS, ip);
	return f;
}

static void *device_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&device_stop)) {
		if (!fakedisk_complete(&D, 4)) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* Run the kernel tasks (a release's reclaim) to the end, the disk
 * answering from its own thread. */
static void run_kernel_tasks(void)
{
	pthread_t dev;
	atomic_store(&device_stop, false);
	pthread_create(&dev, NULL, device_main, NULL);
	exec_run(&kernel_exec);
	atomic_store(&device_stop, true);
	pthread_join(dev, NULL);
}

/* ---- tests ------------------------------------------------------------------------------*/

static void t_position(void)
{
	struct file *f = open_file("/f", PX_O_CREAT | PX_O_RDWR);
	CHECK(f != NULL);
	if (!f)
		return;
	char buf[64] = { 0 };
	CHECK_EQ(op(IO_WRITE, f, "0123456789", 10, PX_OFF_CUR), 10);
	CHECK_EQ(atomic_load(&f->pos), 10);
	CHECK_EQ(op(IO_WRITE, f, "abcdef", 6, PX_OFF_CUR), 6);
	CHECK_EQ(atomic_load(&f->pos), 16);
	CHECK_EQ(op(IO_WRITE, f, "XY", 2, 3), 2);            /* pwrite: pos stays */
	CHECK_EQ(atomic_load(&f->pos), 16);
	atomic_store(&f->pos, 0);
	CHECK_EQ(op(IO_READ, f, buf, sizeof(buf), PX_OFF_CUR), 16);
	CHECK_EQ(atomic_load(&f->pos), 16);
	CHECK(memcmp(buf, "012XY56789abcdef", 16) == 0);
	CHECK_EQ(op(IO_READ, f, buf, sizeof(buf), PX_OFF_CUR), 0); /* at the end */
	CHECK_EQ(op(IO_READ, f, buf, 4, 10), 4);                   /* pread */
	CHECK_EQ(atomic_load(&f->pos), 16);
	CHECK_EQ(op(IO_READ, f, NULL, 4, 0), -PX_EFAULT);          /* file_start's check */
	struct px_stat st;
	memset(&st, 0xff, sizeof(st));
	CHECK_EQ(op(IO_STAT, f, &st, sizeof(st), PX_OFF_CUR), 0);
	CHECK_EQ(st.type, PX_S_REG);
	CHECK_EQ(st.size, 16);
	CHECK_EQ(st.nlink, 1);
	CHECK_EQ(op(IO_FSYNC, f, NULL, 0, PX_OFF_CUR), 0);
	file_put(f);
}

static void t_modes(void)
{
	char buf[32] = { 0 };
	struct file *w = open_file("/f", PX_O_WRONLY | PX_O_APPEND);
	struct file *r = open_file("/f", PX_O_RDONLY);
	CHECK(w && r);
	if (!w || !r)
		return;
	CHECK_EQ(op(IO_READ, w, buf, 4, PX_OFF_CUR), -PX_EBADF);
	CHECK_EQ(op(IO_WRITE, r, "z", 1, PX_OFF_CUR), -PX_EBADF);
	/* O_APPEND: at the end whatever the position, which moves there */
	atomic_store(&w->pos, 3);
	CHECK_EQ(op(IO_WRITE, w, "++", 2, PX_OFF_CUR), 2);
	CHECK_EQ(atomic_load(&w->pos), 18);
	CHECK_EQ(op(IO_WRITE, w, "!", 1, 0), 1);             /* pwrite: at the end too */
	CHECK_EQ(atomic_load(&w->pos), 18);                   /* but pos stays */
	CHECK_EQ(op(IO_READ, r, buf, sizeof(buf), 14), 5);
	CHECK(memcmp(buf, "ef++!", 5) == 0);
	file_put(w);
	file_put(r);
}

static void t_directory(void)
{
	struct file *d = open_file("/home", PX_O_RDONLY);
	CHECK(d != NULL);
	if (!d)
		return;
	CHECK(fs_file_is(d));
	char buf[8];
	CHECK_EQ(op(IO_READ, d, buf, sizeof(buf), PX_OFF_CUR), -PX_EISDIR); /* read() of a directory */
	struct px_dirent e[2];
	struct io_req rq = { .file = d, .va = (uint64_t)(uintptr_t)e, .len = sizeof(e),
			     .off = PX_OFF_CUR };
	CHECK_EQ(run1(&D, &S, fs_file_getdents(&rq, &S)), sizeof(e));
	CHECK(strcmp(e[0].name, ".") == 0 && strcmp(e[1].name, "..") == 0);
	CHECK_EQ(atomic_load(&d->pos), 2);
	CHECK_EQ(run1(&D, &S, fs_file_getdents(&rq, &S)), sizeof(e));
	CHECK(strcmp(e[0].name, "readme.txt") == 0 && strcmp(e[1].name, "notes") == 0);
	CHECK_EQ(run1(&D, &S, fs_file_getdents(&rq, &S)), 0);
	struct px_stat st;
	CHECK_EQ(op(IO_STAT, d, &st, sizeof(st), PX_OFF_CUR), 0);
	CHECK_EQ(st.type, PX_S_DIR);
	file_put(d);
	struct file *f = open_file("/f", PX_O_RDONLY);
	rq.file = f;
	CHECK_EQ(run1(&D, &S, fs_file_getdents(&rq, &S)), -PX_ENOTDIR);
	file_put(f);
}

/* The last close of an unlinked file frees it, in a kernel task. */
static void t_release_reclaims(void)
{
	struct px_statfs s0, s1;
	fs_statfs(FS, &s0);
	struct file *f = open_file("/gone", PX_O_CREAT | PX_O_RDWR);
	CHECK(f != NULL);
	if (!f)
		return;
	static char big[100000];
	CHECK_EQ(op(IO_WRITE, f, big, sizeof(big), PX_OFF_CUR), sizeof(big));
	CHECK_EQ(run1(&D, &S, fs_unlink(&S, FS, NULL, "/gone")), 0);
	struct file *g = file_dup(f);
	file_put(f);
	CHECK_EQ(op(IO_READ, g, big, 10, 0), 10);   /* still readable through the dup */
	file_put(g);                                /* the last one: spawns the reclaim */
	CHECK_EQ(exec_live_tasks(&kernel_exec), 1);
	run_kernel_tasks();
	CHECK_EQ(exec_live_tasks(&kernel_exec), 0);
	fs_statfs(FS, &s1);
	CHECK_EQ(s1.blocks_free, s0.blocks_free);
	CHECK_EQ(s1.inodes_free, s0.inodes_free);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fs_file_test IMAGE\n");
		return 2;
	}
	if (fakedisk_load(&D, argv[1], 99) != 0)
		return 2;
	host_hooks_init(&hh);
	exec_init(&kernel_exec, &hh.hooks, 1, 0);
	struct fs_params p = { .nbuf = 64, .ninode = 32 };
	if (run1(&D, &S, fs_mount(&S, &D.dev, &p)) != 0)
		return 1;
	FS = fs_op_fs(&S);

	static const struct {
		void (*fn)(void);
		const char *name;
	} tests[] = {
		{ t_position, "position" },
		{ t_modes, "modes" },
		{ t_directory, "directory" },
		{ t_release_reclaims, "release_reclaims" },
	};
	int pass = 0, fail = 0;
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		failed_checks = 0;
		tests[i].fn();
		printf("%s %s\n", failed_checks ? "FAILED" : "OK    ", tests[i].name);
		if (failed_checks)
			fail++;
		else
			pass++;
	}
	if (run1(&D, &S, fs_unmount(&S, FS)) != 0) {
		printf("FAILED unmount\n");
		fail++;
	}
	struct fsck_result res;
	if (fsck_check(fakedisk_read_block, NULL, &D, D.nblocks, stdout, &res)) {
		printf("FAILED fsck\n");
		fail++;
	}
	exec_shutdown(&kernel_exec);
	fakedisk_free(&D);
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* Host tests of the file system: every operation and error, persistence, crashes, limits, damage, fsck. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/fs/fs.h"
#include "kernel/fs/fs_impl.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/hosttest/fakedisk.h"
#include "kernel/fs/tools/fsck_check.h"
#include "kernel/hosttest/check.h"

/*
 * Each test builds its image with the real mkfs (argv[1]), loads it into
 * a fake disk (fakedisk.c) whose requests complete in a seeded random
 * order, mounts it and drives every operation through run1/run_all,
 * which play the executor.  fsck_check (the fsck tool's own checker)
 * judges every image the tests leave behind.
 */

extern int fs_env_quiet;
extern _Atomic unsigned long fs_env_live_allocs;
extern long fs_env_fail_in;
extern uintptr_t fs_env_fault_at;

static const char *mkfs_path;
static struct fakedisk D;
static struct fs *FS;
static union io_slot S;

/* ---- images -----------------------------------------------------------------------------*/

static void image(struct fakedisk *d, const char *size, uint64_t seed)
{
	char cmd[512], path[64];
	snprintf(path, sizeof(path), "/tmp/fs_test.%d.img", (int)getpid());
	snprintf(cmd, sizeof(cmd), "%s -s %s %s > /dev/null", mkfs_path, size, path);
	if (system(cmd) != 0) {
		printf("mkfs failed: %s\n", cmd);
		exit(1);
	}
	if (fakedisk_load(d, path, seed) != 0)
		exit(1);
	unlink(path);
}

/* fsck on the disk; the report goes to *out (caller frees) if wanted. */
static unsigned fsck_disk(struct fakedisk *d, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct fsck_result res;
	unsigned e = fsck_check(fakedisk_read_block, NULL, d, d->nblocks, f, &res);
	fclose(f);
	if (e && !out)
		printf("%s", buf);
	if (out)
		*out = buf;
	else
		free(buf);
	return e;
}

static int mount_d(struct fakedisk *d, uint32_t nbuf)
{
	struct fs_params p = { .nbuf = nbuf, .ninode = 64 };
	int64_t r = run1(d, &S, fs_mount(&S, &d->dev, &p));
	FS = r == 0 ? fs_op_fs(&S) : NULL;
	return (int)r;
}

static int umount_d(struct fakedisk *d)
{
	int64_t r = run1(d, &S, fs_unmount(&S, FS));
	FS = NULL;
	return (int)r;
}

/* ---- operations, one at a time ------------------------------------------------------------*/

/* Every operation that may change the disk calls after_op: the crash
 * test counts them and snapshots the tree after each. */
static int mut_ops;
static void (*after_op_hook)(void);
static void after_op(void)
{
	mut_ops++;
	if (after_op_hook)
		after_op_hook();
}

/*
 * Every open, read and stat here is tried at once too, right after its
 * future (so the future does what it would alone, read-ahead included):
 * when the try answers, it must answer what the future did.  An
 * allocation the future failed on purpose is no answer to compare.
 */
static unsigned now_answers[3]; /* open, read, stat */

static void open_now_agrees(const char *p, int flags, int64_t r, struct fs_inode *ip)
{
	struct fs_inode *nip = NULL;
	int64_t now = fs_open_now(FS, NULL, p, flags, &nip);
	if (now == FS_WOULD_WAIT || r == -PX_ENOMEM || (flags & PX_O_CREAT))
		return;
	now_answers[0]++;
	CHECK_EQ(now, r);
	if (now == 0) {
		CHECK(nip == ip);
		fs_iput(FS, nip);
	}
}

static int64_t op_open(const char *p, int flags, struct fs_inode **ip)
{
	int64_t r = run1(&D, &S, fs_open(&S, FS, NULL, p, flags));
	open_now_agrees(p, flags, r, r == 0 ? fs_op_inode(&S) : NULL);
	if (ip)
		*ip = r == 0 ? fs_op_inode(&S) : NULL;
	else if (r == 0)
		fs_iput(FS, fs_op_inode(&S));
	if (flags & (PX_O_CREAT | PX_O_TRUNC))
		after_op(); /* may run operations of its own (in S) */
	return r;
}

static int64_t op_write(struct fs_inode *ip, const void *buf, uint64_t len, uint64_t off)
{
	int64_t r = run1(&D, &S, fs_write(&S, FS, ip, NULL, (uint64_t)(uintptr_t)buf, len, off, false));
	after_op();
	return r;
}

static int64_t op_append(struct fs_inode *ip, const void *buf, uint64_t len, uint64_t *pos)
{
	int64_t r = run1(&D, &S, fs_write(&S, FS, ip, NULL, (uint64_t)(uintptr_t)buf, len, 0, true));
	*pos = fs_op_pos(&S);
	return r;
}

static int64_t op_read(struct fs_inode *ip, void *buf, uint64_t len, uint64_t off)
{
	int64_t r = run1(&D, &S, fs_read(&S, FS, ip, NULL, (uint64_t)(uintptr_t)buf, len, off));
	static uint8_t again[FS_READ_NOW_BLOCKS * FS_BLOCK_SIZE];
	if (len <= sizeof(again) && r != -PX_ENOMEM) {
		uint8_t *to = buf ? again : NULL; /* NULL: the bad address */
		int64_t now = fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)to, len, off);
		if (now != FS_WOULD_WAIT) {
			now_answers[1]++;
			CHECK_EQ(now, r);
			CHECK(r <= 0 || memcmp(again, buf, (size_t)r) == 0);
		}
	}
	return r;
}

static int64_t op_mkdir(const char *p)
{
	int64_t r = run1(&D, &S, fs_mkdir(&S, FS, NULL, p));
	after_op();
	return r;
}

static int64_t op_rmdir(const char *p)
{
	int64_t r = run1(&D, &S, fs_rmdir(&S, FS, NULL, p));
	after_op();
	return r;
}

static int64_t op_unlink(const char *p)
{
	int64_t r = run1(&D, &S, fs_unlink(&S, FS, NULL, p));
	after_op();
	return r;
}

static int64_t op_rename(const char *a, const char *b)
{
	int64_t r = run1(&D, &S, fs_rename(&S, FS, NULL, a, b));
	after_op();
	return r;
}

static int64_t op_link(const char *a, const char *b)
{
	int64_t r = run1(&D, &S, fs_link(&S, FS, NULL, a, b));
	after_op();
	return r;
}

static int64_t op_trunc(struct fs_inode *ip, uint64_t size)
{
	int64_t r = run1(&D, &S, fs_truncate(&S, FS, ip, size));
	after_op();
	return r;
}

static int64_t op_stat(struct fs_inode *ip, struct px_stat *st)
{
	int64_t r = run1(&D, &S, fs_stat(&S, FS, ip, st));
	struct px_stat again;
	int64_t now = fs_stat_now(FS, ip, &again);
	if (now != FS_WOULD_WAIT && r != -PX_ENOMEM) {
		now_answers[2]++;
		CHECK_EQ(now, r);
		CHECK(r != 0 || memcmp(&again, st, sizeof(again)) == 0);
	}
	return r;
}

static void put(struct fs_inode *ip)
{
	if (fs_iput(FS, ip)) {
		run1(&D, &S, fs_reclaim(&S, FS));
		after_op();
	}
}

/* Whole-file helpers. */
static int64_t write_file(const char *p, const void *buf, uint64_t len)
{
	struct fs_inode *ip;
	int64_t r = op_open(p, PX_O_CREAT | PX_O_TRUNC | PX_O_WRONLY, &ip);
	if (r)
		return r;
	r = len ? op_write(ip, buf, len, 0) : 0;
	put(ip);
	return r;
}

static int64_t read_file(const char *p, void *buf, uint64_t cap)
{
	struct fs_inode *ip;
	int64_t r = op_open(p, PX_O_RDONLY, &ip);
	if (r)
		return r;
	r = op_read(ip, buf, cap, 0);
	put(ip);
	return r;
}

static int64_t stat_path(const char *p, struct px_stat *st)
{
	struct fs_inode *ip;
	int64_t r = op_open(p, PX_O_RDONLY, &ip);
	if (r)
		return r;
	r = op_stat(ip, st);
	put(ip);
	return r;
}

/* Names in a directory, sorted, as "name/" for directories; count returned. */
static int list_dir(const char *p, char *out, size_t cap)
{
	struct fs_inode *ip;
	if (op_open(p, PX_O_RDONLY | PX_O_DIRECTORY, &ip))
		return -1;
	static struct px_dirent ents[64];
	char names[4096][PX_NAME_MAX + 2];
	int n = 0;
	uint64_t pos = 0;
	for (;;) {
		int64_t r = run1(&D, &S, fs_getdents(&S, FS, ip, NULL, (uint64_t)(uintptr_t)ents,
						    sizeof(ents), pos));
		if (r <= 0)
			break;
		pos = fs_op_pos(&S);
		for (int64_t i = 0; i < r / (int64_t)sizeof(ents[0]) && n < 4096; i++)
			snprintf(names[n++], sizeof(names[0]), "%s%s", ents[i].name,
				 ents[i].type == PX_S_DIR ? "/" : "");
	}
	put(ip);
	qsort(names, (size_t)n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
	size_t at = 0;
	out[0] = 0;
	for (int i = 0; i < n; i++)
		at += (size_t)snprintf(out + at, at < cap ? cap - at : 0, "%s ", names[i]);
	return n;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 12));
}

/* Mount a fresh image of the given size. */
static void fresh(const char *size, uint32_t nbuf)
{
	image(&D, size, 1);
	CHECK_EQ(mount_d(&D, nbuf), 0);
}

static void done_check(void)
{
	if (FS)
		CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	fakedisk_free(&D);
}

/* ---- tests ------------------------------------------------------------------------------*/

/* mkfs's image is consistent, mounts, and holds its samples. */
static void t_mkfs_fsck(void)
{
	image(&D, "4M", 1);
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	char buf[512] = { 0 };
	CHECK(read_file("/home/readme.txt", buf, sizeof(buf)) > 20);
	CHECK(strncmp(buf, "Welcome to Pollux.", 18) == 0);
	char l[256];
	CHECK_EQ(list_dir("/", l, sizeof(l)), 4);
	CHECK(strcmp(l, "../ ./ bin/ home/ ") == 0);
	CHECK_EQ(list_dir("/home/notes", l, sizeof(l)), 3);
	done_check();
}

static void t_open_errors(void)
{
	fresh("2M", 64);
	struct fs_inode *ip;
	char name[200];
	CHECK_EQ(op_open("/nope", PX_O_RDONLY, NULL), -PX_ENOENT);
	CHECK_EQ(op_open("", PX_O_RDONLY, NULL), -PX_ENOENT);
	CHECK_EQ(op_open("/f", PX_O_RDWR | PX_O_CREAT, &ip), 0);
	CHECK_EQ(op_write(ip, "hello", 5, 0), 5);
	put(ip);
	CHECK_EQ(op_open("/f", PX_O_RDWR | PX_O_CREAT | PX_O_EXCL, NULL), -PX_EEXIST);
	CHECK_EQ(op_open("/f", PX_O_RDWR | PX_O_CREAT, NULL), 0);
	CHECK_EQ(op_open("/f/", PX_O_RDONLY, NULL), -PX_ENOTDIR);
	CHECK_EQ(op_open("/f/x", PX_O_RDONLY, NULL), -PX_ENOTDIR);
	CHECK_EQ(op_open("/f/x", PX_O_CREAT | PX_O_RDWR, NULL), -PX_ENOTDIR);
	CHECK_EQ(op_open("/f", PX_O_RDONLY | PX_O_DIRECTORY, NULL), -PX_ENOTDIR);
	CHECK_EQ(op_open("/f", PX_O_ACCMODE, NULL), -PX_EINVAL);
	CHECK_EQ(op_open("/home", PX_O_WRONLY, NULL), -PX_EISDIR);
	CHECK_EQ(op_open("/home", PX_O_RDONLY | PX_O_CREAT, NULL), -PX_EISDIR);
	CHECK_EQ(op_open("/home", PX_O_RDONLY, NULL), 0);
	CHECK_EQ(op_open("/home/", PX_O_RDONLY, NULL), 0);
	CHECK_EQ(op_open("/", PX_O_RDONLY, NULL), 0);
	CHECK_EQ(op_open("/new/", PX_O_CREAT | PX_O_RDWR, NULL), -PX_EISDIR);
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[FS_NAME_MAX + 1] = 0;           /* 120 bytes: fine */
	CHECK_EQ(op_open(name, PX_O_CREAT | PX_O_RDWR, NULL), 0);
	CHECK_EQ(op_open(name, PX_O_RDONLY, NULL), 0);
	name[FS_NAME_MAX + 1] = 'n';
	name[FS_NAME_MAX + 2] = 0;           /* 121 bytes */
	CHECK_EQ(op_open(name, PX_O_CREAT | PX_O_RDWR, NULL), -PX_ENAMETOOLONG);
	CHECK_EQ(op_open(name, PX_O_RDONLY, NULL), -PX_ENAMETOOLONG);
	/* a long path: 1023 bytes works, 1024 does not */
	{
		static char p[2048];
		size_t at = 0;
		CHECK_EQ(op_mkdir("/d"), 0);
		while (at < 1000)
			at += (size_t)snprintf(p + at, sizeof(p) - at, "/d/..");
		while (at < 1021)
			p[at++] = '/';
		snprintf(p + at, sizeof(p) - at, "f");
		CHECK_EQ(strlen(p), 1022);
		CHECK_EQ(op_open(p, PX_O_RDONLY, NULL), 0);
		strcat(p, "/");
		CHECK_EQ(strlen(p), 1023);
		CHECK_EQ(op_open(p, PX_O_RDONLY, NULL), -PX_ENOTDIR);
		strcat(p, "/");
		CHECK_EQ(op_open(p, PX_O_RDONLY, NULL), -PX_ENAMETOOLONG);
	}
	/* O_TRUNC and O_APPEND */
	CHECK_EQ(op_open("/f", PX_O_WRONLY | PX_O_APPEND, &ip), 0);
	uint64_t pos = 0;
	CHECK_EQ(op_append(ip, " world", 6, &pos), 6);
	CHECK_EQ(pos, 11);
	put(ip);
	{
		char b[32] = { 0 };
		CHECK_EQ(read_file("/f", b, sizeof(b)), 11);
		CHECK(strcmp(b, "hello world") == 0);
	}
	CHECK_EQ(op_open("/f", PX_O_RDONLY | PX_O_TRUNC, NULL), 0); /* read-only: no truncation */
	{
		struct px_stat st;
		CHECK_EQ(stat_path("/f", &st), 0);
		CHECK_EQ(st.size, 11);
		CHECK_EQ(op_open("/f", PX_O_RDWR | PX_O_TRUNC, NULL), 0);
		CHECK_EQ(stat_path("/f", &st), 0);
		CHECK_EQ(st.size, 0);
		CHECK_EQ(st.blocks, 0);
		CHECK_EQ(st.type, PX_S_REG);
		CHECK_EQ(st.nlink, 1);
	}
	done_check();
}

static void t_read_write(void)
{
	fresh("4M", 64);
	static uint8_t a[200000], b[200000];
	struct fs_inode *ip;
	fill(a, sizeof(a), 3);
	CHECK_EQ(op_open("/w", PX_O_RDWR | PX_O_CREAT, &ip), 0);
	/* across direct and indirect blocks, at odd offsets */
	CHECK_EQ(op_write(ip, a, 100, 0), 100);
	CHECK_EQ(op_write(ip, a + 100, 70000, 100), 70000);
	CHECK_EQ(op_write(ip, a + 70100, sizeof(a) - 70100, 70100), sizeof(a) - 70100);
	memset(b, 0, sizeof(b));
	CHECK_EQ(op_read(ip, b, sizeof(b), 0), sizeof(b));
	CHECK(memcmp(a, b, sizeof(b)) == 0);
	CHECK_EQ(op_read(ip, b, 10, sizeof(a) - 3), 3);
	CHECK_EQ(op_read(ip, b, 10, sizeof(a)), 0);
	CHECK_EQ(op_read(ip, b, 10, sizeof(a) + 5000), 0);
	/* a hole reads as zeros */
	CHECK_EQ(op_write(ip, "x", 1, 1000000), 1);
	CHECK_EQ(op_read(ip, b, 4096, 500000), 4096);
	CHECK(b[0] == 0 && b[4095] == 0);
	struct px_stat st;
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(st.size, 1000001);
	CHECK_EQ(st.blocks, 49 + 1 + 1); /* 49 data + 1 data + indirect */
	/* truncate: shrink inside a block, grow again: zeros after the cut */
	CHECK_EQ(op_trunc(ip, 5000), 0);
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(st.size, 5000);
	CHECK_EQ(st.blocks, 2);
	CHECK_EQ(op_trunc(ip, 9000), 0);
	CHECK_EQ(op_read(ip, b, 9000, 0), 9000);
	CHECK(memcmp(a, b, 5000) == 0);
	CHECK(b[5000] == 0 && b[8999] == 0);
	CHECK_EQ(op_trunc(ip, FS_MAX_FILE_SIZE + 1), -PX_EFBIG);
	CHECK_EQ(op_write(ip, "x", 1, FS_MAX_FILE_SIZE), -PX_EFBIG);
	/* bad memory: EFAULT, nothing changes size */
	CHECK_EQ(op_write(ip, NULL, 10, 0), -PX_EFAULT);
	CHECK_EQ(op_read(ip, NULL, 10, 0), -PX_EFAULT);
	CHECK_EQ(op_write(ip, NULL, 10, 50000), -PX_EFAULT);
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(st.size, 9000);
	CHECK_EQ(st.blocks, 2);
	/* memory unmapped in the middle of a copy: the part of the block
	 * past the end of the file stays zero */
	CHECK_EQ(op_trunc(ip, 8192), 0);
	CHECK_EQ(op_write(ip, a, 100, 8192), 100);      /* block 2 now holds the end */
	fs_env_fault_at = (uintptr_t)a + 500;
	CHECK_EQ(op_write(ip, a, 3000, 8292), -PX_EFAULT);
	fs_env_fault_at = 0;
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(st.size, 8292);
	CHECK_EQ(op_trunc(ip, 20000), 0);
	CHECK_EQ(op_read(ip, b, 20000, 0), 20000);
	CHECK(memcmp(b + 8192, a, 100) == 0);
	CHECK(b[8292] == 0 && b[8292 + 499] == 0 && b[19999] == 0);
	CHECK_EQ(op_trunc(ip, 9000), 0);
	put(ip);
	/* a directory is not read or written as a file */
	CHECK_EQ(op_open("/home", PX_O_RDONLY, &ip), 0);
	CHECK_EQ(op_read(ip, b, 10, 0), -PX_EISDIR);
	CHECK_EQ(op_write(ip, b, 10, 0), -PX_EISDIR);
	CHECK_EQ(op_trunc(ip, 0), -PX_EISDIR);
	CHECK_EQ(run1(&D, &S, fs_fsync(&S, FS, ip)), 0);
	put(ip);
	done_check();
}

static void t_dirs(void)
{
	fresh("4M", 64);
	struct px_stat st;
	char l[512];
	CHECK_EQ(op_mkdir("/a"), 0);
	CHECK_EQ(op_mkdir("/a"), -PX_EEXIST);
	CHECK_EQ(op_mkdir("/"), -PX_EEXIST);
	CHECK_EQ(op_mkdir("/x/y"), -PX_ENOENT);
	CHECK_EQ(op_mkdir("/a/b/"), 0);
	CHECK_EQ(write_file("/a/f", "1", 1), 1);
	CHECK_EQ(op_mkdir("/a/f/g"), -PX_ENOTDIR);
	CHECK_EQ(stat_path("/a", &st), 0);
	CHECK_EQ(st.nlink, 3);
	CHECK_EQ(st.type, PX_S_DIR);
	CHECK_EQ(stat_path("/", &st), 0);
	CHECK_EQ(st.nlink, 5); /* ., .., bin, home, a */
	CHECK_EQ(list_dir("/a", l, sizeof(l)), 4);
	CHECK(strcmp(l, "../ ./ b/ f ") == 0);
	CHECK_EQ(op_rmdir("/a"), -PX_ENOTEMPTY);
	CHECK_EQ(op_rmdir("/a/f"), -PX_ENOTDIR);
	CHECK_EQ(op_rmdir("/a/zz"), -PX_ENOENT);
	CHECK_EQ(op_rmdir("/"), -PX_EBUSY);
	CHECK_EQ(op_rmdir("/."), -PX_EINVAL);
	CHECK_EQ(op_rmdir("/a/b/.."), -PX_ENOTEMPTY);
	CHECK_EQ(op_unlink("/a/b"), -PX_EISDIR);
	CHECK_EQ(op_unlink("/a/f/"), -PX_ENOTDIR);
	CHECK_EQ(op_unlink("/a/none"), -PX_ENOENT);
	CHECK_EQ(op_rmdir("/a/b"), 0);
	CHECK_EQ(stat_path("/a", &st), 0);
	CHECK_EQ(st.nlink, 2);
	CHECK_EQ(op_unlink("/a/f"), 0);
	CHECK_EQ(op_rmdir("/a"), 0);
	CHECK_EQ(stat_path("/a", &st), -PX_ENOENT);
	/* ".." climbs; a removed directory that is still held accepts nothing */
	CHECK_EQ(op_mkdir("/c"), 0);
	struct fs_inode *c;
	CHECK_EQ(op_open("/c", PX_O_RDONLY, &c), 0);
	CHECK_EQ(op_rmdir("/c"), 0);
	CHECK_EQ(fsck_disk(&D, NULL), 0); /* an orphaned directory is consistent */
	CHECK_EQ(run1(&D, &S, fs_open(&S, FS, c, "new", PX_O_CREAT | PX_O_RDWR)), -PX_ENOENT);
	CHECK_EQ(run1(&D, &S, fs_mkdir(&S, FS, c, "new")), -PX_ENOENT);
	put(c);
	CHECK_EQ(op_open("/home/notes/../../bin/../home/readme.txt", PX_O_RDONLY, NULL), 0);
	/* getdents: a buffer smaller than one record; continuation */
	{
		struct fs_inode *ip;
		struct px_dirent e[2];
		CHECK_EQ(op_open("/", PX_O_RDONLY, &ip), 0);
		CHECK_EQ(run1(&D, &S, fs_getdents(&S, FS, ip, NULL, (uint64_t)(uintptr_t)e, 10, 0)), -PX_EINVAL);
		CHECK_EQ(run1(&D, &S, fs_getdents(&S, FS, ip, NULL, (uint64_t)(uintptr_t)e, sizeof(e), 0)),
			 sizeof(e));
		CHECK(strcmp(e[0].name, ".") == 0 && strcmp(e[1].name, "..") == 0);
		uint64_t pos = fs_op_pos(&S);
		CHECK_EQ(run1(&D, &S, fs_getdents(&S, FS, ip, NULL, (uint64_t)(uintptr_t)e, sizeof(e), pos)),
			 sizeof(e));
		CHECK(strcmp(e[0].name, "bin") == 0 && strcmp(e[1].name, "home") == 0);
		CHECK_EQ(e[0].type, PX_S_DIR);
		put(ip);
		CHECK_EQ(op_open("/home/readme.txt", PX_O_RDONLY, &ip), 0);
		CHECK_EQ(run1(&D, &S, fs_getdents(&S, FS, ip, NULL, (uint64_t)(uintptr_t)e, sizeof(e), 0)),
			 -PX_ENOTDIR);
		put(ip);
	}
	done_check();
}

static void t_rename_link(void)
{
	fresh("4M", 64);
	char b[64] = { 0 }, l[512];
	struct px_stat st;
	CHECK_EQ(write_file("/x", "xx", 2), 2);
	CHECK_EQ(write_file("/y", "yyy", 3), 3);
	CHECK_EQ(op_rename("/x", "/z"), 0);
	CHECK_EQ(read_file("/x", b, sizeof(b)), -PX_ENOENT);
	CHECK_EQ(read_file("/z", b, sizeof(b)), 2);
	/* replace a file */
	struct px_statfs before, after;
	fs_statfs(FS, &before);
	CHECK_EQ(op_rename("/z", "/y"), 0);
	memset(b, 0, sizeof(b));
	CHECK_EQ(read_file("/y", b, sizeof(b)), 2);
	CHECK(strcmp(b, "xx") == 0);
	fs_statfs(FS, &after);
	CHECK_EQ(after.inodes_free, before.inodes_free + 1);
	CHECK_EQ(after.blocks_free, before.blocks_free + 1);
	/* across directories, and a directory with its ".." */
	CHECK_EQ(op_mkdir("/d1"), 0);
	CHECK_EQ(op_mkdir("/d2"), 0);
	CHECK_EQ(op_mkdir("/d1/sub"), 0);
	CHECK_EQ(write_file("/d1/sub/f", "f", 1), 1);
	CHECK_EQ(op_rename("/y", "/d1/sub/y"), 0);
	CHECK_EQ(op_rename("/d1/sub", "/d2/moved"), 0);
	CHECK_EQ(stat_path("/d1", &st), 0);
	CHECK_EQ(st.nlink, 2);
	CHECK_EQ(stat_path("/d2", &st), 0);
	CHECK_EQ(st.nlink, 3);
	CHECK_EQ(read_file("/d2/moved/../moved/y", b, sizeof(b)), 2);
	CHECK_EQ(list_dir("/d2/moved/..", l, sizeof(l)), 3);
	/* the errors */
	CHECK_EQ(op_rename("/d2", "/d2/moved/in"), -PX_EINVAL);
	CHECK_EQ(op_rename("/d2", "/d2/moved"), -PX_EINVAL);
	CHECK_EQ(op_rename("/d2/moved", "/d1/sub/x"), -PX_ENOENT);
	CHECK_EQ(op_rename("/none", "/a"), -PX_ENOENT);
	CHECK_EQ(op_rename("/d2/moved", "/d2/moved/y"), -PX_EINVAL);
	CHECK_EQ(op_rename("/d2/moved/y", "/d1"), -PX_EISDIR);
	CHECK_EQ(op_rename("/d1", "/d2/moved/y"), -PX_ENOTDIR);
	CHECK_EQ(op_rename("/d1", "/d2"), -PX_ENOTEMPTY);
	CHECK_EQ(op_rename("/d2/moved/y/", "/q"), -PX_ENOTDIR);
	CHECK_EQ(op_rename("/.", "/q"), -PX_EINVAL);
	CHECK_EQ(op_rename("/d2/moved/y", "/d2/moved/y"), 0);
	/* a directory onto an empty one */
	CHECK_EQ(op_mkdir("/e"), 0);
	CHECK_EQ(op_rename("/d1", "/e"), 0);
	CHECK_EQ(stat_path("/d1", &st), -PX_ENOENT);
	CHECK_EQ(stat_path("/", &st), 0);
	CHECK_EQ(st.nlink, 6); /* bin home d2 e: before, d1 too */
	/* link */
	CHECK_EQ(op_link("/d2/moved/y", "/e/hard"), 0);
	CHECK_EQ(stat_path("/e/hard", &st), 0);
	CHECK_EQ(st.nlink, 2);
	CHECK_EQ(op_link("/d2/moved/y", "/e/hard"), -PX_EEXIST);
	CHECK_EQ(op_link("/e", "/e2"), -PX_EPERM);
	CHECK_EQ(op_link("/none", "/e2"), -PX_ENOENT);
	CHECK_EQ(op_unlink("/d2/moved/y"), 0);
	memset(b, 0, sizeof(b));
	CHECK_EQ(read_file("/e/hard", b, sizeof(b)), 2);
	CHECK_EQ(stat_path("/e/hard", &st), 0);
	CHECK_EQ(st.nlink, 1);
	done_check();
}

/* The path of a directory, climbed from its inode: it follows renames
 * of the directories above, says ENOENT once the directory is removed
 * and ENAMETOOLONG when the buffer is short. */
static int64_t getpath(struct fs_inode *ip, char *buf, size_t cap)
{
	return run1(&D, &S, fs_getpath(&S, FS, ip, buf, cap));
}

static void t_getpath(void)
{
	fresh("4M", 64);
	char buf[FS_PATH_MAX];
	struct fs_inode *root = fs_root(FS), *ip;
	CHECK_EQ(getpath(root, buf, sizeof(buf)), 1);
	CHECK(strcmp(buf, "/") == 0);
	CHECK_EQ(op_mkdir("/a"), 0);
	CHECK_EQ(op_mkdir("/a/bb"), 0);
	CHECK_EQ(op_mkdir("/a/bb/c"), 0);
	CHECK_EQ(op_mkdir("/a/other"), 0); /* a sibling before it in /a */
	CHECK_EQ(op_rmdir("/a/other"), 0);
	CHECK_EQ(op_open("/a/bb/c", PX_O_RDONLY | PX_O_DIRECTORY, &ip), 0);
	CHECK_EQ(getpath(ip, buf, sizeof(buf)), 7);
	CHECK(strcmp(buf, "/a/bb/c") == 0);
	CHECK_EQ(op_rename("/a/bb", "/a/renamed"), 0);
	CHECK_EQ(getpath(ip, buf, sizeof(buf)), 12);
	CHECK(strcmp(buf, "/a/renamed/c") == 0);
	CHECK_EQ(op_rename("/a/renamed", "/moved"), 0); /* across directories */
	CHECK_EQ(getpath(ip, buf, sizeof(buf)), 8);
	CHECK(strcmp(buf, "/moved/c") == 0);
	/* the buffer: exactly the path and its NUL, then one byte short */
	CHECK_EQ(getpath(ip, buf, 9), 8);
	CHECK(strcmp(buf, "/moved/c") == 0);
	CHECK_EQ(getpath(ip, buf, 8), -PX_ENAMETOOLONG);
	CHECK_EQ(getpath(ip, buf, 1), -PX_EINVAL);
	/* a file is not a directory */
	struct fs_inode *f;
	CHECK_EQ(op_open("/moved/f", PX_O_RDWR | PX_O_CREAT, &f), 0);
	CHECK_EQ(getpath(f, buf, sizeof(buf)), -PX_ENOTDIR);
	put(f);
	CHECK_EQ(op_unlink("/moved/f"), 0);
	/* removed while held */
	CHECK_EQ(op_rmdir("/moved/c"), 0);
	CHECK_EQ(getpath(ip, buf, sizeof(buf)), -PX_ENOENT);
	put(ip);
	fs_iput(FS, root);
	CHECK_EQ(op_rmdir("/moved"), 0);
	CHECK_EQ(op_rmdir("/a"), 0);
	done_check();
}

/* Unlinked while open: readable until closed, freed at the close (and,
 * after a crash instead of a close, by the next mount). */
static void t_orphans(void)
{
	fresh("4M", 64);
	struct px_statfs s0, s1;
	static uint8_t a[50000], b[50000];
	fill(a, sizeof(a), 9);
	fs_statfs(FS, &s0);
	struct fs_inode *ip;
	CHECK_EQ(op_open("/o", PX_O_RDWR | PX_O_CREAT, &ip), 0);
	CHECK_EQ(op_write(ip, a, sizeof(a), 0), sizeof(a));
	CHECK_EQ(op_unlink("/o"), 0);
	CHECK_EQ(op_read(ip, b, sizeof(b), 0), sizeof(b));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	char *rep = NULL;
	CHECK_EQ(fsck_disk(&D, &rep), 0);   /* on the orphan list: not an error */
	free(rep);
	/* a crash now: the copy's mount frees the orphan */
	struct fakedisk copy;
	fakedisk_init(&copy, D.nblocks, 5);
	memcpy(copy.mem, D.mem, D.nblocks * FS_BLOCK_SIZE);
	CHECK(fs_iput(FS, ip));
	CHECK_EQ(run1(&D, &S, fs_reclaim(&S, FS)), 0);
	fs_statfs(FS, &s1);
	CHECK_EQ(s1.blocks_free, s0.blocks_free);
	CHECK_EQ(s1.inodes_free, s0.inodes_free);
	done_check();
	D = copy;
	D.dev.ctx = &D;
	CHECK_EQ(mount_d(&D, 64), 0);
	fs_statfs(FS, &s1);
	CHECK_EQ(s1.blocks_free, s0.blocks_free);
	CHECK_EQ(s1.inodes_free, s0.inodes_free);
	done_check();
}

static void t_persistence(void)
{
	fresh("8M", 64);
	static uint8_t a[300000], b[300000];
	char name[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "/home/p%d", i);
		fill(a, sizeof(a), (unsigned)i);
		CHECK_EQ(write_file(name, a, (uint64_t)(i * 15000)), i * 15000);
	}
	CHECK_EQ(op_mkdir("/home/keep"), 0);
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "/home/p%d", i);
		fill(a, sizeof(a), (unsigned)i);
		memset(b, 0, sizeof(b));
		CHECK_EQ(read_file(name, b, sizeof(b)), i * 15000);
		CHECK(memcmp(a, b, (size_t)i * 15000) == 0);
	}
	struct px_stat st;
	CHECK_EQ(stat_path("/home/keep", &st), 0);
	done_check();
}

/* ---- crash safety -------------------------------------------------------------------------*/

/* The whole tree as one string: every path, its type, size and a hash of
 * its contents, sorted.  What a crash may leave is compared with these. */
static void snapshot_dir(const char *p, char **out, size_t *len, size_t *cap)
{
	struct fs_inode *ip;
	if (op_open(p, PX_O_RDONLY, &ip))
		return;
	static struct px_dirent ents[16];
	uint64_t pos = 0;
	char names[256][PX_NAME_MAX + 4];
	unsigned char types[256];
	int n = 0;
	for (;;) {
		int64_t r = run1(&D, &S, fs_getdents(&S, FS, ip, NULL, (uint64_t)(uintptr_t)ents,
						    sizeof(ents), pos));
		if (r <= 0)
			break;
		pos = fs_op_pos(&S);
		for (int i = 0; i < r / (int)sizeof(ents[0]); i++) {
			if (!strcmp(ents[i].name, ".") || !strcmp(ents[i].name, "..") || n >= 256)
				continue;
			snprintf(names[n], sizeof(names[0]), "%s", ents[i].name);
			types[n++] = ents[i].type;
		}
	}
	put(ip);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[PX_NAME_MAX + 4];
				unsigned char tt = types[i];
				memcpy(t, names[i], sizeof(t));
				memcpy(names[i], names[j], sizeof(t));
				memcpy(names[j], t, sizeof(t));
				types[i] = types[j];
				types[j] = tt;
			}
	for (int i = 0; i < n; i++) {
		char child[1024];
		snprintf(child, sizeof(child), "%.800s/%.124s", strcmp(p, "/") ? p : "", names[i]);
		char line[1200];
		if (types[i] == PX_S_DIR) {
			snprintf(line, sizeof(line), "%s/\n", child);
		} else {
			static uint8_t buf[1 << 20];
			int64_t r = read_file(child, buf, sizeof(buf));
			uint64_t h = 1469598103934665603ull;
			for (int64_t k = 0; k < r; k++)
				h = (h ^ buf[k]) * 1099511628211ull;
			snprintf(line, sizeof(line), "%s %lld %llx\n", child, (long long)r,
				 (unsigned long long)h);
		}
		size_t l = strlen(line);
		if (*len + l + 1 > *cap) {
			*cap = (*cap + l + 1) * 2;
			*out = realloc(*out, *cap);
		}
		memcpy(*out + *len, line, l + 1);
		*len += l;
		if (types[i] == PX_S_DIR)
			snapshot_dir(child, out, len, cap);
	}
}

static char *snapshot(void)
{
	size_t len = 0, cap = 256;
	char *s = malloc(cap);
	s[0] = 0;
	snapshot_dir("/", &s, &len, &cap);
	return s;
}

#define CRASH_STEPS 40
#define SNAPS 256
static char *snaps[SNAPS];
static int cut_at;

static void snap_hook(void)
{
	if (mut_ops < SNAPS)
		snaps[mut_ops] = snapshot();
}

static void cut_hook(void)
{
	if (D.crashed && cut_at < 0)
		cut_at = mut_ops - 1; /* the operation that just ended was cut */
}

/* The workload: each step one operation (two for "open, unlink, close"). */
static void crash_step(int i)
{
	static uint8_t a[60000];
	char p[64];
	struct fs_inode *ip;
	fill(a, sizeof(a), (unsigned)i);
	switch (i) {
	case 0: op_mkdir("/a"); break;
	case 1: write_file("/a/f1", a, 5000); break;
	case 2: write_file("/b", a, 100); break;
	case 3: op_rename("/b", "/a/b"); break;
	case 4: op_mkdir("/a/d"); break;
	case 5: op_rename("/a/d", "/d2"); break;
	case 6:
		if (!op_open("/a/f1", PX_O_RDWR, &ip)) {
			op_write(ip, a, 12000, 3000);
			put(ip);
		}
		break;
	case 7:
		if (!op_open("/a/f1", PX_O_RDWR, &ip)) {
			op_trunc(ip, 2000);
			put(ip);
		}
		break;
	case 8: op_link("/a/b", "/c"); break;
	case 9: op_unlink("/a/b"); break;
	case 10: op_unlink("/c"); break;
	case 11: write_file("/o", a, 9000); break;
	case 12: /* unlinked while open, then closed: freed at the close */
		if (!op_open("/o", PX_O_RDWR, &ip)) {
			op_unlink("/o");
			put(ip);
		}
		break;
	case 13: op_rmdir("/d2"); break;
	case 14: op_mkdir("/m"); break;
	default:
		if (i < 30) {
			snprintf(p, sizeof(p), "/m/file-with-a-longer-name-%02d", i);
			write_file(p, a, (uint64_t)(i * 300));
		} else if (i < 34) {
			snprintf(p, sizeof(p), "/m/file-with-a-longer-name-%02d", i - 15);
			op_unlink(p);
		} else if (i == 34) {
			/* indirect blocks; each write one chunk (FS_WRITE_CHUNK
			 * blocks), so each is all-or-nothing */
			if (!op_open("/big", PX_O_CREAT | PX_O_RDWR, &ip)) {
				op_write(ip, a, 32768, 0);
				op_write(ip, a + 32768, sizeof(a) - 32768, 32768);
				put(ip);
			}
		} else if (i == 35) {
			op_rename("/big", "/a/f1"); /* replaces a file */
		} else if (i == 36) {
			op_rename("/m", "/a/m");
		} else if (i == 37) {
			if (!op_open("/a/f1", PX_O_RDWR, &ip)) {
				op_trunc(ip, 0);
				put(ip);
			}
		} else if (i == 38) {
			op_mkdir("/a/m/deep");
		} else {
			op_rename("/a/m/deep", "/deep");
		}
	}
}

static void t_crash(void)
{
	/* the reference run: the tree after each operation */
	image(&D, "2M", 7);
	struct fakedisk start;
	fakedisk_init(&start, D.nblocks, 1);
	memcpy(start.mem, D.mem, D.nblocks * FS_BLOCK_SIZE);
	CHECK_EQ(mount_d(&D, 64), 0);
	mut_ops = 0;
	snaps[0] = snapshot();
	after_op_hook = snap_hook;
	for (int i = 0; i < CRASH_STEPS; i++)
		crash_step(i);
	after_op_hook = NULL;
	int total_ops = mut_ops;
	CHECK(total_ops < SNAPS);
	{
		int r = umount_d(&D);
		CHECK_EQ(r, 0);
		if (r)
			return;
	}
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	long total = D.writes;
	fakedisk_free(&D);
	/* then a crash after each write, the disk completing in another order each time */
	int bad = 0, runs = 0, mid = 0;
	fs_env_quiet = 1;
	for (long n = 0; n <= total && bad < 5; n++) {
		fakedisk_init(&D, start.nblocks, (uint64_t)n * 7919 + 3);
		memcpy(D.mem, start.mem, start.nblocks * FS_BLOCK_SIZE);
		D.crash_after = n;
		cut_at = -1;
		mut_ops = 0;
		after_op_hook = cut_hook;
		if (mount_d(&D, 64) == 0) {
			for (int i = 0; i < CRASH_STEPS && !D.crashed; i++)
				crash_step(i);
			umount_d(&D);
		}
		after_op_hook = NULL;
		if (cut_at < 0)
			cut_at = total_ops; /* cut in the unmount, or not at all */
		/* a power cut: what is on the disk now, and nothing else */
		D.crashed = false;
		D.crash_after = -1;
		char *rep = NULL;
		unsigned e = fsck_disk(&D, &rep);
		if (e) {
			printf("    crash after write %ld: fsck before mount:\n%s", n, rep);
			bad++;
		}
		if (strstr(rep, "committed transaction")) {
			if (mid++ == 0) {
				/* fsck -r replays it as the mount would: same image after */
				struct fakedisk r;
				fakedisk_init(&r, D.nblocks, 1);
				memcpy(r.mem, D.mem, D.nblocks * FS_BLOCK_SIZE);
				char *rrep = NULL;
				size_t rlen = 0;
				FILE *f = open_memstream(&rrep, &rlen);
				struct fsck_result res;
				unsigned fsck_errs = fsck_check(fakedisk_read_block, fakedisk_write_block, &r,
								 r.nblocks, f, &res);
				CHECK_EQ(fsck_errs, 0);
				fclose(f);
				CHECK(res.replayed);
				free(rrep);
				CHECK_EQ(fsck_disk(&r, &rrep), 0);
				CHECK(!strstr(rrep, "committed transaction"));
				free(rrep);
				struct fakedisk keep = D;
				D = r;
				D.dev.ctx = &D;
				CHECK_EQ(mount_d(&D, 64), 0);
				char *t = FS ? snapshot() : NULL;
				int kk = cut_at;
				CHECK(t && (!strcmp(t, snaps[kk]) ||
					    (kk < total_ops && !strcmp(t, snaps[kk + 1]))));
				free(t);
				if (FS)
					CHECK_EQ(umount_d(&D), 0);
				fakedisk_free(&D);
				D = keep;
				D.dev.ctx = &D;
			}
		}
		free(rep);
		CHECK_EQ(mount_d(&D, 64), 0);
		if (!FS) {
			bad++;
			fakedisk_free(&D);
			continue;
		}
		char *now = snapshot();
		int k = cut_at;
		bool ok = !strcmp(now, snaps[k]) || (k < total_ops && !strcmp(now, snaps[k + 1]));
		if (!ok) {
			printf("    crash after write %ld (operation %d cut): the tree is neither before "
			       "nor after it:\n%s--- before:\n%s--- after:\n%s", n, k, now, snaps[k],
			       k < total_ops ? snaps[k + 1] : "(none)\n");
			bad++;
		}
		free(now);
		CHECK_EQ(umount_d(&D), 0);
		if (fsck_disk(&D, NULL))
			bad++;
		fakedisk_free(&D);
		runs++;
	}
	fs_env_quiet = 0;
	CHECK_EQ(bad, 0);
	CHECK(runs > 200);
	CHECK(mid > 10); /* crashes inside commits, with a transaction to replay */
	printf("    %d crash points over %d operations, %d with a committed transaction to replay\n",
	       runs, total_ops, mid);
	for (int i = 0; i < SNAPS; i++) {
		free(snaps[i]);
		snaps[i] = NULL;
	}
	fakedisk_free(&start);
}

/* ---- limits -------------------------------------------------------------------------------*/

static void t_enospc(void)
{
	fresh("1M", 64);
	struct px_statfs s0, s1;
	fs_statfs(FS, &s0);
	static uint8_t a[64 * 1024];
	fill(a, sizeof(a), 1);
	struct fs_inode *ip;
	CHECK_EQ(op_open("/fill", PX_O_RDWR | PX_O_CREAT, &ip), 0);
	uint64_t off = 0;
	int64_t r;
	while ((r = op_write(ip, a, sizeof(a), off)) == (int64_t)sizeof(a))
		off += sizeof(a);
	CHECK(r < (int64_t)sizeof(a) && (r >= 0 || r == -PX_ENOSPC)); /* short, or nothing */
	off += (uint64_t)(r > 0 ? r : 0);
	CHECK_EQ(op_write(ip, a, 10, off), -PX_ENOSPC);
	fs_statfs(FS, &s1);
	CHECK_EQ(s1.blocks_free, 0);
	CHECK_EQ(op_mkdir("/nospace"), -PX_ENOSPC);
	/* a file with no data still fits (an inode and a slot in /) */
	CHECK_EQ(op_open("/empty", PX_O_RDWR | PX_O_CREAT, NULL), 0);
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	/* give it back */
	put(ip);
	CHECK_EQ(op_unlink("/fill"), 0);
	CHECK_EQ(op_unlink("/empty"), 0);
	fs_statfs(FS, &s1);
	CHECK_EQ(s1.blocks_free, s0.blocks_free);
	CHECK_EQ(s1.inodes_free, s0.inodes_free);
	CHECK_EQ(write_file("/again", a, sizeof(a)), sizeof(a));
	/* inodes run out too */
	int made = 0;
	for (;;) {
		char p[32];
		snprintf(p, sizeof(p), "/i%d", made);
		r = op_open(p, PX_O_CREAT | PX_O_RDWR, NULL);
		if (r)
			break;
		made++;
	}
	CHECK_EQ(r, -PX_ENOSPC);
	fs_statfs(FS, &s1);
	CHECK(s1.inodes_free == 0 || s1.blocks_free == 0);
	CHECK(made > 100);
	done_check();
}

static void t_big_file(void)
{
	fresh("80M", 256);
	static uint8_t a[1 << 20], b[1 << 20];
	struct fs_inode *ip;
	struct px_statfs s0, s1;
	fs_statfs(FS, &s0);
	CHECK_EQ(op_open("/big", PX_O_RDWR | PX_O_CREAT, &ip), 0);
	for (unsigned mb = 0; mb < 64; mb++) {
		fill(a, sizeof(a), mb);
		CHECK_EQ(op_write(ip, a, sizeof(a), (uint64_t)mb << 20), sizeof(a));
	}
	struct px_stat st;
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(st.size, 64ull << 20);
	CHECK_EQ(st.blocks, 16384 + 1 + 1 + 15); /* data, indirect, double, its tables */
	CHECK_EQ(run1(&D, &S, fs_unmount(&S, FS)), -PX_EBUSY); /* ip is still held */
	put(ip);
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	CHECK_EQ(mount_d(&D, 256), 0);
	CHECK_EQ(op_open("/big", PX_O_RDWR, &ip), 0);
	for (unsigned mb = 0; mb < 64; mb += 9) {
		fill(a, sizeof(a), mb);
		CHECK_EQ(op_read(ip, b, sizeof(b), (uint64_t)mb << 20), sizeof(b));
		CHECK(memcmp(a, b, sizeof(a)) == 0);
	}
	CHECK_EQ(op_trunc(ip, 0), 0);
	put(ip);
	fs_statfs(FS, &s1);
	CHECK_EQ(s1.blocks_free, s0.blocks_free);
	done_check();
}

static void t_dir_2000(void)
{
	fresh("32M", 128); /* 2,048 inodes */
	char p[64];
	for (int i = 0; i < 2000; i++) {
		snprintf(p, sizeof(p), "/home/entry-number-%04d", i);
		if (op_open(p, PX_O_CREAT | PX_O_EXCL | PX_O_RDWR, NULL) != 0) {
			CHECK(0);
			break;
		}
	}
	static char l[2100 * 32];
	CHECK_EQ(list_dir("/home", l, sizeof(l)), 2000 + 4);
	struct px_stat st;
	CHECK_EQ(stat_path("/home/entry-number-1999", &st), 0);
	CHECK_EQ(stat_path("/home/entry-number-0000", &st), 0);
	CHECK_EQ(stat_path("/home/entry-number-2000", &st), -PX_ENOENT);
	for (int i = 0; i < 2000; i += 2) {
		snprintf(p, sizeof(p), "/home/entry-number-%04d", i);
		CHECK_EQ(op_unlink(p), 0);
	}
	CHECK_EQ(list_dir("/home", l, sizeof(l)), 1000 + 4);
	done_check();
}

/* ---- concurrency: several operations in flight at once --------------------------------------*/

struct worker {
	int id, step;
	union io_slot slot;
	struct fs_inode *ip;
	int64_t last;
	bool failed;
};

static void t_concurrent(void)
{
	fresh("8M", 64);
	CHECK_EQ(op_mkdir("/shared"), 0);
	/* 8 tasks: create, write, read back, delete, in the same and in their own directories */
	enum { W = 8, ROUNDS = 6 };
	static uint8_t data[W][20000], back[W][20000];
	char paths[W][64];
	for (int w = 0; w < W; w++) {
		char d[32];
		snprintf(d, sizeof(d), "/own%d", w);
		CHECK_EQ(op_mkdir(d), 0);
		fill(data[w], sizeof(data[w]), (unsigned)w + 100);
	}
	for (int round = 0; round < ROUNDS; round++) {
		for (int phase = 0; phase < 4; phase++) {
			union io_slot slots[W];
			struct io_future *fs[W];
			struct fs_inode *ips[W];
			for (int w = 0; w < W; w++) {
				snprintf(paths[w], sizeof(paths[w]), w % 2 ? "/shared/r%d-w%d" : "/own%d/r%d",
					 w % 2 ? round : w, w % 2 ? w : round);
				fs[w] = &slots[w].f;
				int64_t st;
				if (phase == 0) {
					st = fs_open(&slots[w], FS, NULL, paths[w],
						     PX_O_CREAT | PX_O_EXCL | PX_O_RDWR);
				} else if (phase == 1 || phase == 2) {
					CHECK_EQ(op_open(paths[w], PX_O_RDWR, &ips[w]), 0);
					st = phase == 1 ? fs_write(&slots[w], FS, ips[w], NULL,
								   (uint64_t)(uintptr_t)data[w],
								   sizeof(data[w]), 0, false)
							: fs_read(&slots[w], FS, ips[w], NULL,
								  (uint64_t)(uintptr_t)back[w],
								  sizeof(back[w]), 0);
				} else {
					st = fs_unlink(&slots[w], FS, NULL, paths[w]);
				}
				CHECK_EQ(st, IO_STARTED);
			}
			CHECK_EQ(run_all(&D, fs, W), 0);
			for (int w = 0; w < W; w++) {
				int64_t want = phase == 1 || phase == 2 ? (int64_t)sizeof(data[w]) : 0;
				CHECK_EQ(slots[w].f.result, want);
				if (phase == 0 && slots[w].f.result == 0)
					put(fs_op_inode(&slots[w]));
				if (phase == 1 || phase == 2)
					put(ips[w]);
				if (phase == 2)
					CHECK(memcmp(data[w], back[w], sizeof(data[w])) == 0);
			}
		}
	}
	char l[256];
	CHECK_EQ(list_dir("/shared", l, sizeof(l)), 2);
	struct fs_stats s;
	fs_get_stats(FS, &s);
	CHECK(s.commits > 0);
	CHECK(D.inflight_max >= 4); /* a commit writes its blocks at once */
	done_check();
}

/* A sequential reader has the next blocks read ahead: several requests
 * in flight, each block read once. */
static void t_readahead(void)
{
	fresh("4M", 64);
	static uint8_t a[64 * 4096], b[4096];
	fill(a, sizeof(a), 8);
	CHECK_EQ(write_file("/seq", a, sizeof(a)), sizeof(a));
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	struct fs_inode *ip;
	CHECK_EQ(op_open("/seq", PX_O_RDONLY, &ip), 0);
	struct fs_stats s0, s1;
	fs_get_stats(FS, &s0);
	uint64_t r0 = D.reads_done;
	for (unsigned i = 0; i < 64; i++) {
		CHECK_EQ(op_read(ip, b, sizeof(b), (uint64_t)i * 4096), sizeof(b));
		CHECK(memcmp(b, a + (size_t)i * 4096, sizeof(b)) == 0);
	}
	fs_get_stats(FS, &s1);
	CHECK_EQ(D.reads_done - r0, 64 + 1);      /* each block once, and the indirect */
	CHECK(s1.prefetches - s0.prefetches >= 50);
	CHECK(s1.reads_in_flight_max >= 4);
	printf("    64 blocks: %llu read ahead, %llu waited for, at most %u reads in flight\n",
	       (unsigned long long)(s1.prefetches - s0.prefetches),
	       (unsigned long long)(s1.misses - s0.misses), s1.reads_in_flight_max);
	put(ip);
	done_check();
}

/* Concurrent misses of one block share one read; a dropped waiter
 * cancels nothing. */
static void t_cache_sharing(void)
{
	fresh("4M", 64);
	static uint8_t a[8192], b[4][8192];
	fill(a, sizeof(a), 4);
	CHECK_EQ(write_file("/s", a, sizeof(a)), sizeof(a));
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	struct fs_inode *ip;
	CHECK_EQ(op_open("/s", PX_O_RDONLY, &ip), 0);
	struct fs_stats s0, s1;
	fs_get_stats(FS, &s0);
	uint64_t reads0 = D.reads_done;
	union io_slot slots[4];
	struct io_future *fs[4];
	/* two readers of each block, all four at once */
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(fs_read(&slots[i], FS, ip, NULL, (uint64_t)(uintptr_t)b[i], 4096,
				 (uint64_t)(i % 2) * 4096),
			 IO_STARTED);
		fs[i] = &slots[i].f;
	}
	CHECK_EQ(run_all(&D, fs, 4), 0);
	fs_get_stats(FS, &s1);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(slots[i].f.result, 4096);
		CHECK(memcmp(a + (i % 2) * 4096, b[i], 4096) == 0);
	}
	CHECK_EQ(D.reads_done - reads0, 2);        /* two blocks, read once each */
	CHECK_EQ(s1.misses - s0.misses + s1.prefetches - s0.prefetches, 2);
	CHECK(s1.shared - s0.shared >= 2);
	CHECK(s1.reads_in_flight_max >= 2);
	/* a reader dropped while its block is on the way */
	put(ip);
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	CHECK_EQ(op_open("/s", PX_O_RDONLY, &ip), 0);
	unsigned long allocs = fs_env_live_allocs;
	CHECK_EQ(fs_read(&slots[0], FS, ip, NULL, (uint64_t)(uintptr_t)b[0], sizeof(a), 0), IO_STARTED);
	{
		struct context cx = { waker_noop() };
		CHECK_EQ(io_poll(&slots[0].f, &cx), POLL_PENDING);
		CHECK(!slots[0].f.busy);
		io_drop(&slots[0].f);
	}
	CHECK_EQ(fs_env_live_allocs, allocs);
	/* the orphaned read (and the read-ahead) is still in flight:
	 * unmount waits for it */
	CHECK(D.n >= 1);
	put(ip);
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(D.n, 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	CHECK_EQ(op_open("/s", PX_O_RDONLY, &ip), 0);
	memset(b[1], 0, sizeof(a));
	CHECK_EQ(op_read(ip, b[1], sizeof(a), 0), sizeof(a));
	CHECK(memcmp(a, b[1], sizeof(a)) == 0);
	put(ip);
	/* a create dropped while it waits for the namespace lock */
	done_check();
}

/* ---- damage: never a crash; mount refuses or the one operation fails ---------------------------*/

static struct fs_super *super_of(struct fakedisk *d)
{
	return (struct fs_super *)(void *)d->mem;
}

static uint8_t *blockp(struct fakedisk *d, uint32_t b)
{
	return d->mem + (uint64_t)b * FS_BLOCK_SIZE;
}

static struct fs_dinode *dinode(struct fakedisk *d, uint32_t inum)
{
	struct fs_super *sb = super_of(d);
	return (struct fs_dinode *)(void *)blockp(d, sb->inode_start + inum / FS_INODES_PER_BLOCK) +
	       inum % FS_INODES_PER_BLOCK;
}

/* The inode number of a name in the root directory of the image. */
static uint32_t root_entry(struct fakedisk *d, const char *name, struct fs_dirent **out)
{
	struct fs_dirent *e = (struct fs_dirent *)(void *)blockp(d, dinode(d, FS_ROOT_INUM)->direct[0]);
	for (uint32_t k = 0; k < FS_DIRENTS_PER_BLOCK; k++)
		if (e[k].inum && e[k].name_len == strlen(name) && !memcmp(e[k].name, name, e[k].name_len)) {
			if (out)
				*out = &e[k];
			return e[k].inum;
		}
	return 0;
}

/* A power cut that tears the newest log header: the header before it, in
 * the other header block, is still the log, so every transaction it
 * committed survives (with one header block they would all be lost: none
 * of them is home yet), and the torn one did not happen. */
static void t_torn_header(void)
{
	fresh("2M", 64);
	CHECK_EQ(op_mkdir("/home/a"), 0);
	CHECK_EQ(op_mkdir("/home/b"), 0);
	/* the disk as the cut leaves it: both commits are in the log only */
	struct fakedisk cut;
	fakedisk_init(&cut, D.nblocks, 1);
	memcpy(cut.mem, D.mem, D.nblocks * FS_BLOCK_SIZE);
	CHECK_EQ(umount_d(&D), 0);
	fakedisk_free(&D);
	D = cut;
	D.dev.ctx = &D;
	struct fs_super *sb = super_of(&D);
	struct fs_log_header *h0 = (void *)blockp(&D, fs_log_header_block(sb, 0));
	struct fs_log_header *h1 = (void *)blockp(&D, fs_log_header_block(sb, 1));
	CHECK(fs_log_header_ok(h0, sb) && fs_log_header_ok(h1, sb));
	struct fs_log_header *newest = h1->seq > h0->seq ? h1 : h0;
	CHECK(newest->count > 0);
	newest->blocks[newest->count - 1] ^= 0x40; /* its last sectors never arrived */
	CHECK(!fs_log_header_ok(newest, sb));
	CHECK_EQ(fsck_disk(&D, NULL), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	struct px_stat st;
	CHECK_EQ(stat_path("/home/a", &st), 0);
	CHECK_EQ(stat_path("/home/b", &st), -PX_ENOENT);
	CHECK_EQ(op_mkdir("/home/c"), 0);
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(mount_d(&D, 64), 0);
	CHECK_EQ(stat_path("/home/a", &st), 0);
	CHECK_EQ(stat_path("/home/c", &st), 0);
	done_check();
}

static void t_mount_refuses(void)
{
	fs_env_quiet = 1;
	struct {
		const char *what;
		void (*hurt)(struct fakedisk *d);
	} cases[] = {
		{ "magic", NULL },
		{ "crc", NULL },
		{ "layout", NULL },
		{ "log magic", NULL },
		{ "log entry", NULL },
		{ "root", NULL },
		{ "orphan loop", NULL },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		image(&D, "2M", 1);
		struct fs_super *sb = super_of(&D);
		struct fs_log_header *h = (void *)blockp(&D, sb->log_start);
		switch (i) {
		case 0: sb->magic ^= 1; break;
		case 1: sb->ninodes ^= 32; break;
		case 2: sb->inode_start++; sb->crc = fs_super_crc(sb); break;
		case 3: h->magic = 0; break;
		case 4:
			h->count = 1;
			h->blocks[0] = sb->nblocks + 5;
			h->crc = fs_log_crc(h, 1);
			break;
		case 5: dinode(&D, FS_ROOT_INUM)->type = FS_T_FILE; break;
		case 6: {
			uint32_t home = root_entry(&D, "home", NULL);
			sb->orphan_head = home;
			sb->crc = fs_super_crc(sb);
			dinode(&D, home)->next_orphan = home;
			break;
		}
		}
		int r = mount_d(&D, 64);
		if (r == 0 || FS) {
			printf("    %s: mounted a damaged image\n", cases[i].what);
			CHECK(0);
			if (FS)
				umount_d(&D);
		}
		fakedisk_free(&D);
	}
	fs_env_quiet = 0;
}

static void t_damage_eio(void)
{
	fs_env_quiet = 1;
	static uint8_t a[80000];
	fill(a, sizeof(a), 2);
	/* make the files, then damage them on the disk */
	image(&D, "4M", 1);
	CHECK_EQ(mount_d(&D, 64), 0);
	CHECK_EQ(write_file("/good", a, 100), 100);
	CHECK_EQ(write_file("/ptr", a, 100), 100);
	CHECK_EQ(write_file("/ind", a, sizeof(a)), sizeof(a));
	CHECK_EQ(op_mkdir("/dir"), 0);
	CHECK_EQ(write_file("/dir/x", a, 10), 10);
	CHECK_EQ(write_file("/unread", a, 10), 10);
	CHECK_EQ(umount_d(&D), 0);
	struct fs_dirent *e;
	dinode(&D, root_entry(&D, "ptr", NULL))->direct[0] = 3; /* into the log */
	((uint32_t *)(void *)blockp(&D, dinode(&D, root_entry(&D, "ind", NULL))->indirect))[2] = 0xfffffff0u;
	{
		uint32_t dir = root_entry(&D, "dir", NULL);
		struct fs_dirent *de = (struct fs_dirent *)(void *)blockp(&D, dinode(&D, dir)->direct[0]);
		de[2].inum = 999999;
	}
	root_entry(&D, "good", &e);
	D.bad_block = dinode(&D, root_entry(&D, "unread", NULL))->direct[0];
	CHECK_EQ(mount_d(&D, 64), 0);
	char b[200];
	static uint8_t big[80000];
	CHECK_EQ(read_file("/ptr", b, sizeof(b)), -PX_EIO);
	CHECK_EQ(read_file("/ind", big, sizeof(big)), 14 * 4096); /* short: up to the damage */
	{
		struct fs_inode *ip;
		CHECK_EQ(op_open("/ind", PX_O_RDONLY, &ip), 0);
		CHECK_EQ(op_read(ip, big, 4096, 14 * 4096), -PX_EIO);
		CHECK_EQ(op_read(ip, big, 4096, 15 * 4096), 4096);
		put(ip);
	}
	CHECK_EQ(op_open("/dir/x", PX_O_RDONLY, NULL), -PX_EIO);
	CHECK_EQ(op_open("/dir/y", PX_O_CREAT | PX_O_RDWR, NULL), -PX_EIO);
	CHECK_EQ(read_file("/unread", b, sizeof(b)), -PX_EIO);
	/* everything else still works, and is still consistent */
	CHECK_EQ(read_file("/good", b, sizeof(b)), 100);
	CHECK_EQ(write_file("/new", a, 5000), 5000);
	CHECK_EQ(op_unlink("/new"), 0);
	CHECK_EQ(umount_d(&D), 0);
	D.bad_block = UINT32_MAX;
	fakedisk_free(&D);
	fs_env_quiet = 0;
}

/* ---- fsck finds each kind of damage --------------------------------------------------------------*/

static void t_fsck_detects(void)
{
	struct {
		const char *want;   /* a piece of the error line */
	} cases[] = {
		{ "bad magic" },                        /* 0 */
		{ "owned by inode" },                   /* 1: used block marked free */
		{ "no inode owns it" },                 /* 2: lost block */
		{ "claimed twice" },                    /* 3 */
		{ "link count" },                       /* 4 */
		{ "which is free" },                    /* 5 */
		{ "no \".\" entry" },                   /* 6 */
		{ "two parents" },                      /* 7 */
		{ "inode bitmap" },                     /* 8 */
		{ "invalid name" },                     /* 9 */
		{ "appears twice" },                    /* 10 */
		{ "orphan list loops" },                /* 11 */
		{ "log entry" },                        /* 12 */
		{ "outside the data region" },          /* 13 */
		{ "blocks field" },                     /* 14 */
		{ "past the end" },                     /* 15 */
		{ "not reachable" },                    /* 16 */
		{ "\"..\" names" },                     /* 17 */
		{ "no links and not on the orphan" },   /* 18 */
		{ "unknown type" },                     /* 19 */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		image(&D, "2M", 1);
		struct fs_super *sb = super_of(&D);
		uint32_t home = root_entry(&D, "home", NULL), bin = root_entry(&D, "bin", NULL);
		struct fs_dinode *hd = dinode(&D, home);
		struct fs_dirent *he = (struct fs_dirent *)(void *)blockp(&D, hd->direct[0]);
		struct fs_dirent *re = (struct fs_dirent *)(void *)blockp(&D, dinode(&D, 1)->direct[0]);
		uint32_t readme = he[2].inum;
		uint8_t *bmap = blockp(&D, sb->bbitmap_start), *imap = blockp(&D, sb->ibitmap_start);
		switch (i) {
		case 0: sb->magic = 0; break;
		case 1: { uint32_t b = hd->direct[0]; bmap[b / 8] &= (uint8_t)~(1u << (b % 8)); break; }
		case 2: { uint32_t b = sb->nblocks - 1; bmap[b / 8] |= (uint8_t)(1u << (b % 8)); break; }
		case 3: dinode(&D, readme)->direct[1] = hd->direct[0];
			dinode(&D, readme)->blocks++;
			dinode(&D, readme)->size = 8000;
			break;
		case 4: dinode(&D, readme)->nlink = 3; break;
		case 5: he[2].inum = 200; break;
		case 6: he[0].inum = 0; break;
		case 7: re[5] = re[3]; memcpy(re[5].name, "bin2", 4); re[5].name_len = 4;
			dinode(&D, bin)->nlink++;
			break;
		case 8: imap[0] |= 0x80; break; /* inode 7, free, marked used */
		case 9: he[2].name[1] = '/'; break;
		case 10: he[3] = he[2]; dinode(&D, readme)->nlink++; break;
		case 11: sb->orphan_head = readme; sb->crc = fs_super_crc(sb);
			dinode(&D, readme)->next_orphan = readme;
			dinode(&D, readme)->nlink = 0;
			he[2].inum = 0;
			break;
		case 12: {
			struct fs_log_header *h = (void *)blockp(&D, sb->log_start);
			h->count = 1;
			h->blocks[0] = sb->log_start + 1;
			h->crc = fs_log_crc(h, 1);
			break;
		}
		case 13: dinode(&D, readme)->direct[0] = 2; break;
		case 14: dinode(&D, readme)->blocks = 7; break;
		case 15: dinode(&D, readme)->size = 10; dinode(&D, readme)->direct[3] = hd->direct[0]; break;
		case 16: re[3].inum = 0; dinode(&D, 1)->nlink--; break; /* bin's entry gone */
		case 17: ((struct fs_dirent *)(void *)blockp(&D, dinode(&D, bin)->direct[0]))[1].inum = home;
			break;
		case 18: dinode(&D, readme)->nlink = 0; he[2].inum = 0; break;
		case 19: dinode(&D, readme)->type = 9; break;
		}
		char *rep = NULL;
		unsigned e = fsck_disk(&D, &rep);
		if (!e || !strstr(rep, cases[i].want)) {
			printf("    case %u: fsck did not say \"%s\":\n%s", i, cases[i].want, rep);
			CHECK(0);
		}
		free(rep);
		/* and the kernel side does not crash on it either */
		fs_env_quiet = 1;
		if (mount_d(&D, 64) == 0) {
			char b[64];
			read_file("/home/readme.txt", b, sizeof(b));
			write_file("/home/new", "n", 1);
			op_unlink("/home/readme.txt");
			op_rename("/bin", "/home/bin");
			umount_d(&D);
		}
		fs_env_quiet = 0;
		fakedisk_free(&D);
	}
}

/* A busy write that is cancelled stops after its chunk, all-or-nothing. */
static void t_cancel_write(void)
{
	fresh("8M", 64);
	static uint8_t a[200000];
	fill(a, sizeof(a), 6);
	struct fs_inode *ip;
	CHECK_EQ(op_open("/w", PX_O_RDWR | PX_O_CREAT, &ip), 0);
	CHECK_EQ(fs_write(&S, FS, ip, NULL, (uint64_t)(uintptr_t)a, sizeof(a), 0, false), IO_STARTED);
	struct context cx = { waker_noop() };
	CHECK_EQ(io_poll(&S.f, &cx), POLL_PENDING);
	CHECK(S.f.busy);
	S.f.cancelled = true;
	CHECK_EQ(run_all(&D, (struct io_future *[]){ &S.f }, 1), 0);
	int64_t r = S.f.result;
	CHECK(r > 0 && r < (int64_t)sizeof(a) && r % (8 * FS_BLOCK_SIZE) == 0);
	struct px_stat st;
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(st.size, (uint64_t)r);
	put(ip);
	done_check();
}

/* Operations dropped before they change anything (not busy) leave
 * nothing behind: one waiting for room in the log while a commit runs,
 * one waiting for a load. */
static void t_drop(void)
{
	fresh("4M", 64);
	unsigned long allocs = fs_env_live_allocs;
	union io_slot a, b, r;
	struct context cx = { waker_noop() };
	CHECK_EQ(fs_mkdir(&a, FS, NULL, "/first"), IO_STARTED);
	/* drive it until only its commit is left (loads first, while busy) */
	CHECK_EQ(io_poll(&a.f, &cx), POLL_PENDING);
	CHECK(a.f.busy);
	while (a.f.busy && fakedisk_complete(&D, 1))
		CHECK_EQ(io_poll(&a.f, &cx), POLL_PENDING);
	CHECK(!a.f.busy);                            /* waiting for durability */
	CHECK(FS->log.committing);
	CHECK_EQ(fs_open(&b, FS, NULL, "/second", PX_O_CREAT | PX_O_RDWR), IO_STARTED);
	CHECK_EQ(io_poll(&b.f, &cx), POLL_PENDING);   /* waits for the commit to end */
	CHECK(!b.f.busy);
	CHECK_EQ(fs_open(&r, FS, NULL, "/home/notes/poem.txt", PX_O_RDONLY), IO_STARTED);
	CHECK_EQ(io_poll(&r.f, &cx), POLL_PENDING);   /* /home's inode or block loads */
	io_drop(&b.f);
	io_drop(&r.f);
	CHECK_EQ(run_all(&D, (struct io_future *[]){ &a.f }, 1), 0);
	CHECK_EQ(a.f.result, 0);
	CHECK_EQ(fs_env_live_allocs, allocs);
	struct px_stat st;
	CHECK_EQ(stat_path("/first", &st), 0);
	CHECK_EQ(stat_path("/second", &st), -PX_ENOENT);
	CHECK_EQ(op_open("/second", PX_O_CREAT | PX_O_RDWR, NULL), 0); /* nothing is stuck */
	done_check();
}

/* Out of memory at every allocation of a mount and of an operation:
 * -PX_ENOMEM, nothing leaked, the disk untouched. */
static void t_nomem(void)
{
	image(&D, "2M", 1);
	unsigned long base = fs_env_live_allocs;
	int k, refused = 0;
	fs_env_quiet = 1;
	for (k = 0; k < 1000; k++) {
		fs_env_fail_in = k;
		int r = mount_d(&D, 64);
		bool hit = fs_env_fail_in < 0;
		fs_env_fail_in = -1;
		if (!hit) {
			CHECK_EQ(r, 0);
			break;
		}
		CHECK_EQ(r, -PX_ENOMEM);
		CHECK_EQ(fs_env_live_allocs, base);
		refused++;
	}
	fs_env_quiet = 0;
	CHECK(refused > 64 + 8); /* every buffer, page and table was tried */
	if (!FS)
		return;
	fs_env_fail_in = 0;
	CHECK_EQ(op_mkdir("/x"), -PX_ENOMEM);
	fs_env_fail_in = -1;
	CHECK_EQ(op_mkdir("/x"), 0);
	done_check();
}

/* The operations tried at once answer only from what is cached and
 * unlocked, and then answer what the future would. */
static void t_now(void)
{
	unsigned answers0[3] = { now_answers[0], now_answers[1], now_answers[2] };
	fresh("4M", 64);
	static uint8_t a[6 * 4096], b[6 * 4096];
	fill(a, sizeof(a), 5);
	CHECK_EQ(op_mkdir("/d"), 0);
	CHECK_EQ(write_file("/d/f", a, sizeof(a)), sizeof(a));
	struct fs_inode *ip;
	CHECK_EQ(op_open("/d/hole", PX_O_CREAT | PX_O_RDWR, &ip), 0);
	CHECK_EQ(op_write(ip, a, 100, 8192), 100);
	put(ip);
	CHECK_EQ(umount_d(&D), 0);
	CHECK_EQ(mount_d(&D, 64), 0);

	/* Nothing cached but the root: every try waits. */
	struct fs_inode *nip = NULL;
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY, &nip), FS_WOULD_WAIT);
	CHECK_EQ(op_open("/d/f", PX_O_RDONLY, &ip), 0);
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 100, 0), FS_WOULD_WAIT);
	/* Loaded by the future: the tries answer. */
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY, &nip), 0);
	CHECK(nip == ip);
	fs_iput(FS, nip);
	CHECK_EQ(fs_open_now(FS, NULL, "//d///f", PX_O_WRONLY, &nip), 0);
	fs_iput(FS, nip);
	CHECK_EQ(op_read(ip, b, 3 * 4096, 100), 3 * 4096);
	memset(b, 0, sizeof(b));
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 3 * 4096, 100), 3 * 4096);
	CHECK(memcmp(b, a + 100, 3 * 4096) == 0);
	CHECK_EQ(op_read(ip, b, 10, sizeof(a) - 4), 4);
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 10, sizeof(a) - 4), 4);
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 10, sizeof(a)), 0);
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 0, 0), 0);
	/* More blocks than a try holds: the future's. */
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 5 * 4096, 0), FS_WOULD_WAIT);
	struct px_stat st;
	CHECK_EQ(op_stat(ip, &st), 0);
	CHECK_EQ(fs_stat_now(FS, ip, &st), 0);
	CHECK_EQ(st.size, sizeof(a));
	CHECK_EQ(st.type, PX_S_REG);
	/* A held inode lock: every try waits, and does nothing. */
	CHECK(mutex_try_lock(&ip->lock));
	CHECK_EQ(fs_stat_now(FS, ip, &st), FS_WOULD_WAIT);
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 10, 0), FS_WOULD_WAIT);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY, &nip), FS_WOULD_WAIT);
	mutex_unlock(&ip->lock);
	/* Errors are answered as the future answers them. */
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f/x", PX_O_RDONLY, &nip), -PX_ENOTDIR);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f/", PX_O_RDONLY, &nip), -PX_ENOTDIR);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/nope", PX_O_RDONLY, &nip), -PX_ENOENT);
	CHECK_EQ(fs_open_now(FS, NULL, "", PX_O_RDONLY, &nip), -PX_ENOENT);
	CHECK_EQ(fs_open_now(FS, NULL, "/d", PX_O_WRONLY, &nip), -PX_EISDIR);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY | PX_O_DIRECTORY, &nip), -PX_ENOTDIR);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_ACCMODE, &nip), -PX_EINVAL);
	char longname[FS_NAME_MAX + 3];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_EQ(fs_open_now(FS, NULL, longname, PX_O_RDONLY, &nip), -PX_ENAMETOOLONG);
	/* Those that change the disk are always the future's. */
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY | PX_O_CREAT, &nip), FS_WOULD_WAIT);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDWR | PX_O_TRUNC, &nip), FS_WOULD_WAIT);
	CHECK_EQ(fs_open_now(FS, NULL, "/d", PX_O_RDONLY | PX_O_DIRECTORY, &nip), 0);
	CHECK_EQ(fs_read_now(FS, nip, NULL, (uint64_t)(uintptr_t)b, 10, 0), -PX_EISDIR);
	/* The name cache: with /d locked, a name the last lookup found is
	 * still answered; after a rename neither the old name nor the new
	 * one is (both would need /d read under its lock). */
	struct fs_inode *dir = nip, *other = NULL;
	CHECK(mutex_try_lock(&dir->lock));
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY, &other), 0);
	CHECK(other == ip);
	fs_iput(FS, other);
	mutex_unlock(&dir->lock);
	CHECK_EQ(op_rename("/d/f", "/d/g"), 0);
	CHECK(mutex_try_lock(&dir->lock));
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY, &other), FS_WOULD_WAIT);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/g", PX_O_RDONLY, &other), FS_WOULD_WAIT);
	mutex_unlock(&dir->lock);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/f", PX_O_RDONLY, &other), -PX_ENOENT);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/g", PX_O_RDONLY, &other), 0);
	CHECK(other == ip);
	fs_iput(FS, other);
	/* An unlinked name is not answered either. */
	CHECK_EQ(op_unlink("/d/g"), 0);
	CHECK_EQ(fs_open_now(FS, NULL, "/d/g", PX_O_RDONLY, &other), -PX_ENOENT);
	fs_iput(FS, dir);
	put(ip);
	/* A hole reads as zeros without a block. */
	CHECK_EQ(op_open("/d/hole", PX_O_RDONLY, &ip), 0);
	CHECK_EQ(op_read(ip, b, 8192 + 100, 0), 8192 + 100);
	memset(b, 0xff, sizeof(b));
	CHECK_EQ(fs_read_now(FS, ip, NULL, (uint64_t)(uintptr_t)b, 8192 + 100, 0), 8192 + 100);
	CHECK(b[0] == 0 && b[8191] == 0 && memcmp(b + 8192, a, 100) == 0);
	put(ip);
	/* The futures' helpers tried each kind at once, and it answered. */
	CHECK(now_answers[0] > answers0[0] && now_answers[1] > answers0[1] &&
	      now_answers[2] > answers0[2]);
	done_check();
}

/* ---- runner ---------------------------------------------------------------------------------------*/

static const struct {
	void (*fn)(void);
	const char *name;
} tests[] = {
	{ t_mkfs_fsck, "mkfs_fsck" },
	{ t_open_errors, "open_errors" },
	{ t_read_write, "read_write" },
	{ t_dirs, "dirs" },
	{ t_rename_link, "rename_link" },
	{ t_getpath, "getpath" },
	{ t_orphans, "orphans" },
	{ t_persistence, "persistence" },
	{ t_torn_header, "torn_header" },
	{ t_cache_sharing, "cache_sharing" },
	{ t_readahead, "readahead" },
	{ t_now, "now" },
	{ t_concurrent, "concurrent" },
	{ t_cancel_write, "cancel_write" },
	{ t_drop, "drop" },
	{ t_nomem, "nomem" },
	{ t_enospc, "enospc" },
	{ t_dir_2000, "dir_2000" },
	{ t_big_file, "big_file_64mib" },
	{ t_mount_refuses, "mount_refuses" },
	{ t_damage_eio, "damage_eio" },
	{ t_fsck_detects, "fsck_detects" },
	{ t_crash, "crash" },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fs_test MKFS [test-name]\n");
		return 2;
	}
	mkfs_path = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	int pass = 0, fail = 0;
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 2 && strcmp(argv[2], tests[i].name))
			continue;
		failed_checks = 0;
		tests[i].fn();
		printf("%s %s\n", failed_checks ? "FAILED" : "OK    ", tests[i].name);
		if (failed_checks)
			fail++;
		else
			pass++;
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* libFuzzer target: mount and operate on a damaged image, or run random operations with crashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/fs/fs.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/hosttest/fakedisk.h"
#include "kernel/fs/tools/fsck_check.h"

/*
 * Built twice (make fuzz-fs):
 *
 *   FS_FUZZ_IMAGE  the input first damages the image (XOR patches into its
 *                  metadata blocks), then runs operations on it.  The file
 *                  system must neither crash nor hang (ASan, UBSan, the
 *                  runner's stuck check); whatever it does is allowed.
 *   FS_FUZZ_OPS    the image stays valid; the input is a sequence of
 *                  operations and a crash point.  After the operations (and
 *                  after a power cut at the crash point, then recovery),
 *                  fsck must find the image consistent: any error aborts.
 *
 * The base image comes from mkfs (FS_FUZZ_BASE, set by the Makefile);
 * FS_FUZZ_VERBOSE=1 shows the file system's messages.
 */

extern int fs_env_quiet;
static int verbose;

static uint8_t *base;
static uint64_t base_blocks;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *path = getenv("FS_FUZZ_BASE");
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		fprintf(stderr, "fs_fuzz: set FS_FUZZ_BASE to an image made by mkfs\n");
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	base = malloc((size_t)len);
	if (!base || fread(base, 1, (size_t)len, f) != (size_t)len)
		exit(2);
	fclose(f);
	base_blocks = (uint64_t)len / FS_BLOCK_SIZE;
	verbose = getenv("FS_FUZZ_VERBOSE") != NULL; /* messages, and each operation */
	fs_env_quiet = !verbose;
	return 0;
}

/* The input, read front to back; zeros once it runs out. */
struct in {
	const uint8_t *p;
	size_t n, at;
};

static uint32_t get(struct in *in, unsigned bytes)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint32_t)(in->at < in->n ? in->p[in->at++] : 0) << (8 * i);
	return v;
}

static const char *const paths[] = {
	"a", "b", "/c", "a/x", "a/y", "b/z", "a/x/deep", "/a/../b", "..", "/", "",
	"/home/readme.txt", "/home/notes", "/home/notes/poem.txt", "b/", "a/x/",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

static struct fakedisk D;
static union io_slot S;

static int64_t run(int64_t started)
{
	int64_t r = run1(&D, &S, started);
	if (r == -9999)
		abort(); /* waits for something that never comes */
	if (verbose)
		fprintf(stderr, "  -> %lld (writes stored %ld%s)\n", (long long)r, D.writes,
			D.crashed ? ", crashed" : "");
	return r;
}

#ifndef FS_FUZZ_IMAGE
static void fsck_or_die(const char *when)
{
	char *rep = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&rep, &len);
	struct fsck_result res;
	unsigned e = fsck_check(fakedisk_read_block, NULL, &D, D.nblocks, out, &res);
	fclose(out);
	if (e) {
		fprintf(stderr, "fs_fuzz: fsck %s:\n%s", when, rep);
		abort();
	}
	free(rep);
}
#endif

static struct fs *mount(void)
{
	struct fs_params p = { .nbuf = 64, .ninode = 32 };
	return run(fs_mount(&S, &D.dev, &p)) == 0 ? fs_op_fs(&S) : NULL;
}

#define NOPEN 4

/* Operations until the input ends (at most 64); files stay open between. */
/* An open, read or stat tried at once right after its future (nothing
 * ran in between) must answer what the future did, or wait. */
static void agree(int64_t now, int64_t r, const char *what)
{
	if (now != FS_WOULD_WAIT && now != r && r != -PX_ENOMEM) {
		fprintf(stderr, "fs_fuzz: %s at once gave %lld, its future %lld\n", what,
			(long long)now, (long long)r);
		abort();
	}
}

static void open_agrees(struct fs *fs, struct fs_inode *cwd, const char *p, int flags, int64_t r,
			struct fs_inode *ip)
{
	struct fs_inode *nip = NULL;
	int64_t now = fs_open_now(fs, cwd, p, flags, &nip);
	agree(now, r, "open");
	if (now == 0) {
		if (nip != ip)
			abort();
		fs_iput(fs, nip);
	}
}

static void operate(struct fs *fs, struct in *in)
{
	static uint8_t buf[3 * FS_BLOCK_SIZE * 8];
	struct fs_inode *open[NOPEN] = { 0 };
	struct px_stat st;
	for (int k = 0; k < 64 && in->at < in->n && !D.crashed; k++) {
		uint32_t op = get(in, 1), a = get(in, 1), b = get(in, 1);
		const char *p = paths[a % NPATHS], *q = paths[b % NPATHS];
		struct fs_inode **slot = &open[b % NOPEN];
		uint64_t len = get(in, 2) % sizeof(buf), off = (uint64_t)get(in, 2) * 97;
		if (verbose)
			fprintf(stderr, "op %u (byte %u) p=%s q=%s slot=%u len=%llu off=%llu\n", op % 16,
				op, p, q, b % NOPEN, (unsigned long long)len, (unsigned long long)off);
		switch (op % 16) {
		case 0:
		case 1: {
			static const int fl[] = {
				PX_O_RDONLY, PX_O_RDWR | PX_O_CREAT, PX_O_WRONLY | PX_O_TRUNC,
				PX_O_RDWR | PX_O_CREAT | PX_O_EXCL, PX_O_RDONLY | PX_O_DIRECTORY,
				PX_O_WRONLY | PX_O_APPEND | PX_O_CREAT, PX_O_RDWR | PX_O_CREAT | PX_O_TRUNC,
				PX_O_ACCMODE,
			};
			int64_t r = run(fs_open(&S, fs, *slot, p, fl[op / 16 % 8]));
			if (!(fl[op / 16 % 8] & PX_O_CREAT))
				open_agrees(fs, *slot, p, fl[op / 16 % 8], r,
					    r == 0 ? fs_op_inode(&S) : NULL);
			if (r == 0) {
				struct fs_inode *old = *slot;
				*slot = fs_op_inode(&S); /* before S runs anything else */
				if (old && fs_iput(fs, old))
					run(fs_reclaim(&S, fs));
			}
			break;
		}
		case 2:
			if (*slot) {
				memset(buf, (int)a, len);
				run(fs_write(&S, fs, *slot, NULL, (uint64_t)(uintptr_t)buf, len, off, op & 0x80));
			}
			break;
		case 3:
			if (*slot) {
				static uint8_t again[FS_READ_NOW_BLOCKS * FS_BLOCK_SIZE];
				int64_t r = run(fs_read(&S, fs, *slot, NULL, (uint64_t)(uintptr_t)buf, len,
						       off));
				if (len <= sizeof(again)) {
					int64_t now = fs_read_now(fs, *slot, NULL,
								  (uint64_t)(uintptr_t)again, len, off);
					agree(now, r, "read");
					if (now > 0 && memcmp(again, buf, (size_t)now) != 0)
						abort();
				}
			}
			break;
		case 4:
			if (*slot)
				run(fs_truncate(&S, fs, *slot, off * (op >> 6)));
			break;
		case 5: run(fs_mkdir(&S, fs, NULL, p)); break;
		case 6: run(fs_rmdir(&S, fs, NULL, p)); break;
		case 7: run(fs_unlink(&S, fs, NULL, p)); break;
		case 8: run(fs_rename(&S, fs, NULL, p, q)); break;
		case 9: run(fs_link(&S, fs, NULL, p, q)); break;
		case 10:
			if (*slot)
				run(fs_getdents(&S, fs, *slot, NULL, (uint64_t)(uintptr_t)buf,
						len + sizeof(struct px_dirent), a));
			break;
		case 11:
			if (*slot) {
				struct px_stat again;
				int64_t r = run(fs_stat(&S, fs, *slot, &st));
				int64_t now = fs_stat_now(fs, *slot, &again);
				agree(now, r, "stat");
				if (now == 0 && memcmp(&again, &st, sizeof(st)) != 0)
					abort();
			}
			break;
		case 12:
			if (*slot)
				run(fs_fsync(&S, fs, *slot));
			break;
		case 13:
			if (*slot && fs_iput(fs, *slot))
				run(fs_reclaim(&S, fs));
			*slot = NULL;
			break;
		case 14: /* a relative path from an open directory */
			if (*slot) {
				int64_t r = run(fs_open(&S, fs, *slot, q, PX_O_RDONLY));
				open_agrees(fs, *slot, q, PX_O_RDONLY, r, r == 0 ? fs_op_inode(&S) : NULL);
				if (r == 0 && fs_iput(fs, fs_op_inode(&S)))
					run(fs_reclaim(&S, fs));
			}
			break;
		default: {
			/* two operations at once */
			union io_slot s2;
			int64_t r1 = fs_mkdir(&S, fs, NULL, p);
			int64_t r2 = fs_rename(&s2, fs, NULL, q, p);
			struct io_future *fl[2];
			unsigned nf = 0;
			if (r1 == IO_STARTED)
				fl[nf++] = &S.f;
			if (r2 == IO_STARTED)
				fl[nf++] = &s2.f;
			if (run_all(&D, fl, nf) != 0)
				abort();
			break;
		}
		}
	}
	for (int i = 0; i < NOPEN; i++)
		if (open[i] && fs_iput(fs, open[i]))
			run(fs_reclaim(&S, fs));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	fakedisk_init(&D, base_blocks, 1 + get(&in, 2));
	memcpy(D.mem, base, base_blocks * FS_BLOCK_SIZE);
#ifdef FS_FUZZ_IMAGE
	/* damage: XOR bytes of the metadata and the first directory blocks */
	uint32_t patches = get(&in, 1) % 24;
	for (uint32_t i = 0; i < patches; i++) {
		uint32_t blk = get(&in, 1) % (base_blocks < 64 ? base_blocks : 64);
		uint32_t off = get(&in, 2) % FS_BLOCK_SIZE;
		D.mem[(uint64_t)blk * FS_BLOCK_SIZE + off] ^= (uint8_t)get(&in, 1);
	}
	if (get(&in, 1) & 1) {
		/* a damaged superblock is refused; let some through with a good crc */
		struct fs_super *sb = (struct fs_super *)(void *)D.mem;
		sb->crc = fs_super_crc(sb);
	}
	struct fs *fs = mount();
	if (fs) {
		operate(fs, &in);
		run(fs_unmount(&S, fs));
	}
#else
	uint32_t crash = get(&in, 2);
	D.crash_after = crash ? (long)(crash % 2048) : -1;
	struct fs *fs = mount();
	if (!fs)
		abort(); /* a valid image always mounts */
	operate(fs, &in);
	int64_t r = run(fs_unmount(&S, fs));
	if (r && !D.crashed) {
		fprintf(stderr, "fs_fuzz: unmount: %lld\n", (long long)r);
		abort();
	}
	/* power cut (if any), then the next mount recovers */
	D.crashed = false;
	D.crash_after = -1;
	fsck_or_die("before recovery");
	fs = mount();
	if (!fs)
		abort();
	if (run(fs_unmount(&S, fs)) != 0)
		abort();
	fsck_or_die("after recovery");
#endif
	fakedisk_free(&D);
	return 0;
}

/* fssys: the guest half of the file-system tests that need reboots, power cuts or many processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"
#include "pxutil.h"

/*
 * scripts/fssys.py boots the kernel with `init=fssys initargs=MODE,...`
 * on a disk image and reads what this prints; each mode ends with a line
 * "fssys MODE: OK" (exit 0) or "fssys MODE: FAILED ..." (exit 1).
 *
 *   persist PHASE   1: write files of many sizes under /p; 2: check them
 *                   byte-exact, then change the tree (unlink, rename,
 *                   append, truncate); 3: check the changed tree.  The
 *                   runner reboots between phases on the same image.
 *   crash ITER SEED the power-cut workload (see "crash" below)
 *   list DIR        the listing the crash runner compares
 *   conc N ROUNDS   N processes at once (see "conc" below)
 *   fill            fill the disk to ENOSPC, free it all, fill it again
 *   big             a 64 MiB file and a directory of 2,000 entries
 */

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("fssys: FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* ---- contents -----------------------------------------------------------------*/

/* Byte off of file number `file` in test `seed`: every byte depends on
 * all three, so a block in the wrong place or file is seen. */
static unsigned char pat(uint32_t seed, uint32_t file, uint64_t off)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32 | file);
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (unsigned char)(x >> (8 * (off & 7)));
}

static void fill_pat(unsigned char *buf, size_t n, uint32_t seed, uint32_t file, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pat(seed, file, off + i);
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static unsigned char big_buf[64 * 1024], cmp_buf[64 * 1024];

/* Write size bytes of pattern (seed, file) to path (created, truncated). */
static int write_file(const char *path, uint32_t seed, uint32_t file, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0) {
		fail("open %s for writing: %s", path, errstr(errno));
		return -1;
	}
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(big_buf) ? (size_t)(size - off) : sizeof(big_buf);
		fill_pat(big_buf, n, seed, file, off);
		if (write_all(fd, big_buf, n) < 0) {
			fail("write %s: %s", path, errstr(errno));
			close(fd);
			return -1;
		}
		off += n;
	}
	if (fsync(fd) < 0)
		fail("fsync %s: %s", path, errstr(errno));
	close(fd);
	return 0;
}

/* Check that path holds exactly size bytes of pattern (seed, file) from
 * pattern offset base on. */
static int check_file(const char *path, uint32_t seed, uint32_t file, uint64_t base, uint64_t size)
{
	struct px_stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fail("open %s: %s", path, errstr(errno));
		return -1;
	}
	if (px_fstat(fd, &st) < 0 || st.size != size) {
		fail("%s: size %llu, expected %llu", path, st.size, (unsigned long long)size);
		close(fd);
		return -1;
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t n = read(fd, cmp_buf, sizeof(cmp_buf));
		if (n < 0) {
			fail("read %s: %s", path, errstr(errno));
			break;
		}
		if (n == 0)
			break;
		fill_pat(big_buf, (size_t)n, seed, file, base + off);
		if (memcmp(big_buf, cmp_buf, (size_t)n) != 0) {
			size_t i = 0;
			while (big_buf[i] == cmp_buf[i])
				i++;
			fail("%s: wrong byte at %llu", path, (unsigned long long)(off + i));
			close(fd);
			return -1;
		}
		off += (uint64_t)n;
	}
	close(fd);
	if (off != size) {
		fail("%s: read %llu bytes", path, (unsigned long long)off);
		return -1;
	}
	return 0;
}

/* ---- persist ----------------------------------------------------------------------*/

/* Sizes around every boundary of the block map: one block, the 12
 * direct blocks, the indirect block. */
static const uint64_t persist_sizes[] = {
	0, 1, 511, 4095, 4096, 4097, 12 * 4096 - 1, 12 * 4096, 12 * 4096 + 1,
	100000, (12 + 1024) * 4096 + 3, 5 * 1024 * 1024 + 7,
};
#define NPERSIST (sizeof(persist_sizes) / sizeof(persist_sizes[0]))
#define PSEED 0x5eed

static void persist_name(char *buf, size_t n, unsigned i)
{
	snprintf(buf, n, "/p/%s/file%u", i % 2 ? "odd" : "even", i);
}

static int persist(int phase)
{
	char path[64], to[64];

	if (phase == 1) {
		if (mkdir("/p", 0777) < 0 || mkdir("/p/odd", 0777) < 0 || mkdir("/p/even", 0777) < 0)
			fail("mkdir /p: %s", errstr(errno));
		for (unsigned i = 0; i < NPERSIST; i++) {
			persist_name(path, sizeof(path), i);
			write_file(path, PSEED, i, persist_sizes[i]);
		}
		return 0;
	}
	/* Phases 2 and 3 check the same tree, as phase 2 leaves it in 3. */
	for (unsigned i = 0; i < NPERSIST; i++) {
		persist_name(path, sizeof(path), i);
		if (phase == 3 && i % 3 == 0) {
			struct px_stat st;
			if (px_stat(path, &st) != -PX_ENOENT)
				fail("%s: still there after its unlink", path);
			continue;
		}
		if (phase == 3 && i % 3 == 1) {
			snprintf(to, sizeof(to), "/p/moved%u", i);
			check_file(to, PSEED, i, 0, persist_sizes[i] / 2);
			continue;
		}
		if (phase == 3) {
			/* appended 5000 bytes of the same pattern */
			check_file(path, PSEED, i, 0, persist_sizes[i] + 5000);
			continue;
		}
		check_file(path, PSEED, i, 0, persist_sizes[i]);
	}
	if (phase == 3 || failures)
		return 0;
	for (unsigned i = 0; i < NPERSIST; i++) {
		persist_name(path, sizeof(path), i);
		if (i % 3 == 0) {
			if (unlink(path) < 0)
				fail("unlink %s: %s", path, errstr(errno));
		} else if (i % 3 == 1) {
			snprintf(to, sizeof(to), "/p/moved%u", i);
			int fd = open(path, O_WRONLY);
			if (fd < 0 || ftruncate(fd, (off_t)(persist_sizes[i] / 2)) < 0)
				fail("truncate %s: %s", path, errstr(errno));
			close(fd);
			if (rename(path, to) < 0)
				fail("rename %s: %s", path, errstr(errno));
		} else {
			int fd = open(path, O_WRONLY | O_APPEND);
			fill_pat(big_buf, 5000, PSEED, i, persist_sizes[i]);
			if (fd < 0 || write_all(fd, big_buf, 5000) < 0)
				fail("append %s: %s", path, errstr(errno));
			close(fd);
		}
	}
	return 0;
}

/* ---- crash -------------------------------------------------------------------------*/

/*
 * A deterministic workload whose every step (one syscall that changes
 * the disk) is numbered; after each returns, it prints "s<step>".
 * scripts/fssys.py runs the same generator and knows the tree after
 * every step; after a power cut, the tree it finds (`list`) must be the
 * tree after some step at or after the last one printed: nothing a
 * returned call did is lost (every step is durable when it returns, and
 * a file is fsync'd after its write besides), and nothing is half done.
 *
 * Boot ITER lists /wITER-1 (the previous boot's, cut by the runner),
 * removes /wITER-2 (already compared), then runs in /wITER until killed
 * (or for `steps` steps).  Writes are at most 7 blocks: one transaction
 * each (docs/fs.md, "Big writes").
 */
#define CRASH_FILES 6
#define CRASH_MAX_WRITE (7 * 4096)

static uint64_t rng;

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned char crash_byte(uint32_t n, uint32_t j)
{
	return (unsigned char)(n * 131u + j * 7u + (j >> 9));
}

static uint32_t crash_sizes[CRASH_FILES + 1]; /* the model: size, or UINT32_MAX if absent */
static unsigned long step;

static void stepped(void)
{
	printf("s%lu\n", ++step);
}

static _Noreturn void crash_fail(const char *what, const char *path)
{
	printf("fssys crash: FAILED: %s %s: %s\n", what, path, errstr(errno));
	exit(1);
}

static void crash_path(char *buf, size_t n, const char *dir, int k)
{
	if (k == CRASH_FILES)
		snprintf(buf, n, "%s/t", dir);
	else if (k < 4)
		snprintf(buf, n, "%s/f%d", dir, k);
	else
		snprintf(buf, n, "%s/s/g%d", dir, k);
}

static void crash_write(int fd, const char *path, uint32_t n, uint32_t len, uint32_t at)
{
	static unsigned char buf[CRASH_MAX_WRITE];

	for (uint32_t j = 0; j < len; j++)
		buf[j] = crash_byte(n, at + j);
	ssize_t w = write(fd, buf, len);
	if (w != (ssize_t)len)
		crash_fail("write", path);
	stepped();
}

static int list_dir(const char *dir);

static int crash(unsigned iter, uint64_t seed, unsigned long steps)
{
	char dir[32], old[32], a[64], b[64];

	if (iter > 0) {
		snprintf(old, sizeof(old), "/w%u", iter - 1);
		list_dir(old);
	}
	if (iter > 1) {
		snprintf(old, sizeof(old), "/w%u", iter - 2);
		const char *args[] = { "rm", "-r", old, NULL };
		int st, pid = spawn("/bin/rm", args);
		if (pid < 0 || wait(pid, &st) < 0 || st != 0)
			printf("fssys crash: rm -r %s failed\n", old);
	}
	snprintf(dir, sizeof(dir), "/w%u", iter);
	rng = seed ? seed : 1;
	for (int k = 0; k <= CRASH_FILES; k++)
		crash_sizes[k] = UINT32_MAX;
	printf("fssys crash: start %s\n", dir);
	if (mkdir(dir, 0777) < 0)
		crash_fail("mkdir", dir);
	stepped();
	snprintf(a, sizeof(a), "%s/s", dir);
	if (mkdir(a, 0777) < 0)
		crash_fail("mkdir", a);
	stepped();
	int xdir = 0;
	for (uint32_t n = 0; steps == 0 || step < steps; n++) {
		uint64_t r = next_rand();
		int kind = (int)(r % 10), k = (int)((r >> 8) % CRASH_FILES);
		int k2 = (int)((r >> 16) % CRASH_FILES);
		uint32_t len = (uint32_t)((r >> 24) % (CRASH_MAX_WRITE + 1));
		crash_path(a, sizeof(a), dir, k);
		if (kind <= 3) {
			/* replace f_k: write a new file, fsync, rename over */
			crash_path(b, sizeof(b), dir, CRASH_FILES);
			int fd = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0666);
			if (fd < 0)
				crash_fail("open", b);
			stepped();
			if (len > 0)
				crash_write(fd, b, n, len, 0);
			if (fsync(fd) < 0)
				crash_fail("fsync", b);
			close(fd);
			if (rename(b, a) < 0)
				crash_fail("rename", b);
			stepped();
			crash_sizes[k] = len;
		} else if (kind <= 5 && crash_sizes[k] != UINT32_MAX) {
			uint32_t alen = len % 12289;
			int fd = open(a, O_WRONLY | O_APPEND);
			if (fd < 0)
				crash_fail("open", a);
			if (alen > 0)
				crash_write(fd, a, n, alen, crash_sizes[k]);
			if (fsync(fd) < 0)
				crash_fail("fsync", a);
			close(fd);
			crash_sizes[k] += alen;
		} else if (kind == 6 && crash_sizes[k] != UINT32_MAX) {
			if (unlink(a) < 0)
				crash_fail("unlink", a);
			stepped();
			crash_sizes[k] = UINT32_MAX;
		} else if (kind == 7 && crash_sizes[k] != UINT32_MAX && k != k2) {
			crash_path(b, sizeof(b), dir, k2);
			if (rename(a, b) < 0)
				crash_fail("rename", a);
			stepped();
			crash_sizes[k2] = crash_sizes[k];
			crash_sizes[k] = UINT32_MAX;
		} else if (kind == 8 && crash_sizes[k] != UINT32_MAX) {
			uint32_t to = len % (crash_sizes[k] + 1);
			int fd = open(a, O_WRONLY);
			if (fd < 0 || ftruncate(fd, (off_t)to) < 0)
				crash_fail("ftruncate", a);
			stepped();
			close(fd);
			crash_sizes[k] = to;
		} else if (kind == 9) {
			snprintf(b, sizeof(b), "%s/x", dir);
			if ((xdir ? rmdir(b) : mkdir(b, 0777)) < 0)
				crash_fail(xdir ? "rmdir" : "mkdir", b);
			stepped();
			xdir = !xdir;
		}
	}
	printf("fssys crash: OK (%lu steps)\n", step);
	return 0;
}

/* FNV-1a, 32 bits. */
static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* "L PATH d" for a directory, "L PATH f SIZE HASH" for a file, every
 * entry below dir in directory order; "L none" if dir is missing; then
 * "L end". */
static int list_rec(const char *dir)
{
	static struct px_dirent ents[4];
	char path[PX_FS_PATH_MAX];
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return -1;
	printf("L %s d\n", dir);
	for (;;) {
		/* a subdirectory's list_rec reuses ents: keep a copy */
		long n = px_getdents(fd, ents, sizeof(ents));
		if (n <= 0)
			break;
		int cnt = (int)(n / (long)sizeof(ents[0]));
		struct px_dirent mine[4];
		memcpy(mine, ents, (size_t)n);
		for (int i = 0; i < cnt; i++) {
			if (strcmp(mine[i].name, ".") == 0 || strcmp(mine[i].name, "..") == 0)
				continue;
			path_join(path, sizeof(path), dir, mine[i].name);
			if (mine[i].type == PX_S_DIR) {
				list_rec(path);
				continue;
			}
			int f = open(path, O_RDONLY);
			uint32_t h = 2166136261u;
			uint64_t size = 0;
			for (;;) {
				ssize_t r = f < 0 ? -1 : read(f, cmp_buf, sizeof(cmp_buf));
				if (r <= 0) {
					if (r < 0)
						printf("L %s error %s\n", path, errstr(errno));
					break;
				}
				h = fnv(h, cmp_buf, (size_t)r);
				size += (uint64_t)r;
			}
			if (f >= 0)
				close(f);
			printf("L %s f %llu %08lx\n", path, (unsigned long long)size, (unsigned long)h);
		}
	}
	close(fd);
	return 0;
}

static int list_dir(const char *dir)
{
	if (list_rec(dir) < 0)
		printf("L none\n");
	printf("L end\n");
	return 0;
}

/* ---- conc ---------------------------------------------------------------------------*/

/*
 * N processes at once, each ROUNDS rounds of: create a file in its own
 * directory and one in the shared directory, write a pattern, read it
 * back, append, read back, rename it, unlink it; and append one record
 * "<id> <round>\n" (16 bytes, padded) to the shared log with O_APPEND.
 * Afterwards the parent finds every record exactly once and whole (no
 * lost or torn append), and every directory empty.
 */
#define REC 16

static void conc_child(int id, int rounds)
{
	char own[32], mine[64], shared[64], moved[64];

	snprintf(own, sizeof(own), "/c/own%d", id);
	if (mkdir(own, 0777) < 0)
		fail("mkdir %s: %s", own, errstr(errno));
	int log = open("/c/log", O_WRONLY | O_APPEND);
	if (log < 0)
		fail("open /c/log: %s", errstr(errno));
	for (int r = 0; r < rounds && failures == 0; r++) {
		uint32_t file = (uint32_t)(id * 1000 + r);
		uint64_t size = 1 + (uint64_t)(file * 7919u) % 30000;
		snprintf(mine, sizeof(mine), "%s/r%d", own, r);
		snprintf(shared, sizeof(shared), "/c/shared/p%dr%d", id, r);
		snprintf(moved, sizeof(moved), "/c/shared/m%dr%d", id, r);
		const char *paths[2] = { mine, shared };
		for (int i = 0; i < 2; i++) {
			write_file(paths[i], 77, file + (uint32_t)i, size);
			check_file(paths[i], 77, file + (uint32_t)i, 0, size);
			int fd = open(paths[i], O_WRONLY | O_APPEND);
			fill_pat(big_buf, 3000, 77, file + (uint32_t)i, size);
			if (fd < 0 || write_all(fd, big_buf, 3000) < 0)
				fail("append %s: %s", paths[i], errstr(errno));
			close(fd);
			check_file(paths[i], 77, file + (uint32_t)i, 0, size + 3000);
		}
		if (rename(shared, moved) < 0)
			fail("rename %s: %s", shared, errstr(errno));
		check_file(moved, 77, file + 1, 0, size + 3000);
		if (unlink(moved) < 0 || unlink(mine) < 0)
			fail("unlink %s: %s", moved, errstr(errno));
		char rec[32];
		snprintf(rec, sizeof(rec), "%-7d %-7d\n", id & 0xffff, r & 0xffff);
		if (write(log, rec, REC) != REC)
			fail("append to /c/log: %s", errstr(errno));
	}
	close(log);
	if (rmdir(own) < 0)
		fail("rmdir %s: %s", own, errstr(errno));
	exit(failures ? 1 : 0);
}

static int conc(int nproc, int rounds)
{
	int pids[16];
	char a1[8], a2[8], a3[8];

	if (nproc > 16)
		nproc = 16;
	if (mkdir("/c", 0777) < 0 || mkdir("/c/shared", 0777) < 0)
		fail("mkdir /c: %s", errstr(errno));
	int fd = open("/c/log", O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0)
		fail("create /c/log: %s", errstr(errno));
	close(fd);
	for (int i = 0; i < nproc; i++) {
		snprintf(a1, sizeof(a1), "%d", i);
		snprintf(a2, sizeof(a2), "%d", rounds);
		snprintf(a3, sizeof(a3), "child");
		const char *argv[] = { "fssys", "conc", a3, a1, a2, NULL };
		pids[i] = spawn("/bin/fssys", argv);
		if (pids[i] < 0)
			fail("spawn /bin/fssys: %s", errstr(errno));
	}
	for (int i = 0; i < nproc; i++) {
		int st;
		if (pids[i] > 0 && (wait(pids[i], &st) < 0 || st != 0))
			fail("child %d failed", i);
	}
	/* every record once */
	static unsigned char seen[16][256];
	fd = open("/c/log", O_RDONLY);
	char rec[REC + 1];
	long total = 0;
	while (fd >= 0 && read(fd, rec, REC) == REC) {
		int id, r;
		rec[REC] = '\0';
		if (sscanf(rec, "%d %d", &id, &r) != 2 || id < 0 || id >= nproc || r < 0 ||
		    r >= rounds || r >= 256 || rec[REC - 1] != '\n' || seen[id][r]++) {
			fail("/c/log: bad or repeated record %s after %ld", rec, total);
			break;
		}
		total++;
	}
	close(fd);
	if (total != (long)nproc * rounds)
		fail("/c/log: %ld records, expected %d", total, nproc * rounds);
	/* everything else is gone */
	static struct px_dirent ents[4];
	fd = open("/c/shared", O_RDONLY | O_DIRECTORY);
	long n = fd < 0 ? -1 : px_getdents(fd, ents, sizeof(ents));
	if (n != 2 * (long)sizeof(ents[0]))
		fail("/c/shared not empty: %ld bytes of entries", n);
	close(fd);
	if (unlink("/c/log") < 0 || rmdir("/c/shared") < 0 || rmdir("/c") < 0)
		fail("cleaning /c: %s", errstr(errno));
	printf("fssys conc: %d processes x %d rounds, %ld records\n", nproc, rounds, total);
	return 0;
}

/* ---- limits --------------------------------------------------------------------------*/

static int fill(void)
{
	struct px_statfs before, full, after;
	char path[32];
	int files = 0;

	if (px_statfs(&before) < 0)
		fail("statfs failed");
	if (mkdir("/fill", 0777) < 0)
		fail("mkdir /fill: %s", errstr(errno));
	memset(big_buf, 0xa5, sizeof(big_buf));
	int full_seen = 0;
	for (; !full_seen && files < 10000; files++) {
		snprintf(path, sizeof(path), "/fill/f%d", files);
		int fd = open(path, O_WRONLY | O_CREAT, 0666);
		if (fd < 0) {
			if (errno != ENOSPC)
				fail("create %s: %s", path, errstr(errno));
			full_seen = 1;
			break;
		}
		/* 1 MiB per file */
		for (int i = 0; i < 16; i++) {
			ssize_t w = write(fd, big_buf, sizeof(big_buf));
			if (w < (ssize_t)sizeof(big_buf)) {
				/* a short write, then ENOSPC */
				if (w >= 0)
					w = write(fd, big_buf, sizeof(big_buf));
				if (w >= 0 || errno != ENOSPC)
					fail("%s: no ENOSPC at the end (%s)", path, errstr(errno));
				full_seen = 1;
				break;
			}
		}
		close(fd);
	}
	px_statfs(&full);
	printf("fssys fill: %d files, %llu of %llu blocks free at ENOSPC\n", files,
	       full.blocks_free, full.blocks);
	if (!full_seen || full.blocks_free > 16)
		fail("the disk never filled up (%llu blocks free)", full.blocks_free);
	/* Still usable while full, and mkdir fails cleanly.  The blocks a
	 * write could not use (fewer than it needed: a data block and its
	 * indirect block) go to directories, one each, until a mkdir meets
	 * the full disk. */
	int dirs = 0;
	for (; dirs <= 16; dirs++) {
		snprintf(path, sizeof(path), "/fill/d%d", dirs);
		if (mkdir(path, 0777) < 0) {
			if (errno != ENOSPC)
				fail("mkdir %s on a full disk: %s, not ENOSPC", path, errstr(errno));
			break;
		}
	}
	if (dirs > 16)
		fail("mkdir on a full disk worked %d times", dirs);
	for (int i = 0; i < dirs; i++) {
		snprintf(path, sizeof(path), "/fill/d%d", i);
		if (rmdir(path) < 0)
			fail("rmdir %s: %s", path, errstr(errno));
	}
	for (int i = 0; i < files; i++) {
		snprintf(path, sizeof(path), "/fill/f%d", i);
		if (unlink(path) < 0 && errno != ENOENT)
			fail("unlink %s: %s", path, errstr(errno));
	}
	if (rmdir("/fill") < 0)
		fail("rmdir /fill: %s", errstr(errno));
	px_statfs(&after);
	if (after.blocks_free != before.blocks_free || after.inodes_free != before.inodes_free)
		fail("not everything came back: %llu -> %llu blocks free, %llu -> %llu inodes",
		     before.blocks_free, after.blocks_free, before.inodes_free, after.inodes_free);
	/* and the space is usable again */
	write_file("/again", 9, 9, 1 << 20);
	check_file("/again", 9, 9, 0, 1 << 20);
	unlink("/again");
	return 0;
}

static int big(void)
{
	char path[32];
	const uint64_t size = 64ull << 20;

	write_file("/big", 64, 64, size);
	check_file("/big", 64, 64, 0, size);
	struct px_stat st;
	if (px_stat("/big", &st) < 0 || st.blocks < size / 4096)
		fail("/big: %llu blocks", st.blocks);
	if (unlink("/big") < 0)
		fail("unlink /big: %s", errstr(errno));
	printf("fssys big: a 64 MiB file written, read back, removed\n");

	if (mkdir("/many", 0777) < 0)
		fail("mkdir /many: %s", errstr(errno));
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/many/entry-%04d", i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
		if (fd < 0) {
			fail("create %s: %s", path, errstr(errno));
			break;
		}
		close(fd);
	}
	/* every one listed once */
	static unsigned char seen[2000];
	static struct px_dirent ents[32];
	int fd = open("/many", O_RDONLY | O_DIRECTORY), count = 0;
	for (long n; fd >= 0 && (n = px_getdents(fd, ents, sizeof(ents))) > 0;) {
		for (long i = 0; i < n / (long)sizeof(ents[0]); i++) {
			int k;
			if (ents[i].name[0] == '.')
				continue;
			if (sscanf(ents[i].name, "entry-%d", &k) != 1 || k < 0 || k >= 2000 || seen[k]++)
				fail("/many: entry %s listed wrongly", ents[i].name);
			count++;
		}
	}
	close(fd);
	if (count != 2000)
		fail("/many: %d entries listed", count);
	/* the last one found by name, then all removed */
	struct px_stat st2;
	if (px_stat("/many/entry-1999", &st2) < 0)
		fail("/many/entry-1999 not found");
	for (int i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/many/entry-%04d", i);
		if (unlink(path) < 0) {
			fail("unlink %s: %s", path, errstr(errno));
			break;
		}
	}
	if (rmdir("/many") < 0)
		fail("rmdir /many: %s", errstr(errno));
	printf("fssys big: a directory of %d entries listed, found, removed\n", count);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "persist") == 0 && argc == 3)
		persist(atoi(argv[2]));
	else if (strcmp(mode, "crash") == 0 && argc >= 4)
		return crash((unsigned)atoi(argv[2]), strtoull(argv[3], NULL, 0),
			     argc > 4 ? strtoul(argv[4], NULL, 0) : 0);
	else if (strcmp(mode, "list") == 0 && argc == 3)
		return list_dir(argv[2]);
	else if (strcmp(mode, "conc") == 0 && argc == 4)
		conc(atoi(argv[2]), atoi(argv[3]));
	else if (strcmp(mode, "conc") == 0 && argc == 5 && strcmp(argv[2], "child") == 0)
		conc_child(atoi(argv[3]), atoi(argv[4]));
	else if (strcmp(mode, "fill") == 0)
		fill();
	else if (strcmp(mode, "big") == 0)
		big();
	else {
		fprintf(stderr, "usage: fssys persist 1|2|3 | crash ITER SEED [STEPS] | list DIR |\n"
				"       conc NPROC ROUNDS | fill | big\n");
		return 2;
	}
	if (failures) {
		printf("fssys %s: FAILED (%d)\n", mode, failures);
		return 1;
	}
	printf("fssys %s: OK\n", mode);
	return 0;
}

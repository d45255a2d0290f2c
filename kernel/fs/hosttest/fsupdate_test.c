/* fsupdate on a real image file: /bin brought up to date, the student's files left alone, damaged or foreign images refused untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fs/fs_format.h"
#include "kernel/fs/tools/filedev.h"
#include "kernel/fs/tools/fsck_check.h"

/*
 * usage: fsupdate_test MKFS FSUPDATE DIR
 *
 * Makes an image with mkfs holding two programs, writes files into it
 * through the core (as a student's session would: one in /home, one in
 * /bin that is no program), then runs the fsupdate tool with one program
 * changed (same size, other bytes), one unchanged and one new.  Checks
 * the line it prints, fsck, and every file read back byte-exact; then
 * that a second run changes nothing, and that an image of another format
 * version and a damaged one are refused with the file left byte-for-byte
 * as it was.
 */

static const char *mkfs, *fsupdate, *dir;
static int passed, failed;
static union io_slot S;

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond)) {                                                      \
			printf("  check failed: %s (line %d)\n", #cond, __LINE__); \
			ok = 0;                                                     \
		}                                                                   \
	} while (0)

static void result(const char *name, int ok)
{
	printf("test %s: %s\n", name, ok ? "OK" : "FAILED");
	if (ok)
		passed++;
	else
		failed++;
}

static char *path_of(const char *name)
{
	static char p[8][512];
	static int k;
	char *s = p[k++ % 8];
	snprintf(s, 512, "%s/%s", dir, name);
	return s;
}

static void put_host(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		perror(name);
		exit(2);
	}
}

static char *get_host(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)len + 1);
	if (!b || fread(b, 1, (size_t)len, f) != (size_t)len)
		exit(2);
	fclose(f);
	*n = (size_t)len;
	return b;
}

/* Run a command; its exit status, its first line of stdout in line. */
static int run(const char *cmd, char *line, size_t cap)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	line[0] = '\0';
	if (!fgets(line, (int)cap, p))
		line[0] = '\0';
	char rest[256];
	while (fgets(rest, sizeof(rest), p))
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rd(void *ctx, uint32_t b, void *buf)
{
	int fd = *(int *)ctx;
	return pread(fd, buf, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) == FS_BLOCK_SIZE ? 0 : -1;
}

static unsigned fsck_image(const char *img)
{
	struct filedev d;
	if (filedev_open(&d, img) != 0)
		return 1;
	FILE *devnull = fopen("/dev/null", "w");
	struct fsck_result res;
	unsigned e = fsck_check(rd, NULL, &d.fd, d.dev.nblocks, devnull, &res);
	fclose(devnull);
	filedev_close(&d);
	return e;
}

static struct filedev D;
static struct fs *FS;

static int mount_img(const char *img)
{
	struct fs_params p = { .nbuf = 64, .ninode = 64 };
	if (filedev_open(&D, img) != 0)
		return -1;
	int64_t r = filedev_run1(&S, fs_mount(&S, &D.dev, &p));
	FS = r == 0 ? fs_op_fs(&S) : NULL;
	return (int)r;
}

static int umount_img(void)
{
	int64_t r = filedev_run1(&S, fs_unmount(&S, FS));
	FS = NULL;
	filedev_close(&D);
	return (int)r;
}

static int64_t write_file(const char *p, const void *buf, size_t len)
{
	int64_t r = filedev_run1(&S, fs_open(&S, FS, NULL, p, PX_O_WRONLY | PX_O_CREAT | PX_O_TRUNC));
	if (r < 0)
		return r;
	struct fs_inode *ip = fs_op_inode(&S);
	r = filedev_run1(&S, fs_write(&S, FS, ip, NULL, (uint64_t)(uintptr_t)buf, len, 0, false));
	fs_iput(FS, ip);
	return r;
}

/* The whole file at p equals (want, n)? */
static int file_is(const char *p, const void *want, size_t n)
{
	if (filedev_run1(&S, fs_open(&S, FS, NULL, p, PX_O_RDONLY)) != 0)
		return 0;
	struct fs_inode *ip = fs_op_inode(&S);
	char *buf = calloc(1, n + 16);
	int64_t r = filedev_run1(&S, fs_read(&S, FS, ip, NULL, (uint64_t)(uintptr_t)buf, n + 16, 0));
	fs_iput(FS, ip);
	int eq = r == (int64_t)n && memcmp(buf, want, n) == 0;
	free(buf);
	return eq;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fsupdate_test MKFS FSUPDATE DIR\n");
		return 2;
	}
	mkfs = argv[1];
	fsupdate = argv[2];
	dir = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	static char img[512];
	snprintf(img, sizeof(img), "%s", path_of("fsupdate.img"));
	char cmd[2048], line[512];
	static char a1[20000], a2[20000], b[5000], c[9000];
	for (size_t i = 0; i < sizeof(a1); i++) {
		a1[i] = (char)(i * 7 + 1);
		a2[i] = (char)(i * 7 + 1 + (i > 12345)); /* same size, other bytes */
	}
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	const char student[] = "the student's notes, written in the guest\n";
	const char mine[] = "a student's own file in /bin\n";

	/* 1: an image with progA and progB; the student's files */
	int ok = 1;
	put_host("progA.elf", a1, sizeof(a1));
	put_host("progB.elf", b, sizeof(b));
	unlink(img);
	snprintf(cmd, sizeof(cmd), "%s -s 8M %s %s %s", mkfs, img, path_of("progA.elf"),
		 path_of("progB.elf"));
	CHECK(run(cmd, line, sizeof(line)) == 0);
	CHECK(mount_img(img) == 0);
	if (FS) {
		CHECK(write_file("/home/student.txt", student, sizeof(student) - 1) ==
		      (int64_t)sizeof(student) - 1);
		CHECK(write_file("/bin/mine", mine, sizeof(mine) - 1) == (int64_t)sizeof(mine) - 1);
		CHECK(umount_img() == 0);
	}
	result("setup", ok);

	/* 2: progA changed, progB the same, progC new */
	ok = 1;
	put_host("progA.elf", a2, sizeof(a2));
	put_host("progC.elf", c, sizeof(c));
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %s", fsupdate, img, path_of("progA.elf"),
		 path_of("progB.elf"), path_of("progC.elf"));
	CHECK(run(cmd, line, sizeof(line)) == 0);
	CHECK(strstr(line, "/bin updated: 1 replaced: progA, 1 added: progC, 1 unchanged") != NULL);
	printf("  %s", line);
	CHECK(fsck_image(img) == 0);
	CHECK(mount_img(img) == 0);
	if (FS) {
		CHECK(file_is("/bin/progA", a2, sizeof(a2)));
		CHECK(file_is("/bin/progB", b, sizeof(b)));
		CHECK(file_is("/bin/progC", c, sizeof(c)));
		CHECK(file_is("/home/student.txt", student, sizeof(student) - 1));
		CHECK(file_is("/bin/mine", mine, sizeof(mine) - 1));
		CHECK(filedev_run1(&S, fs_open(&S, FS, NULL, "/bin/.progA.new", PX_O_RDONLY)) ==
		      -PX_ENOENT);
		CHECK(umount_img() == 0);
	}
	result("update_bin", ok);

	/* 3: nothing to do the second time */
	ok = 1;
	CHECK(run(cmd, line, sizeof(line)) == 0);
	CHECK(strstr(line, "/bin is up to date (3 programs)") != NULL);
	CHECK(fsck_image(img) == 0);
	result("up_to_date", ok);

	/* 4: another format version: refused, the file untouched */
	ok = 1;
	size_t n0, n1;
	char *before = get_host(img, &n0);
	struct fs_super *sb = (struct fs_super *)(void *)before; /* block 0 */
	CHECK(sb->magic == FS_MAGIC);
	struct fs_super keep = *sb;
	sb->version = FS_VERSION + 1;
	sb->crc = fs_super_crc(sb);
	put_host("fsupdate.img", before, n0);
	put_host("progA.elf", a1, sizeof(a1));
	CHECK(run(cmd, line, sizeof(line)) == 1);
	char *after = get_host(img, &n1);
	CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
	free(after);
	result("refuse_other_version", ok);

	/* 5: damaged (a used block marked free): refused, untouched */
	ok = 1;
	*sb = keep;
	uint32_t used = keep.data_start; /* the root directory's block */
	uint8_t *bits = (uint8_t *)before + (size_t)keep.bbitmap_start * FS_BLOCK_SIZE;
	CHECK(bits[used / 8] & (1u << (used % 8)));
	bits[used / 8] &= (uint8_t)~(1u << (used % 8));
	put_host("fsupdate.img", before, n0);
	CHECK(fsck_image(img) != 0);
	CHECK(run(cmd, line, sizeof(line)) == 1);
	after = get_host(img, &n1);
	CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
	free(after);
	free(before);
	result("refuse_damaged", ok);

	unlink(img);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

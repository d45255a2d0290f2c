/* fsupdate: bring /bin of an existing image up to date with the given programs, through the file-system core and its log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/fs/fs_format.h"
#include "kernel/fs/tools/filedev.h"
#include "kernel/fs/tools/fsck_check.h"

/*
 * usage: fsupdate IMAGE PROGRAM.elf ...
 *
 * Each PROGRAM is /bin/NAME (its file name without ".elf"), as mkfs puts
 * it.  fsck checks the image first; a damaged image, or one of another
 * format version, is refused with fsck's lines and left untouched (exit
 * 1).  Otherwise the image is mounted with the kernel's own file-system
 * code over the file (kernel/fs/tools/filedev.c): a program whose bytes
 * differ from /bin/NAME is written to /bin/.NAME.new and renamed over
 * /bin/NAME, a new one added the same way, so at every instant /bin/NAME
 * is the old program or the new one whole (each operation is one
 * transaction of the log).  Nothing else in the image is touched.  One
 * line says what changed.  Exit 0 on success, 1 on refusal or an error,
 * 2 on usage errors.
 */

static union io_slot S;
static struct fs *FS;
static const char *image;

static _Noreturn void fail(const char *what, int64_t err)
{
	fprintf(stderr, "fsupdate: %s: %s (error %lld); the image holds every change made before it\n",
		image, what, (long long)-err);
	exit(1);
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fsupdate: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	size_t cap = 1 << 16, n = 0, r;
	char *buf = malloc(cap);
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (!buf || ferror(f)) {
		fprintf(stderr, "fsupdate: %s: read error\n", path);
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

/* /bin/NAME's bytes equal data? (false if it is missing or differs) */
static bool same(const char *path, const void *data, size_t len)
{
	struct fs_inode *ip;
	int64_t r = filedev_run1(&S, fs_open(&S, FS, NULL, path, PX_O_RDONLY));
	if (r == -PX_ENOENT)
		return false;
	if (r < 0)
		fail(path, r);
	ip = fs_op_inode(&S);
	struct px_stat st;
	r = filedev_run1(&S, fs_stat(&S, FS, ip, &st));
	if (r < 0)
		fail(path, r);
	bool eq = st.type == PX_S_REG && st.size == len;
	if (eq && len) {
		char *have = malloc(len);
		if (!have)
			fail("out of memory", -PX_ENOMEM);
		r = filedev_run1(&S, fs_read(&S, FS, ip, NULL, (uint64_t)(uintptr_t)have, len, 0));
		if (r < 0)
			fail(path, r);
		eq = (size_t)r == len && memcmp(have, data, len) == 0;
		free(have);
	}
	fs_iput(FS, ip);
	return eq;
}

/* data as /bin/NAME: written whole to /bin/.NAME.new, then renamed. */
static void install(const char *name, const void *data, size_t len)
{
	char tmp[FS_NAME_MAX + 16], dst[FS_NAME_MAX + 16];
	snprintf(tmp, sizeof(tmp), "/bin/.%s.new", name);
	snprintf(dst, sizeof(dst), "/bin/%s", name);
	int64_t r = filedev_run1(&S, fs_open(&S, FS, NULL, tmp,
					     PX_O_WRONLY | PX_O_CREAT | PX_O_TRUNC));
	if (r < 0)
		fail(tmp, r);
	struct fs_inode *ip = fs_op_inode(&S);
	for (size_t off = 0; off < len;) {
		r = filedev_run1(&S, fs_write(&S, FS, ip, NULL, (uint64_t)(uintptr_t)data + off,
					      len - off, off, false));
		if (r <= 0)
			fail(tmp, r ? r : -PX_EIO);
		off += (size_t)r;
	}
	fs_iput(FS, ip);
	r = filedev_run1(&S, fs_rename(&S, FS, NULL, tmp, dst));
	if (r < 0)
		fail(dst, r);
}

static int rd(void *ctx, uint32_t b, void *buf)
{
	int fd = *(int *)ctx;
	return pread(fd, buf, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) == FS_BLOCK_SIZE ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fsupdate IMAGE PROGRAM.elf ...\n");
		return 2;
	}
	image = argv[1];
	struct filedev dev;
	if (filedev_open(&dev, image) != 0) {
		fprintf(stderr, "fsupdate: %s: %s\n", image, strerror(errno));
		return 1;
	}
	/* fsck first, reading only; its lines are shown only on a refusal. */
	char *report = NULL;
	size_t report_len = 0;
	FILE *out = open_memstream(&report, &report_len);
	struct fsck_result res;
	unsigned errors = out ? fsck_check(rd, NULL, &dev.fd, dev.dev.nblocks, out, &res) : 1;
	if (out)
		fclose(out);
	if (errors) {
		fprintf(stderr, "%s", report ? report : "");
		fprintf(stderr, "fsupdate: %s is damaged or of another format version; not touching it "
				"(make fs-reset makes a fresh image, losing what was written)\n", image);
		return 1;
	}
	free(report);

	struct fs_params params = { .nbuf = 256, .ninode = 64 };
	int64_t r = filedev_run1(&S, fs_mount(&S, &dev.dev, &params));
	if (r < 0)
		fail("mount", r);
	FS = fs_op_fs(&S);
	r = filedev_run1(&S, fs_mkdir(&S, FS, NULL, "/bin"));
	if (r < 0 && r != -PX_EEXIST)
		fail("/bin", r);

	char changed[1024] = "", added[1024] = "";
	int nchanged = 0, nadded = 0, nsame = 0;
	for (int i = 2; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		char name[FS_NAME_MAX + 1];
		size_t n = strlen(base);
		if (n > 4 && strcmp(base + n - 4, ".elf") == 0)
			n -= 4;
		if (n == 0 || n > FS_NAME_MAX - 5) {
			fprintf(stderr, "fsupdate: %s: name too long for /bin\n", argv[i]);
			return 1;
		}
		memcpy(name, base, n);
		name[n] = '\0';
		char path[FS_NAME_MAX + 16];
		snprintf(path, sizeof(path), "/bin/%s", name);
		size_t len;
		void *data = slurp(argv[i], &len);
		bool existed = filedev_run1(&S, fs_open(&S, FS, NULL, path, PX_O_RDONLY)) == 0;
		if (existed)
			fs_iput(FS, fs_op_inode(&S));
		if (same(path, data, len)) {
			nsame++;
		} else {
			install(name, data, len);
			char *list = existed ? changed : added;
			size_t at = strlen(list);
			if (at + n + 2 < 1000)
				snprintf(list + at, 1024 - at, " %s", name);
			else if (!strstr(list, " ..."))
				snprintf(list + at, 1024 - at, " ...");
			if (existed)
				nchanged++;
			else
				nadded++;
		}
		free(data);
	}
	r = filedev_run1(&S, fs_unmount(&S, FS));
	if (r < 0)
		fail("unmount", r);
	if (filedev_close(&dev) != 0) {
		fprintf(stderr, "fsupdate: %s: %s\n", image, strerror(errno));
		return 1;
	}
	if (nchanged + nadded == 0)
		printf("fsupdate: %s: /bin is up to date (%d programs)\n", image, nsame);
	else
		printf("fsupdate: %s: /bin updated: %d replaced%s%s, %d added%s%s, %d unchanged\n",
		       image, nchanged, nchanged ? ":" : "", changed, nadded, nadded ? ":" : "",
		       added, nsame);
	return 0;
}

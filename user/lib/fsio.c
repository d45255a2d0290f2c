/* The file system, POSIX-style: open, stat, mkdir, ... over the px_* syscalls, and a directory reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px.h"

/*
 * picolibc's stdio reaches files through these: fopen calls open() with
 * the O_* flags its mode string means, then fdopen, whose stream reads,
 * writes, seeks and closes with read(), write(), lseek() and close().
 * picolibc's O_* values differ from the kernel's PX_O_* (O_EXCL,
 * O_DIRECTORY), so open() translates them by name.
 */

static long posix(long r)
{
	if (px_is_err(r)) {
		errno = px_errno(-r);
		return -1;
	}
	return r;
}

int open(const char *path, int flags, ...)
{
	int px = flags & O_ACCMODE;
	if (flags & O_CREAT)
		px |= PX_O_CREAT;
	if (flags & O_EXCL)
		px |= PX_O_EXCL;
	if (flags & O_TRUNC)
		px |= PX_O_TRUNC;
	if (flags & O_APPEND)
		px |= PX_O_APPEND;
	if (flags & O_DIRECTORY)
		px |= PX_O_DIRECTORY;
	return (int)posix(px_open(path, px));
}

off_t lseek(int fd, off_t off, int whence)
{
	int px = whence == SEEK_SET ? PX_SEEK_SET : whence == SEEK_CUR ? PX_SEEK_CUR
		 : whence == SEEK_END ? PX_SEEK_END : -1;
	return (off_t)posix(px_lseek(fd, (int64_t)off, px));
}

static void to_stat(const struct px_stat *p, struct stat *st)
{
	static const mode_t modes[] = {
		[PX_S_CHR] = S_IFCHR | 0666, [PX_S_FIFO] = S_IFIFO | 0600,
		[PX_S_REG] = S_IFREG | 0644, [PX_S_DIR] = S_IFDIR | 0755,
	};
	*st = (struct stat){ 0 };
	st->st_mode = p->type < sizeof(modes) / sizeof(modes[0]) ? modes[p->type] : 0;
	st->st_ino = (ino_t)p->ino;
	st->st_nlink = (nlink_t)p->nlink;
	st->st_size = (off_t)p->size;
	st->st_blocks = (blkcnt_t)(p->blocks * (PX_PAGE_SIZE / 512));
	st->st_blksize = PX_PAGE_SIZE;
}

int stat(const char *__restrict path, struct stat *__restrict st)
{
	struct px_stat p;
	if (posix(px_stat(path, &p)) < 0)
		return -1;
	to_stat(&p, st);
	return 0;
}

int fstat(int fd, struct stat *st)
{
	struct px_stat p;
	if (posix(px_fstat(fd, &p)) < 0)
		return -1;
	to_stat(&p, st);
	return 0;
}

int mkdir(const char *path, mode_t mode)
{
	(void)mode;
	return (int)posix(px_mkdir(path));
}

int rmdir(const char *path) { return (int)posix(px_rmdir(path)); }
int unlink(const char *path) { return (int)posix(px_unlink(path)); }
int rename(const char *from, const char *to) { return (int)posix(px_rename(from, to)); }
int link(const char *from, const char *to) { return (int)posix(px_link(from, to)); }
int chdir(const char *path) { return (int)posix(px_chdir(path)); }
int dup2(int fd, int newfd) { return (int)posix(px_dup2(fd, newfd)); }
void sync(void) { (void)px_sync(); }

int ftruncate(int fd, off_t size)
{
	if (size < 0) {
		errno = EINVAL;
		return -1;
	}
	return (int)posix(px_ftruncate(fd, (uint64_t)size));
}

char *getcwd(char *buf, size_t n)
{
	char *mine = NULL;
	if (!buf) {
		n = PX_FS_PATH_MAX;
		buf = mine = malloc(n);
		if (!buf)
			return NULL;
	}
	if (posix(px_getcwd(buf, n)) < 0) {
		free(mine);
		return NULL;
	}
	return buf;
}

int getdents(int fd, struct px_dirent *buf, size_t n)
{
	return (int)posix(px_getdents(fd, buf, n));
}

/* ---- px_opendir --------------------------------------------------------------------------*/

#define DIR_BATCH 8

struct px_dir {
	int fd;
	int n, next;                 /* records in buf, the next to hand out */
	struct px_dirent buf[DIR_BATCH];
};

struct px_dir *px_opendir(const char *path)
{
	struct px_dir *d = malloc(sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->fd = open(path, O_RDONLY | O_DIRECTORY);
	if (d->fd < 0) {
		free(d);
		return NULL;
	}
	d->n = d->next = 0;
	return d;
}

const struct px_dirent *px_readdir(struct px_dir *d)
{
	if (d->next == d->n) {
		long r = px_getdents(d->fd, d->buf, sizeof(d->buf));
		if (r <= 0) {
			if (r < 0)
				errno = px_errno(-r);
			return NULL;
		}
		d->n = (int)(r / (long)sizeof(d->buf[0]));
		d->next = 0;
	}
	return &d->buf[d->next++];
}

int px_closedir(struct px_dir *d)
{
	int r = close(d->fd);
	free(d);
	return r;
}

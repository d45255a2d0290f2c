/* fstests: every file-system syscall and ring operation, with each error, on the disk (fs_*) or without one (archive_*). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "px_ring.h"
#include "px_test.h"

/*
 * Not a *_test program (runtests boots without a disk): scripts/fstest.sh
 * boots it as process 1 with a fresh image and the filter "fs_", and
 * without a disk with the filter "archive_" (make fstest, make fstest
 * NODISK=1).  Every fs_ test first checks that the disk is mounted, every
 * archive_ test that it is not, so neither half can pass in the other's
 * setting.  Each fs_ test works in a directory of its own, /NAME.PID.
 */

#define PROC_NFD_GUESS PX_NFD_MAX /* the kernel's fds per process (PROC_NFD) */

static char top[64];

/* The disk is mounted; make /name.pid and go there. */
static void enter(const char *name)
{
	PX_TEST_HELPER;
	struct px_statfs sf;
	PX_ASSERT_EQ(px_statfs(&sf), 0);
	snprintf(top, sizeof(top), "/%s.%ld", name, px_getpid());
	PX_ASSERT_EQ(px_mkdir(top), 0);
	PX_ASSERT_EQ(px_chdir(top), 0);
}

/* Back to / (before the test's directory goes: a directory removed while
 * it is a working directory lives on until the process leaves it). */
static void leave(void)
{
	PX_TEST_HELPER;
	PX_ASSERT_EQ(px_chdir("/"), 0);
}

/* Write a small file at path with contents s; 0 or -PX_E*. */
static long put(const char *path, const char *s)
{
	long fd = px_open(path, PX_O_WRONLY | PX_O_CREAT | PX_O_TRUNC);
	if (fd < 0)
		return fd;
	long n = px_write((int)fd, s, strlen(s));
	px_close((int)fd);
	return n == (long)strlen(s) ? 0 : n < 0 ? n : -PX_EIO;
}

/* The whole file at path into buf (n bytes, NUL-terminated): bytes or -PX_E*. */
static long get(const char *path, char *buf, size_t n)
{
	long fd = px_open(path, PX_O_RDONLY);
	if (fd < 0)
		return fd;
	long got = 0, r;
	while (got + 1 < (long)n && (r = px_read((int)fd, buf + got, n - 1 - (size_t)got)) > 0)
		got += r;
	px_close((int)fd);
	buf[got] = '\0';
	return got;
}

/* ---- open, read, write, lseek ---------------------------------------------------*/

PX_TEST(fs_open_read_write)
{
	char buf[64];
	enter("open");
	long fd = px_open("f", PX_O_RDWR | PX_O_CREAT | PX_O_EXCL);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_write((int)fd, "hello, disk", 11), 11);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_SET), 0);
	PX_ASSERT_EQ(px_read((int)fd, buf, sizeof(buf)), 11);
	PX_ASSERT(memcmp(buf, "hello, disk", 11) == 0);
	PX_ASSERT_EQ(px_read((int)fd, buf, sizeof(buf)), 0); /* the end */
	/* pread/pwrite at an offset leave the position alone */
	PX_ASSERT_EQ(px_pwrite((int)fd, "D", 1, 7), 1);
	PX_ASSERT_EQ(px_pread((int)fd, buf, 4, 7), 4);
	PX_ASSERT(memcmp(buf, "Disk", 4) == 0);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_CUR), 11);
	struct px_stat st;
	PX_ASSERT_EQ(px_fstat((int)fd, &st), 0);
	PX_ASSERT_EQ(st.type, PX_S_REG);
	PX_ASSERT_EQ(st.size, 11);
	PX_ASSERT_EQ(st.nlink, 1);
	PX_ASSERT_EQ(px_fsync((int)fd), 0);
	PX_ASSERT_EQ(px_close((int)fd), 0);

	/* O_EXCL on an existing name; without it the file is opened */
	PX_ASSERT_EQ(px_open("f", PX_O_RDWR | PX_O_CREAT | PX_O_EXCL), -PX_EEXIST);
	/* O_APPEND: every write at the end */
	fd = px_open("f", PX_O_WRONLY | PX_O_APPEND);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_write((int)fd, "!", 1), 1);
	PX_ASSERT_EQ(px_pwrite((int)fd, "?", 1, 0), 1);
	px_close((int)fd);
	PX_ASSERT_EQ(get("f", buf, sizeof(buf)), 13);
	PX_ASSERT_STR_EQ(buf, "hello, Disk!?");
	/* O_TRUNC empties it */
	fd = px_open("f", PX_O_WRONLY | PX_O_TRUNC);
	PX_ASSERT_GE(fd, 0);
	px_close((int)fd);
	PX_ASSERT_EQ(get("f", buf, sizeof(buf)), 0);
	/* the wrong access mode */
	fd = px_open("f", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_write((int)fd, "x", 1), -PX_EBADF);
	px_close((int)fd);
	fd = px_open("f", PX_O_WRONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_read((int)fd, buf, 1), -PX_EBADF);
	px_close((int)fd);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_open_errors)
{
	char name[PX_NAME_MAX + 2];
	static char path[PX_FS_PATH_MAX + 8];
	enter("oerr");
	PX_ASSERT_EQ(px_open("missing", PX_O_RDONLY), -PX_ENOENT);
	PX_ASSERT_EQ(px_open("nodir/f", PX_O_RDWR | PX_O_CREAT), -PX_ENOENT);
	PX_ASSERT_EQ(px_mkdir("d"), 0);
	PX_ASSERT_EQ(put("f", "x"), 0);
	PX_ASSERT_EQ(px_open("d", PX_O_WRONLY), -PX_EISDIR);
	PX_ASSERT_EQ(px_open("d", PX_O_RDWR), -PX_EISDIR);
	PX_ASSERT_EQ(px_open("d", PX_O_RDONLY | PX_O_CREAT), -PX_EISDIR);
	PX_ASSERT_EQ(px_open("f", PX_O_RDONLY | PX_O_DIRECTORY), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_open("f/x", PX_O_RDONLY), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_open("f/x", PX_O_RDWR | PX_O_CREAT), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_open("f", 3), -PX_EINVAL);
	PX_ASSERT_EQ(px_open("f", PX_O_RDONLY | 0x8000000), -PX_EINVAL);
	PX_ASSERT_EQ(px_open((const char *)8, PX_O_RDONLY), -PX_EFAULT);
	/* a name of PX_NAME_MAX bytes is fine, one more is too long */
	memset(name, 'n', PX_NAME_MAX);
	name[PX_NAME_MAX] = '\0';
	long fd = px_open(name, PX_O_RDWR | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	px_close((int)fd);
	PX_ASSERT_EQ(px_unlink(name), 0);
	name[PX_NAME_MAX] = 'n';
	name[PX_NAME_MAX + 1] = '\0';
	PX_ASSERT_EQ(px_open(name, PX_O_RDWR | PX_O_CREAT), -PX_ENAMETOOLONG);
	/* a path of PX_FS_PATH_MAX bytes without its NUL */
	for (size_t i = 0; i < PX_FS_PATH_MAX; i += 2)
		memcpy(path + i, "./", 2);
	path[PX_FS_PATH_MAX] = '\0';
	PX_ASSERT_EQ(px_open(path, PX_O_RDONLY), -PX_ENAMETOOLONG);
	/* ... and 1023 bytes is a path */
	path[PX_FS_PATH_MAX - 2] = 'f';
	path[PX_FS_PATH_MAX - 1] = '\0';
	fd = px_open(path, PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	px_close((int)fd);
	/* a read of a directory */
	fd = px_open("d", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_read((int)fd, name, 1), -PX_EISDIR);
	px_close((int)fd);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	PX_ASSERT_EQ(px_rmdir("d"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* Opens until no fd is free: EMFILE on both doors' open. */
PX_TEST(fs_emfile, .isolate = true)
{
	int fds[PROC_NFD_GUESS];
	int n = 0;
	long fd;
	enter("emfile");
	PX_ASSERT_EQ(put("f", "x"), 0);
	while (n < PROC_NFD_GUESS && (fd = px_open("f", PX_O_RDONLY)) >= 0)
		fds[n++] = (int)fd;
	PX_ASSERT_EQ(fd, -PX_EMFILE);
	PX_ASSERT_GT(n, 0);
	PX_ASSERT_EQ(px_dup(0), -PX_EMFILE);
	for (int i = 0; i < n; i++)
		px_close(fds[i]);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_lseek)
{
	char buf[16];
	enter("seek");
	long fd = px_open("f", PX_O_RDWR | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_write((int)fd, "0123456789", 10), 10);
	PX_ASSERT_EQ(px_lseek((int)fd, 2, PX_SEEK_SET), 2);
	PX_ASSERT_EQ(px_lseek((int)fd, 3, PX_SEEK_CUR), 5);
	PX_ASSERT_EQ(px_read((int)fd, buf, 2), 2);
	PX_ASSERT(memcmp(buf, "56", 2) == 0);
	PX_ASSERT_EQ(px_lseek((int)fd, -1, PX_SEEK_END), 9);
	PX_ASSERT_EQ(px_read((int)fd, buf, 5), 1);
	PX_ASSERT_EQ(buf[0], '9');
	PX_ASSERT_EQ(px_lseek((int)fd, -11, PX_SEEK_END), -PX_EINVAL);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, 3), -PX_EINVAL);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_CUR), 10); /* unchanged by the errors */
	/* past the end, then a write: a hole that reads as zeros */
	PX_ASSERT_EQ(px_lseek((int)fd, 8192, PX_SEEK_SET), 8192);
	PX_ASSERT_EQ(px_write((int)fd, "z", 1), 1);
	PX_ASSERT_EQ(px_pread((int)fd, buf, 4, 4096), 4);
	PX_ASSERT(memcmp(buf, "\0\0\0\0", 4) == 0);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_END), 8193);
	px_close((int)fd);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_SET), -PX_EBADF);
	int p[2];
	PX_ASSERT_EQ(px_pipe(p), 0);
	PX_ASSERT_EQ(px_lseek(p[0], 0, PX_SEEK_SET), -PX_ESPIPE);
	px_close(p[0]);
	px_close(p[1]);
	/* a directory seeks (getdents' slot), but has no end */
	fd = px_open(".", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_END), -PX_EINVAL);
	px_close((int)fd);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* ---- stat, mkdir, rmdir, unlink, rename, link ---------------------------------------------*/

PX_TEST(fs_stat)
{
	struct px_stat a, b;
	enter("stat");
	PX_ASSERT_EQ(put("f", "12345"), 0);
	PX_ASSERT_EQ(px_stat("f", &a), 0);
	PX_ASSERT_EQ(a.type, PX_S_REG);
	PX_ASSERT_EQ(a.size, 5);
	PX_ASSERT_EQ(a.nlink, 1);
	PX_ASSERT_EQ(a.blocks, 1);
	long fd = px_open("f", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_fstat((int)fd, &b), 0);
	px_close((int)fd);
	PX_ASSERT_EQ(a.ino, b.ino);
	PX_ASSERT_EQ(px_stat(".", &a), 0);
	PX_ASSERT_EQ(a.type, PX_S_DIR);
	PX_ASSERT_EQ(a.nlink, 2);
	PX_ASSERT_EQ(px_stat("/", &a), 0);
	PX_ASSERT_EQ(a.type, PX_S_DIR);
	PX_ASSERT_EQ(a.ino, 1);
	PX_ASSERT_EQ(px_stat("missing", &a), -PX_ENOENT);
	PX_ASSERT_EQ(px_stat("f/x", &a), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_stat("f", (struct px_stat *)8), -PX_EFAULT);
	PX_ASSERT_EQ(px_stat("/bin/sh", &a), 0); /* mkfs put every program in /bin */
	PX_ASSERT_GT(a.size, 1000);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_mkdir_rmdir)
{
	struct px_stat st;
	enter("dirs");
	PX_ASSERT_EQ(px_mkdir("a"), 0);
	PX_ASSERT_EQ(px_mkdir("a/b"), 0);
	PX_ASSERT_EQ(px_stat("a", &st), 0);
	PX_ASSERT_EQ(st.nlink, 3); /* its entry, its ".", b's ".." */
	PX_ASSERT_EQ(px_mkdir("a"), -PX_EEXIST);
	PX_ASSERT_EQ(px_mkdir("x/y"), -PX_ENOENT);
	PX_ASSERT_EQ(put("f", "x"), 0);
	PX_ASSERT_EQ(px_mkdir("f/y"), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_rmdir("a"), -PX_ENOTEMPTY);
	PX_ASSERT_EQ(px_rmdir("f"), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_rmdir("missing"), -PX_ENOENT);
	PX_ASSERT_EQ(px_rmdir("a/b/."), -PX_EINVAL);
	PX_ASSERT_EQ(px_rmdir("/"), -PX_EBUSY);
	PX_ASSERT_EQ(px_rmdir("a/b"), 0);
	PX_ASSERT_EQ(px_stat("a", &st), 0);
	PX_ASSERT_EQ(st.nlink, 2);
	PX_ASSERT_EQ(px_rmdir("a"), 0);
	PX_ASSERT_EQ(px_stat("a", &st), -PX_ENOENT);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_unlink)
{
	char buf[16];
	enter("unlink");
	PX_ASSERT_EQ(put("f", "still here"), 0);
	long fd = px_open("f", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	PX_ASSERT_EQ(px_open("f", PX_O_RDONLY), -PX_ENOENT);
	/* open, it lives on until its last close */
	PX_ASSERT_EQ(px_read((int)fd, buf, sizeof(buf)), 10);
	struct px_stat st;
	PX_ASSERT_EQ(px_fstat((int)fd, &st), 0);
	PX_ASSERT_EQ(st.nlink, 0);
	px_close((int)fd);
	PX_ASSERT_EQ(px_unlink("f"), -PX_ENOENT);
	PX_ASSERT_EQ(px_mkdir("d"), 0);
	PX_ASSERT_EQ(px_unlink("d"), -PX_EISDIR);
	PX_ASSERT_EQ(px_unlink("d/x"), -PX_ENOENT);
	PX_ASSERT_EQ(px_rmdir("d"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_rename_link)
{
	char buf[16];
	struct px_stat st;
	enter("rename");
	PX_ASSERT_EQ(put("a", "AAA"), 0);
	PX_ASSERT_EQ(put("b", "BBB"), 0);
	PX_ASSERT_EQ(px_rename("a", "c"), 0);
	PX_ASSERT_EQ(px_stat("a", &st), -PX_ENOENT);
	PX_ASSERT_EQ(get("c", buf, sizeof(buf)), 3);
	PX_ASSERT_STR_EQ(buf, "AAA");
	PX_ASSERT_EQ(px_rename("c", "b"), 0); /* replaces b */
	PX_ASSERT_EQ(get("b", buf, sizeof(buf)), 3);
	PX_ASSERT_STR_EQ(buf, "AAA");
	PX_ASSERT_EQ(px_mkdir("d"), 0);
	PX_ASSERT_EQ(px_mkdir("e"), 0);
	PX_ASSERT_EQ(put("e/x", "x"), 0);
	PX_ASSERT_EQ(px_rename("b", "d/b"), 0); /* across directories */
	PX_ASSERT_EQ(get("d/b", buf, sizeof(buf)), 3);
	PX_ASSERT_EQ(px_rename("d", "d/b/z"), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_mkdir("d/sub"), 0);
	PX_ASSERT_EQ(px_rename("d", "d/sub/d"), -PX_EINVAL);
	PX_ASSERT_EQ(px_rename("d", "e"), -PX_ENOTEMPTY);
	PX_ASSERT_EQ(px_rename("d/b", "e"), -PX_EISDIR);
	PX_ASSERT_EQ(px_rename("e", "d/b"), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_rename("missing", "q"), -PX_ENOENT);
	PX_ASSERT_EQ(px_rename("d/sub", "e/sub"), 0); /* a directory moves, ".." too */
	PX_ASSERT_EQ(px_stat("e", &st), 0);
	PX_ASSERT_EQ(st.nlink, 3);
	PX_ASSERT_EQ(px_stat("d", &st), 0);
	PX_ASSERT_EQ(st.nlink, 2);
	PX_ASSERT_EQ(px_stat("e/sub/..", &st), 0);
	struct px_stat e;
	PX_ASSERT_EQ(px_stat("e", &e), 0);
	PX_ASSERT_EQ(st.ino, e.ino);
	/* link */
	PX_ASSERT_EQ(px_link("d/b", "l"), 0);
	PX_ASSERT_EQ(px_stat("l", &st), 0);
	PX_ASSERT_EQ(st.nlink, 2);
	PX_ASSERT_EQ(px_link("d/b", "l"), -PX_EEXIST);
	PX_ASSERT_EQ(px_link("d", "dl"), -PX_EPERM);
	PX_ASSERT_EQ(px_link("missing", "m"), -PX_ENOENT);
	PX_ASSERT_EQ(px_unlink("d/b"), 0);
	PX_ASSERT_EQ(get("l", buf, sizeof(buf)), 3);
	PX_ASSERT_EQ(px_unlink("l"), 0);
	PX_ASSERT_EQ(px_rmdir("e/sub"), 0);
	PX_ASSERT_EQ(px_unlink("e/x"), 0);
	PX_ASSERT_EQ(px_rmdir("e"), 0);
	PX_ASSERT_EQ(px_rmdir("d"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* ---- getdents, ftruncate, chdir, getcwd, dup2, statfs ---------------------------------------*/

/* Names in directory fd, read with buffers of `per` records: "." ".." a b ... */
static int list(int fd, int per, char *out, size_t n)
{
	struct px_dirent d[4];
	int count = 0;
	long r;
	out[0] = '\0';
	while ((r = px_getdents(fd, d, (size_t)per * sizeof(d[0]))) > 0) {
		for (long i = 0; i < r / (long)sizeof(d[0]); i++, count++) {
			strncat(out, d[i].name, n - strlen(out) - 2);
			strcat(out, " ");
		}
	}
	return r < 0 ? (int)r : count;
}

PX_TEST(fs_getdents)
{
	char names[256];
	enter("dents");
	PX_ASSERT_EQ(put("a", "1"), 0);
	PX_ASSERT_EQ(px_mkdir("b"), 0);
	PX_ASSERT_EQ(put("c", "3"), 0);
	long fd = px_open(".", PX_O_RDONLY | PX_O_DIRECTORY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(list((int)fd, 4, names, sizeof(names)), 5);
	PX_ASSERT_STR_EQ(names, ". .. a b c ");
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_SET), 0);
	PX_ASSERT_EQ(list((int)fd, 1, names, sizeof(names)), 5); /* one record a call */
	PX_ASSERT_STR_EQ(names, ". .. a b c ");
	struct px_dirent d;
	PX_ASSERT_EQ(px_lseek((int)fd, 0, PX_SEEK_SET), 0);
	PX_ASSERT_EQ(px_getdents((int)fd, &d, sizeof(d) - 1), -PX_EINVAL);
	PX_ASSERT_EQ(px_getdents((int)fd, (struct px_dirent *)8, sizeof(d)), -PX_EFAULT);
	PX_ASSERT_EQ(px_lseek((int)fd, 3, PX_SEEK_SET), 3);
	PX_ASSERT_EQ(px_getdents((int)fd, &d, sizeof(d)), sizeof(d));
	PX_ASSERT_STR_EQ(d.name, "b");
	PX_ASSERT_EQ(d.type, PX_S_DIR);
	px_close((int)fd);
	fd = px_open("a", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_getdents((int)fd, &d, sizeof(d)), -PX_ENOTDIR);
	/* not a directory comes first, as for a pipe or the console */
	PX_ASSERT_EQ(px_getdents((int)fd, &d, sizeof(d) - 1), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_getdents((int)fd, &d, 0), -PX_ENOTDIR);
	px_close((int)fd);
	PX_ASSERT_EQ(px_getdents(0, &d, sizeof(d)), -PX_ENOTDIR); /* the console */
	PX_ASSERT_EQ(px_getdents(0, &d, 0), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_getdents(99, &d, sizeof(d)), -PX_EBADF);
	/* the library's reader */
	struct px_dir *dir = px_opendir(".");
	PX_ASSERT(dir != NULL);
	int n = 0;
	const struct px_dirent *e;
	while ((e = px_readdir(dir)) != NULL)
		n++;
	PX_ASSERT_EQ(n, 5);
	PX_ASSERT_EQ(px_closedir(dir), 0);
	PX_ASSERT_EQ(px_unlink("a"), 0);
	PX_ASSERT_EQ(px_rmdir("b"), 0);
	PX_ASSERT_EQ(px_unlink("c"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_ftruncate)
{
	char buf[16];
	struct px_stat st;
	enter("trunc");
	long fd = px_open("f", PX_O_RDWR | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_write((int)fd, "0123456789", 10), 10);
	PX_ASSERT_EQ(px_ftruncate((int)fd, 4), 0);
	PX_ASSERT_EQ(px_fstat((int)fd, &st), 0);
	PX_ASSERT_EQ(st.size, 4);
	PX_ASSERT_EQ(px_ftruncate((int)fd, 6), 0);
	PX_ASSERT_EQ(px_pread((int)fd, buf, 10, 0), 6);
	PX_ASSERT(memcmp(buf, "0123\0\0", 6) == 0);
	PX_ASSERT_EQ(px_ftruncate((int)fd, 1ull << 40), -PX_EFBIG);
	px_close((int)fd);
	fd = px_open("f", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_ftruncate((int)fd, 0), -PX_EBADF);
	px_close((int)fd);
	fd = px_open(".", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_ftruncate((int)fd, 0), -PX_EISDIR);
	px_close((int)fd);
	PX_ASSERT_EQ(px_ftruncate(1, 0), -PX_EINVAL); /* the console */
	PX_ASSERT_EQ(px_ftruncate(99, 0), -PX_EBADF);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_chdir_getcwd)
{
	char cwd[PX_FS_PATH_MAX], want[96];
	enter("cwd");
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(top));
	PX_ASSERT_STR_EQ(cwd, top);
	PX_ASSERT_EQ(px_mkdir("a"), 0);
	PX_ASSERT_EQ(px_mkdir("a/b"), 0);
	PX_ASSERT_EQ(px_chdir("a/./b/"), 0);
	snprintf(want, sizeof(want), "%s/a/b", top);
	PX_ASSERT_GE(px_getcwd(cwd, sizeof(cwd)), 0);
	PX_ASSERT_STR_EQ(cwd, want);
	PX_ASSERT_EQ(put("f", "rel"), 0); /* relative to the new directory */
	PX_ASSERT_EQ(px_chdir("../.."), 0);
	PX_ASSERT_GE(px_getcwd(cwd, sizeof(cwd)), 0);
	PX_ASSERT_STR_EQ(cwd, top);
	PX_ASSERT_EQ(get("a/b/f", cwd, sizeof(cwd)), 3);
	PX_ASSERT_EQ(px_chdir("missing"), -PX_ENOENT);
	PX_ASSERT_EQ(px_chdir("a/b/f"), -PX_ENOTDIR);
	PX_ASSERT_GE(px_getcwd(cwd, sizeof(cwd)), 0);
	PX_ASSERT_STR_EQ(cwd, top); /* unchanged by the failures */
	PX_ASSERT_EQ(px_getcwd(cwd, 3), -PX_ERANGE);
	PX_ASSERT_EQ(px_getcwd((char *)8, 64), -PX_EFAULT);
	/* the POSIX-style wrapper */
	char *mine = getcwd(NULL, 0);
	PX_ASSERT(mine != NULL);
	PX_ASSERT_STR_EQ(mine, top);
	free(mine);
	PX_ASSERT_EQ(px_chdir("/.."), 0);
	PX_ASSERT_GE(px_getcwd(cwd, sizeof(cwd)), 0);
	PX_ASSERT_STR_EQ(cwd, "/");
	PX_ASSERT_EQ(px_chdir(top), 0);
	PX_ASSERT_EQ(px_unlink("a/b/f"), 0);
	PX_ASSERT_EQ(px_rmdir("a/b"), 0);
	PX_ASSERT_EQ(px_rmdir("a"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* getcwd climbs from the working directory's inode: a rename of a
 * directory above it, by this process, shows at once. */
PX_TEST(fs_getcwd_after_rename)
{
	static char cwd[PX_FS_PATH_MAX], want[PX_FS_PATH_MAX], from[96], to[96];
	enter("cwdmv");
	PX_ASSERT_EQ(px_mkdir("a"), 0);
	PX_ASSERT_EQ(px_mkdir("a/b"), 0);
	PX_ASSERT_EQ(px_chdir("a/b"), 0);
	PX_ASSERT_EQ(px_rename("../../a", "../../renamed"), 0);
	snprintf(want, sizeof(want), "%s/renamed/b", top);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(want));
	PX_ASSERT_STR_EQ(cwd, want);
	/* the top directory itself, by absolute paths */
	snprintf(from, sizeof(from), "%s", top);
	snprintf(to, sizeof(to), "%s.moved", top);
	PX_ASSERT_EQ(px_rename(from, to), 0);
	snprintf(want, sizeof(want), "%s/renamed/b", to);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(want));
	PX_ASSERT_STR_EQ(cwd, want);
	/* moved under another directory */
	PX_ASSERT_EQ(px_rename(to, from), 0);
	PX_ASSERT_EQ(px_chdir(top), 0);
	PX_ASSERT_EQ(px_mkdir("x"), 0);
	PX_ASSERT_EQ(px_chdir("renamed/b"), 0);
	PX_ASSERT_EQ(px_rename("../../renamed", "../../x/in"), 0);
	snprintf(want, sizeof(want), "%s/x/in/b", top);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(want));
	PX_ASSERT_STR_EQ(cwd, want);
	/* the POSIX-style wrapper agrees */
	PX_ASSERT(getcwd(cwd, sizeof(cwd)) == cwd);
	PX_ASSERT_STR_EQ(cwd, want);
	PX_ASSERT_EQ(px_chdir(top), 0);
	PX_ASSERT_EQ(px_rmdir("x/in/b"), 0);
	PX_ASSERT_EQ(px_rmdir("x/in"), 0);
	PX_ASSERT_EQ(px_rmdir("x"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* What fs_getcwd_other_process starts (fstests -n helper_renamer) in a
 * directory two below the one to rename: renames it from "p" to "q" and
 * writes its own getcwd to "../../child.cwd".  Anywhere without
 * "renamer.go" it does nothing. */
PX_TEST(helper_renamer)
{
	static char cwd[PX_FS_PATH_MAX];
	struct px_stat st;
	if (px_stat("renamer.go", &st) != 0)
		return;
	PX_ASSERT_EQ(px_unlink("renamer.go"), 0);
	PX_ASSERT_EQ(px_rename("../../p", "../../q"), 0);
	PX_ASSERT_GE(px_getcwd(cwd, sizeof(cwd)), 0);
	PX_ASSERT_EQ(put("../../child.cwd", cwd), 0);
}

/* A rename by another process (which inherited our working directory)
 * shows in our getcwd, and in its own. */
PX_TEST(fs_getcwd_other_process)
{
	static char cwd[PX_FS_PATH_MAX], want[PX_FS_PATH_MAX];
	enter("cwdother");
	PX_ASSERT_EQ(px_mkdir("p"), 0);
	PX_ASSERT_EQ(px_mkdir("p/in"), 0);
	PX_ASSERT_EQ(px_chdir("p/in"), 0);
	PX_ASSERT_EQ(put("renamer.go", ""), 0);
	const char *const argv[] = { "fstests", "-n", "helper_renamer", NULL };
	long pid = px_spawn("fstests", argv);
	PX_ASSERT_GT(pid, 0);
	int status;
	PX_ASSERT_EQ(px_wait((int)pid, &status), pid);
	PX_ASSERT_EQ(status, 0);
	snprintf(want, sizeof(want), "%s/q/in", top);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(want));
	PX_ASSERT_STR_EQ(cwd, want);
	PX_ASSERT_EQ(px_chdir(top), 0);
	PX_ASSERT_EQ(get("child.cwd", cwd, sizeof(cwd)), (long)strlen(want));
	PX_ASSERT_STR_EQ(cwd, want);
	PX_ASSERT_EQ(px_unlink("child.cwd"), 0);
	PX_ASSERT_EQ(px_rmdir("q/in"), 0);
	PX_ASSERT_EQ(px_rmdir("q"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* A removed working directory has no path: ENOENT (until the process
 * leaves it). */
PX_TEST(fs_getcwd_removed)
{
	static char cwd[PX_FS_PATH_MAX];
	enter("cwdrm");
	PX_ASSERT_EQ(px_mkdir("gone"), 0);
	PX_ASSERT_EQ(px_chdir("gone"), 0);
	PX_ASSERT_EQ(px_rmdir("../gone"), 0);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), -PX_ENOENT);
	errno = 0;
	PX_ASSERT(getcwd(cwd, sizeof(cwd)) == NULL);
	PX_ASSERT_EQ(errno, ENOENT);
	PX_ASSERT_EQ(px_open("new", PX_O_WRONLY | PX_O_CREAT), -PX_ENOENT);
	PX_ASSERT_EQ(px_chdir(top), 0);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(top));
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* A path of PX_FS_PATH_MAX - 1 bytes, made one relative chdir at a time:
 * getcwd gives it whole into PX_FS_PATH_MAX bytes and ERANGE into one
 * less; a rename above that shortens it shows (with the short buffer
 * checked at the new length), one that lengthens it past the limit makes
 * getcwd ENAMETOOLONG. */
#define DEEP_NAME 100
PX_TEST(fs_getcwd_deep, .time_limit_ms = 60000)
{
	static char cwd[PX_FS_PATH_MAX], want[PX_FS_PATH_MAX], name[DEEP_NAME + 1];
	static char from[192], to[192];
	enter("cwddeep");
	size_t len = strlen(top);
	int depth = 0;
	while (len < PX_FS_PATH_MAX - 1) {
		size_t room = PX_FS_PATH_MAX - 1 - len - 1; /* after the '/' */
		size_t n = room > DEEP_NAME ? DEEP_NAME : room;
		if (room > DEEP_NAME && room - DEEP_NAME < 2)
			n = DEEP_NAME - 2; /* leave room for a name of two or more */
		memset(name, 'a' + depth % 26, n);
		name[n] = '\0';
		PX_ASSERT_EQ(px_mkdir(name), 0);
		PX_ASSERT_EQ(px_chdir(name), 0);
		len += 1 + n;
		depth++;
	}
	PX_ASSERT_EQ(len, PX_FS_PATH_MAX - 1);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), PX_FS_PATH_MAX - 1);
	PX_ASSERT_EQ(strncmp(cwd, top, strlen(top)), 0);
	PX_ASSERT_EQ(cwd[strlen(top)], '/');
	PX_ASSERT_EQ(px_getcwd(cwd, PX_FS_PATH_MAX - 1), -PX_ERANGE);
	/* shorter: the first level becomes "s" */
	memset(name, 'a', DEEP_NAME);
	name[DEEP_NAME] = '\0';
	snprintf(from, sizeof(from), "%s/%s", top, name);
	snprintf(to, sizeof(to), "%s/s", top);
	PX_ASSERT_EQ(px_rename(from, to), 0);
	long short_len = PX_FS_PATH_MAX - 1 - (DEEP_NAME - 1);
	PX_ASSERT_EQ(px_getcwd(want, sizeof(want)), short_len);
	PX_ASSERT_EQ(strncmp(want, to, strlen(to)), 0);
	PX_ASSERT_EQ(want[strlen(to)], '/');
	PX_ASSERT_EQ(px_getcwd(cwd, (size_t)short_len), -PX_ERANGE);
	PX_ASSERT_EQ(px_getcwd(cwd, (size_t)short_len + 1), short_len);
	PX_ASSERT_STR_EQ(cwd, want);
	PX_ASSERT_EQ(px_rename(to, from), 0);
	/* longer than a path may be: the top directory gains a byte */
	snprintf(to, sizeof(to), "%sx", top);
	PX_ASSERT_EQ(px_rename(top, to), 0);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), -PX_ENAMETOOLONG);
	PX_ASSERT_EQ(px_rename(to, top), 0);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), PX_FS_PATH_MAX - 1);
	/* back up, removing each level */
	for (int d = depth - 1; d >= 0; d--) {
		PX_ASSERT_GE(px_getcwd(cwd, sizeof(cwd)), 0);
		const char *last = strrchr(cwd, '/') + 1;
		snprintf(want, sizeof(want), "../%s", last);
		PX_ASSERT_EQ(px_chdir(".."), 0);
		PX_ASSERT_EQ(px_rmdir(want + 3), 0);
	}
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), (long)strlen(top));
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_dup2)
{
	char buf[16];
	enter("dup2");
	long fd = px_open("f", PX_O_RDWR | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_dup2((int)fd, 12), 12);
	PX_ASSERT_EQ(px_write(12, "ab", 2), 2);
	PX_ASSERT_EQ(px_write((int)fd, "cd", 2), 2); /* one file position */
	PX_ASSERT_EQ(px_dup2((int)fd, (int)fd), fd);
	/* dup2 onto an open fd closes what it named */
	long other = px_open("g", PX_O_RDWR | PX_O_CREAT);
	PX_ASSERT_GE(other, 0);
	PX_ASSERT_EQ(px_dup2((int)other, 12), 12);
	PX_ASSERT_EQ(px_write(12, "G", 1), 1);
	PX_ASSERT_EQ(px_close(12), 0);
	PX_ASSERT_EQ(px_dup2(99, 12), -PX_EBADF);
	PX_ASSERT_EQ(px_dup2((int)fd, PX_NFD_MAX), -PX_EBADF);
	/* The table grows: the last fd, far past the first 16 slots, works
	 * like any other and closes. */
	PX_ASSERT_EQ(px_dup2((int)fd, PX_NFD_MAX - 1), PX_NFD_MAX - 1);
	PX_ASSERT_EQ(px_lseek(PX_NFD_MAX - 1, 0, PX_SEEK_CUR), 4);
	PX_ASSERT_EQ(px_close(PX_NFD_MAX - 1), 0);
	PX_ASSERT_EQ(px_close(PX_NFD_MAX - 1), -PX_EBADF);
	PX_ASSERT_EQ(px_dup2((int)fd, -1), -PX_EBADF);
	px_close((int)fd);
	px_close((int)other);
	PX_ASSERT_EQ(get("f", buf, sizeof(buf)), 4);
	PX_ASSERT_STR_EQ(buf, "abcd");
	PX_ASSERT_EQ(get("g", buf, sizeof(buf)), 1);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	PX_ASSERT_EQ(px_unlink("g"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_statfs_sync)
{
	static char block[4096];
	struct px_statfs a, b;
	enter("statfs");
	/* Inodes an earlier test unlinked may still be being freed by a
	 * kernel task ("fs-reclaim"): wait until the counts stand still. */
	PX_ASSERT_EQ(px_statfs(&a), 0);
	for (int i = 0; i < 50; i++) {
		px_sleep(10);
		PX_ASSERT_EQ(px_statfs(&b), 0);
		if (b.inodes_free == a.inodes_free && b.blocks_free == a.blocks_free)
			break;
		a = b;
	}
	PX_ASSERT_EQ(a.block_size, 4096);
	PX_ASSERT_GT(a.blocks_free, 16);
	PX_ASSERT_GT(a.inodes_free, 1);
	long fd = px_open("f", PX_O_WRONLY | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	for (int i = 0; i < 8; i++) /* direct blocks: no indirect one */
		PX_ASSERT_EQ(px_write((int)fd, block, sizeof(block)), sizeof(block));
	px_close((int)fd);
	PX_ASSERT_EQ(px_sync(), 0);
	PX_ASSERT_EQ(px_statfs(&b), 0);
	PX_ASSERT_EQ(b.blocks, a.blocks);
	PX_ASSERT_EQ(b.inodes_free, a.inodes_free - 1);
	PX_ASSERT_EQ(b.blocks_free, a.blocks_free - 8);
	PX_ASSERT_EQ(px_statfs((struct px_statfs *)8), -PX_EFAULT);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	PX_ASSERT_EQ(px_statfs(&b), 0);
	PX_ASSERT_EQ(b.blocks_free, a.blocks_free);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* ---- picolibc's stdio on files ----------------------------------------------------------*/

PX_TEST(fs_stdio)
{
	char line[64];
	enter("stdio");
	FILE *f = fopen("notes.txt", "w");
	PX_ASSERT(f != NULL);
	PX_ASSERT_GT(fprintf(f, "line %d\n", 1), 0);
	PX_ASSERT_GT(fprintf(f, "line %s\n", "two"), 0);
	PX_ASSERT_EQ(fclose(f), 0);
	f = fopen("notes.txt", "a");
	PX_ASSERT(f != NULL);
	fputs("three\n", f);
	PX_ASSERT_EQ(fclose(f), 0);
	f = fopen("notes.txt", "r");
	PX_ASSERT(f != NULL);
	PX_ASSERT(fgets(line, sizeof(line), f) != NULL);
	PX_ASSERT_STR_EQ(line, "line 1\n");
	PX_ASSERT(fgets(line, sizeof(line), f) != NULL);
	PX_ASSERT_STR_EQ(line, "line two\n");
	PX_ASSERT(fgets(line, sizeof(line), f) != NULL);
	PX_ASSERT_STR_EQ(line, "three\n");
	PX_ASSERT(fgets(line, sizeof(line), f) == NULL);
	PX_ASSERT_EQ(fseek(f, 5, SEEK_SET), 0);
	PX_ASSERT_EQ(fgetc(f), '1');
	PX_ASSERT_EQ(fclose(f), 0);
	PX_ASSERT(fopen("missing", "r") == NULL);
	PX_ASSERT_EQ(errno, ENOENT);
	PX_ASSERT_EQ(mkdir("d", 0755), 0);
	PX_ASSERT_EQ(mkdir("d", 0755), -1);
	PX_ASSERT_EQ(errno, EEXIST);
	PX_ASSERT_EQ(rmdir("notes.txt"), -1);
	PX_ASSERT_EQ(errno, ENOTDIR);
	struct stat st;
	PX_ASSERT_EQ(stat("notes.txt", &st), 0);
	PX_ASSERT(S_ISREG(st.st_mode));
	PX_ASSERT_EQ(st.st_size, 22);
	PX_ASSERT_EQ(stat("d", &st), 0);
	PX_ASSERT(S_ISDIR(st.st_mode));
	int fd = open("d", O_WRONLY);
	PX_ASSERT_EQ(fd, -1);
	PX_ASSERT_EQ(errno, EISDIR);
	fd = open("x", O_RDWR | O_CREAT | O_EXCL, 0644);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(open("x", O_RDWR | O_CREAT | O_EXCL, 0644), -1);
	PX_ASSERT_EQ(errno, EEXIST);
	PX_ASSERT_EQ(lseek(fd, 0, SEEK_END), 0);
	PX_ASSERT_EQ(ftruncate(fd, 10), 0);
	PX_ASSERT_EQ(fstat(fd, &st), 0);
	PX_ASSERT_EQ(st.st_size, 10);
	close(fd);
	PX_ASSERT_EQ(rmdir("d"), 0);
	PX_ASSERT_EQ(rmdir("d"), -1);
	PX_ASSERT_EQ(errno, ENOENT);
	PX_ASSERT_EQ(unlink("x"), 0);
	PX_ASSERT_EQ(rename("notes.txt", "n"), 0);
	PX_ASSERT_EQ(unlink("n"), 0);
	PX_ASSERT_EQ(rmdir(top), 0);
	leave();
}

/* ---- spawn by path -------------------------------------------------------------------*/

/* Run argv with stdout on a pipe; its output in out. */
static int run(const char *path, const char *const argv[], char *out, size_t n)
{
	int p[2], saved = (int)px_dup(1);
	if (saved < 0 || px_pipe(p) != 0)
		return -1;
	px_dup2(p[1], 1);
	long pid = px_spawn(path, argv);
	px_dup2(saved, 1);
	px_close(saved);
	px_close(p[1]);
	if (pid < 0) {
		px_close(p[0]);
		return (int)pid;
	}
	long got = px_read_all(p[0], out, n);
	px_close(p[0]);
	int status;
	if (px_wait((int)pid, &status) != pid || got < 0)
		return -1;
	return status;
}

PX_TEST(fs_spawn_by_path)
{
	char out[64];
	static char image[64 * 1024];
	const char *const argv[] = { "echo", "from", "the", "disk", NULL };
	enter("spawn");
	PX_ASSERT_EQ(run("/bin/echo", argv, out, sizeof(out)), 0);
	PX_ASSERT_STR_EQ(out, "from the disk\n");
	PX_ASSERT_EQ(run("echo", argv, out, sizeof(out)), 0); /* a bare name: /bin/echo */
	PX_ASSERT_STR_EQ(out, "from the disk\n");
	/* a copy of the program, run from here: it really comes from the disk */
	long n = get("/bin/echo", image, sizeof(image));
	PX_ASSERT_GT(n, 1000);
	long fd = px_open("myecho", PX_O_WRONLY | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_write((int)fd, image, (size_t)n), n);
	px_close((int)fd);
	PX_ASSERT_EQ(run("./myecho", argv, out, sizeof(out)), 0);
	PX_ASSERT_STR_EQ(out, "from the disk\n");
	PX_ASSERT_EQ(run("myecho", argv, out, sizeof(out)), -PX_ENOENT); /* not in /bin */
	PX_ASSERT_EQ(px_chdir("/bin"), 0);
	PX_ASSERT_EQ(run("./echo", argv, out, sizeof(out)), 0);
	PX_ASSERT_EQ(px_chdir(top), 0);
	/* a damaged copy is not a program; nor is a directory or nothing */
	fd = px_open("myecho", PX_O_WRONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(px_pwrite((int)fd, "\177ELG", 4, 0), 4);
	px_close((int)fd);
	PX_ASSERT_EQ(run("./myecho", argv, out, sizeof(out)), -PX_ENOEXEC);
	PX_ASSERT_EQ(px_mkdir("dir"), 0);
	PX_ASSERT_EQ(run("./dir", argv, out, sizeof(out)), -PX_ENOEXEC);
	PX_ASSERT_EQ(run("./missing", argv, out, sizeof(out)), -PX_ENOENT);
	PX_ASSERT_EQ(run("nosuchprogram", argv, out, sizeof(out)), -PX_ENOENT);
	PX_ASSERT_EQ(px_unlink("myecho"), 0);
	PX_ASSERT_EQ(px_rmdir("dir"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* fs_kill_while_writing's file: bigger than the buffer cache (2 MiB), so
 * an overwrite meets blocks that must be read first, while it holds room
 * in the log (busy). */
#define KILL_FILE (3u << 20)
#define KILL_PIECE (128u * 1024)

/* The writer fs_kill_while_writing starts (fstests -n helper_writer, in
 * its directory): overwrites "out" piece by piece, off the block
 * boundaries, until it is killed.  Anywhere without "writer.go" it does
 * nothing. */
PX_TEST(helper_writer)
{
	static char buf[KILL_PIECE];
	struct px_stat st;
	if (px_stat("writer.go", &st) != 0)
		return;
	memset(buf, 'w', sizeof(buf));
	long fd = px_open("out", PX_O_WRONLY);
	PX_ASSERT_GE(fd, 0);
	for (uint64_t i = 0;; i++)
		PX_ASSERT_EQ(px_pwrite((int)fd, buf, sizeof(buf),
				       (i % (KILL_FILE / KILL_PIECE)) * KILL_PIECE + 100),
			     sizeof(buf));
}

/* A program killed in the middle of its writes: a write that holds room
 * in the log is finished (to the end of the chunk it is in) before the
 * process goes, the file system stays whole (fsck after the run) and
 * keeps working.  The child also shows that a working directory is
 * inherited: it opens "out" relative to ours. */
PX_TEST(fs_kill_while_writing, .time_limit_ms = 120000)
{
	static char buf[KILL_PIECE];
	enter("kill");
	memset(buf, 'p', sizeof(buf));
	long fd = px_open("out", PX_O_WRONLY | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	for (unsigned i = 0; i < KILL_FILE / KILL_PIECE; i++)
		PX_ASSERT_EQ(px_write((int)fd, buf, sizeof(buf)), sizeof(buf));
	px_close((int)fd);
	PX_ASSERT_EQ(put("writer.go", ""), 0);
	for (int round = 0; round < 10; round++) {
		const char *const argv[] = { "fstests", "-n", "helper_writer", NULL };
		long pid = px_spawn("fstests", argv);
		PX_ASSERT_GT(pid, 0);
		px_sleep(20 + (uint64_t)round * 9);
		PX_ASSERT_EQ(px_kill((int)pid), 0);
		int status;
		PX_ASSERT_EQ(px_wait((int)pid, &status), pid);
		PX_ASSERT_EQ(status, PX_KILLED | PX_KILL_SIGNAL);
		struct px_stat st;
		PX_ASSERT_EQ(px_stat("out", &st), 0);
		PX_ASSERT(st.size == KILL_FILE || st.size == KILL_FILE + 100);
	}
	PX_ASSERT_EQ(put("after", "fine"), 0);
	PX_ASSERT_EQ(get("after", (char *)buf, 16), 4);
	PX_ASSERT_EQ(px_unlink("after"), 0);
	PX_ASSERT_EQ(px_unlink("out"), 0);
	PX_ASSERT_EQ(px_unlink("writer.go"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* ---- the ring door ---------------------------------------------------------------------*/

static struct px_ring own;
static struct px_ring *R;

/* The process's ring: its own, or the reactor's when the harness made
 * one (nothing else is in flight in a plain test). */
static int ring_ready(void)
{
	long e = px_ring_init(&own, 16);
	R = e == 0 ? &own : e == -PX_EBUSY ? px_reactor_ring() : NULL;
	return R != NULL && R->sq_entries >= 16;
}

/* One op through the ring; its result. */
static long long rdo(unsigned op, int fd, uint64_t off, const void *addr, uint32_t len)
{
	static uint64_t ud = 1000;
	struct px_sqe *s = px_ring_get_sqe(R);
	px_sqe_prep(s, op, fd, off, (uint64_t)(uintptr_t)addr, len, ++ud);
	if (px_ring_submit(R, 1, PX_RING_FOREVER) != 1)
		return -99999;
	struct px_cqe *c = px_ring_peek_cqe(R);
	if (!c || c->user_data != ud)
		return -99998;
	long long res = c->res;
	px_ring_cq_advance(R, 1);
	return res;
}

static uint64_t va(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

PX_TEST(fs_ring_ops, .isolate = true)
{
	char buf[64];
	struct px_stat st;
	struct px_dirent d[8];
	enter("ring");
	PX_ASSERT(ring_ready());
	long long fd = rdo(PX_OP_OPENAT, 0, 0, "f", PX_O_RDWR | PX_O_CREAT | PX_O_EXCL);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(rdo(PX_OP_WRITE, (int)fd, 0, "ring door", 9), 9);
	PX_ASSERT_EQ(rdo(PX_OP_WRITE, (int)fd, 5, "D", 1), 1);
	PX_ASSERT_EQ(rdo(PX_OP_READ, (int)fd, 0, buf, sizeof(buf)), 9);
	PX_ASSERT(memcmp(buf, "ring Door", 9) == 0);
	PX_ASSERT_EQ(rdo(PX_OP_WRITE, (int)fd, PX_OFF_CUR, "+", 1), 1); /* at the position: 0 */
	PX_ASSERT_EQ(rdo(PX_OP_READ, (int)fd, PX_OFF_CUR, buf, 3), 3);
	PX_ASSERT(memcmp(buf, "ing", 3) == 0);
	PX_ASSERT_EQ(rdo(PX_OP_FSTAT, (int)fd, 0, &st, 0), 0);
	PX_ASSERT_EQ(st.size, 9);
	PX_ASSERT_EQ(rdo(PX_OP_FSYNC, (int)fd, 0, NULL, 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_FTRUNCATE, (int)fd, 4, NULL, 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_STAT, 0, va(&st), "f", 0), 0);
	PX_ASSERT_EQ(st.size, 4);
	PX_ASSERT_EQ(rdo(PX_OP_CLOSE, (int)fd, 0, NULL, 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_CLOSE, (int)fd, 0, NULL, 0), -PX_EBADF);
	PX_ASSERT_EQ(rdo(PX_OP_MKDIR, 0, 0, "d", 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_RENAME, 0, va("d/g"), "f", 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_LINK, 0, va("h"), "d/g", 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_STAT, 0, va(&st), "h", 0), 0);
	PX_ASSERT_EQ(st.nlink, 2);
	fd = rdo(PX_OP_OPENAT, 0, 0, "d", PX_O_RDONLY | PX_O_DIRECTORY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(rdo(PX_OP_GETDENTS, (int)fd, PX_OFF_CUR, d, sizeof(d)), 3 * sizeof(d[0]));
	PX_ASSERT_STR_EQ(d[2].name, "g");
	PX_ASSERT_EQ(rdo(PX_OP_GETDENTS, (int)fd, PX_OFF_CUR, d, sizeof(d)), 0);
	PX_ASSERT_EQ(rdo(PX_OP_GETDENTS, (int)fd, 1, d, sizeof(d)), 2 * sizeof(d[0]));
	PX_ASSERT_STR_EQ(d[0].name, "..");
	PX_ASSERT_EQ(rdo(PX_OP_GETDENTS, (int)fd, 0, d, 10), -PX_EINVAL);
	PX_ASSERT_EQ(rdo(PX_OP_FTRUNCATE, (int)fd, 0, NULL, 0), -PX_EISDIR);
	PX_ASSERT_EQ(rdo(PX_OP_CLOSE, (int)fd, 0, NULL, 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_UNLINK, 0, 0, "h", 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_UNLINK, 0, 0, "d/g", 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_RMDIR, 0, 0, "d", 0), 0);
	PX_ASSERT_EQ(rdo(PX_OP_STAT, 0, va(&st), "d", 0), -PX_ENOENT);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* Answers that read as the kernel's "started" (1): fd 1 from an open,
 * one byte from a read, by the syscall and the ring, a cached file's
 * answered at once. */
PX_TEST(fs_results_of_one, .isolate = true)
{
	char c[2] = { 0, 0 };
	enter("one");
	PX_ASSERT(ring_ready());
	PX_ASSERT_EQ(put("f", "xy"), 0);
	long saved = px_dup(1);
	PX_ASSERT_GE(saved, 0);
	px_close(1);
	long fd = px_open("f", PX_O_RDONLY);
	long r1 = px_read(1, &c[0], 1);
	px_close(1);
	long long fd2 = rdo(PX_OP_OPENAT, 0, 0, "f", PX_O_RDONLY);
	long long r2 = rdo(PX_OP_READ, 1, 1, &c[1], 1);
	px_close(1);
	px_dup2((int)saved, 1);
	px_close((int)saved);
	PX_ASSERT_EQ(fd, 1);
	PX_ASSERT_EQ(r1, 1);
	PX_ASSERT_EQ(fd2, 1);
	PX_ASSERT_EQ(r2, 1);
	PX_ASSERT(c[0] == 'x' && c[1] == 'y');
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

PX_TEST(fs_ring_errors, .isolate = true)
{
	char name[PX_NAME_MAX + 2];
	struct px_stat st;
	struct px_dirent d;
	enter("rerr");
	PX_ASSERT(ring_ready());
	PX_ASSERT_EQ(put("f", "x"), 0);
	PX_ASSERT_EQ(px_mkdir("d"), 0);
	PX_ASSERT_EQ(put("d/x", "x"), 0);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "missing", PX_O_RDONLY), -PX_ENOENT);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "f", PX_O_RDWR | PX_O_CREAT | PX_O_EXCL), -PX_EEXIST);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "d", PX_O_WRONLY), -PX_EISDIR);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "f/x", PX_O_RDONLY), -PX_ENOTDIR);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "f", 3), -PX_EINVAL);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, (const char *)8, PX_O_RDONLY), -PX_EFAULT);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, name, PX_O_RDWR | PX_O_CREAT), -PX_ENAMETOOLONG);
	PX_ASSERT_EQ(rdo(PX_OP_MKDIR, 0, 0, "d", 0), -PX_EEXIST);
	PX_ASSERT_EQ(rdo(PX_OP_RMDIR, 0, 0, "d", 0), -PX_ENOTEMPTY);
	PX_ASSERT_EQ(rdo(PX_OP_RMDIR, 0, 0, "f", 0), -PX_ENOTDIR);
	PX_ASSERT_EQ(rdo(PX_OP_UNLINK, 0, 0, "d", 0), -PX_EISDIR);
	PX_ASSERT_EQ(rdo(PX_OP_UNLINK, 0, 0, "missing", 0), -PX_ENOENT);
	PX_ASSERT_EQ(rdo(PX_OP_RENAME, 0, va("d/sub"), "d", 0), -PX_EINVAL);
	PX_ASSERT_EQ(rdo(PX_OP_RENAME, 0, (uint64_t)8, "f", 0), -PX_EFAULT);
	PX_ASSERT_EQ(rdo(PX_OP_LINK, 0, va("dl"), "d", 0), -PX_EPERM);
	PX_ASSERT_EQ(rdo(PX_OP_STAT, 0, 8, "f", 0), -PX_EFAULT);
	PX_ASSERT_EQ(rdo(PX_OP_STAT, 0, va(&st), "missing", 0), -PX_ENOENT);
	PX_ASSERT_EQ(rdo(PX_OP_FSTAT, 99, 0, &st, 0), -PX_EBADF);
	PX_ASSERT_EQ(rdo(PX_OP_FSYNC, 99, 0, NULL, 0), -PX_EBADF);
	PX_ASSERT_EQ(rdo(PX_OP_FSYNC, 1, 0, NULL, 0), -PX_EINVAL); /* the console */
	PX_ASSERT_EQ(rdo(PX_OP_GETDENTS, 0, 0, &d, sizeof(d)), -PX_ENOTDIR);
	PX_ASSERT_EQ(rdo(PX_OP_FTRUNCATE, 1, 0, NULL, 0), -PX_EINVAL);
	long fd = px_open("f", PX_O_RDONLY);
	PX_ASSERT_GE(fd, 0);
	PX_ASSERT_EQ(rdo(PX_OP_FTRUNCATE, (int)fd, 0, NULL, 0), -PX_EBADF);
	PX_ASSERT_EQ(rdo(PX_OP_WRITE, (int)fd, 0, "x", 1), -PX_EBADF);
	px_close((int)fd);
	/* EMFILE */
	int fds[PROC_NFD_GUESS], n = 0;
	while (n < PROC_NFD_GUESS && (fd = px_open("f", PX_O_RDONLY)) >= 0)
		fds[n++] = (int)fd;
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "f", PX_O_RDONLY), -PX_EMFILE);
	for (int i = 0; i < n; i++)
		px_close(fds[i]);
	/* raw disk writes under a mounted file system are refused */
	static char sector[512];
	PX_ASSERT_EQ(rdo(PX_OP_BLK_WRITE, 0, 0, sector, sizeof(sector)), -PX_EBUSY);
	PX_ASSERT_EQ(rdo(PX_OP_BLK_READ, 0, 0, sector, sizeof(sector)), sizeof(sector));
	PX_ASSERT_EQ(px_unlink("d/x"), 0);
	PX_ASSERT_EQ(px_rmdir("d"), 0);
	PX_ASSERT_EQ(px_unlink("f"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* Ring writes cancelled in flight: a write that holds room in the log
 * finishes its chunk before its CQE says -PX_ECANCELED (the ring drains
 * it); the file system goes on working.  They overwrite a file bigger
 * than the cache, off the block boundaries, so they wait for reads while
 * they hold the log. */
PX_TEST(fs_ring_cancel_writes, .isolate = true, .time_limit_ms = 60000)
{
	static char chunk[KILL_PIECE];
	enter("rcancel");
	PX_ASSERT(ring_ready());
	long fd = px_open("big", PX_O_RDWR | PX_O_CREAT);
	PX_ASSERT_GE(fd, 0);
	memset(chunk, 'p', sizeof(chunk));
	for (unsigned i = 0; i < KILL_FILE / KILL_PIECE; i++)
		PX_ASSERT_EQ(px_write((int)fd, chunk, sizeof(chunk)), sizeof(chunk));
	memset(chunk, 'r', sizeof(chunk));
	for (int round = 0; round < 4; round++) {
		for (uint64_t i = 0; i < 8; i++) {
			struct px_sqe *s = px_ring_get_sqe(R);
			px_sqe_prep(s, PX_OP_WRITE, (int)fd,
				    ((i * 3 + (uint64_t)round) % (KILL_FILE / KILL_PIECE)) * KILL_PIECE + 100,
				    va(chunk), sizeof(chunk), i);
		}
		PX_ASSERT_EQ(px_ring_submit(R, 0, 0), 8);
		px_sleep((uint64_t)round * 3);
		for (uint64_t i = 0; i < 8; i++) {
			struct px_sqe *s = px_ring_get_sqe(R);
			px_sqe_prep(s, PX_OP_CANCEL, 0, 0, i, 0, 100 + i);
		}
		PX_ASSERT_EQ(px_ring_submit(R, 0, 0), 8);
		int seen = 0;
		struct px_cqe *c;
		while (seen < 16) {
			if (!(c = px_ring_peek_cqe(R))) {
				PX_ASSERT_GE(px_ring_enter(0, 1, PX_RING_FOREVER), 0);
				continue;
			}
			if (c->user_data < 8)
				PX_ASSERT(c->res == (long long)sizeof(chunk) || c->res == -PX_ECANCELED);
			else
				PX_ASSERT(c->res == 0 || c->res == -PX_ENOENT);
			px_ring_cq_advance(R, 1);
			seen++;
		}
	}
	struct px_stat st;
	PX_ASSERT_EQ(px_fstat((int)fd, &st), 0);
	PX_ASSERT_LE(st.size, KILL_FILE + 100);
	px_close((int)fd);
	PX_ASSERT_EQ(put("after", "fine"), 0);
	PX_ASSERT_EQ(px_unlink("after"), 0);
	PX_ASSERT_EQ(px_unlink("big"), 0);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
}

/* ---- the reactor's futures --------------------------------------------------------------*/

struct fut_ops {
	struct future base;
	int state;
	struct px_io io;
	long long fd;
	char buf[16];
	struct px_stat st;
};

PX_ASYNC_TEST(fs_px_io_futures, struct fut_ops, t)
{
	ASYNC_BEGIN(t);
	enter("pxio");
	px_io_openat(&t->io, "f", PX_O_RDWR | PX_O_CREAT);
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_GE(t->io.result, 0);
	t->fd = t->io.result;
	px_io_write_at(&t->io, (int)t->fd, "future", 6, 10);
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 6);
	px_io_read_at(&t->io, (int)t->fd, t->buf, sizeof(t->buf), 10);
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 6);
	PX_ASSERT(memcmp(t->buf, "future", 6) == 0);
	px_io_fsync(&t->io, (int)t->fd);
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	px_io_stat(&t->io, "f", &t->st);
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	PX_ASSERT_EQ(t->st.size, 16);
	px_io_close(&t->io, (int)t->fd);
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	px_io_mkdir(&t->io, "d");
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	px_io_rename(&t->io, "f", "d/f");
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	px_io_unlink(&t->io, "d/f");
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	px_io_rmdir(&t->io, "d");
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, 0);
	px_io_rmdir(&t->io, "d");
	AWAIT(t, px_io_poll(&t->io, cx));
	PX_ASSERT_EQ(t->io.result, -PX_ENOENT);
	leave();
	PX_ASSERT_EQ(px_rmdir(top), 0);
	ASYNC_END(t);
}

/* ---- without a disk ------------------------------------------------------------------*/

static void no_fs(void)
{
	PX_TEST_HELPER;
	struct px_statfs sf;
	PX_ASSERT_EQ(px_statfs(&sf), -PX_ENODEV);
}

PX_TEST(archive_no_file_system)
{
	char cwd[8];
	struct px_stat st;
	no_fs();
	PX_ASSERT_EQ(px_open("/bin/sh", PX_O_RDONLY), -PX_ENOENT);
	PX_ASSERT_EQ(px_open("f", PX_O_RDWR | PX_O_CREAT), -PX_EROFS);
	PX_ASSERT_EQ(px_open("f", 3), -PX_EINVAL);
	PX_ASSERT_EQ(px_stat("/", &st), -PX_ENOENT);
	PX_ASSERT_EQ(px_mkdir("d"), -PX_EROFS);
	PX_ASSERT_EQ(px_rmdir("d"), -PX_EROFS);
	PX_ASSERT_EQ(px_unlink("f"), -PX_EROFS);
	PX_ASSERT_EQ(px_rename("a", "b"), -PX_EROFS);
	PX_ASSERT_EQ(px_link("a", "b"), -PX_EROFS);
	PX_ASSERT_EQ(px_chdir("/"), -PX_ENOENT);
	PX_ASSERT_EQ(px_getcwd(cwd, sizeof(cwd)), 1);
	PX_ASSERT_STR_EQ(cwd, "/");
	PX_ASSERT_EQ(px_sync(), 0);
	struct px_dirent d;
	PX_ASSERT_EQ(px_getdents(0, &d, sizeof(d)), -PX_ENOTDIR);
	PX_ASSERT_EQ(px_lseek(0, 0, PX_SEEK_SET), -PX_ESPIPE);
	PX_ASSERT_EQ(px_dup2(1, 9), 9);
	PX_ASSERT_EQ(px_close(9), 0);
}

PX_TEST(archive_spawn)
{
	char out[32];
	const char *const argv[] = { "echo", "archive", NULL };
	no_fs();
	PX_ASSERT_EQ(run("echo", argv, out, sizeof(out)), 0);
	PX_ASSERT_STR_EQ(out, "archive\n");
	PX_ASSERT_EQ(run("/bin/echo", argv, out, sizeof(out)), -PX_ENOENT);
	PX_ASSERT_EQ(run("nosuchprogram", argv, out, sizeof(out)), -PX_ENOENT);
}

PX_TEST(archive_ring, .isolate = true)
{
	struct px_stat st;
	no_fs();
	PX_ASSERT(ring_ready());
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "f", PX_O_RDONLY), -PX_ENOENT);
	PX_ASSERT_EQ(rdo(PX_OP_OPENAT, 0, 0, "f", PX_O_WRONLY | PX_O_CREAT), -PX_EROFS);
	PX_ASSERT_EQ(rdo(PX_OP_STAT, 0, va(&st), "/", 0), -PX_ENOENT);
	PX_ASSERT_EQ(rdo(PX_OP_MKDIR, 0, 0, "d", 0), -PX_EROFS);
	PX_ASSERT_EQ(rdo(PX_OP_FSTAT, 1, 0, &st, 0), 0);
	PX_ASSERT_EQ(st.type, PX_S_CHR);
}

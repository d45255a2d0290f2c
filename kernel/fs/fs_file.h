/* Regular files and directories as kinds of struct file (kernel/file.h). */
#ifndef KERNEL_FS_FS_FILE_H
#define KERNEL_FS_FS_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/file.h"
#include "kernel/fs/fs.h"

/*
 * The open syscall and the ring's OPENAT (kernel/fsys.c) call fs_open,
 * then fs_file_new with the inode it gave.  The kinds:
 *
 *   file       read, write (at f->pos for PX_OFF_CUR, which they move;
 *              with O_APPEND every write goes to the end, and one at
 *              f->pos leaves it there), fsync, stat; seekable.
 *              A read of a file opened O_WRONLY (or a write of one opened
 *              O_RDONLY) is -PX_EBADF.
 *   directory  fsync, stat; getdents through fs_file_getdents.
 *
 * The last file_put drops the inode's reference; if that was the last one
 * of an unlinked file, a kernel task ("fs-reclaim") frees its blocks.
 * While a write is busy (kernel/fs/fs.h, "Cancellation"), so is the
 * file's future.
 */

/* A new file for ip (its reference passes to the file) with the open
 * flags; 0 or -PX_ENOMEM (the reference is still the caller's then). */
int fs_file_new(struct fs *fs, struct fs_inode *ip, int flags, struct file **out);
/* Is f one of these kinds? */
bool fs_file_is(const struct file *f);
/* Whole struct px_dirent records from f->pos (rq->off PX_OFF_CUR) or
 * rq->off, a directory slot number; -PX_ENOTDIR for anything but a
 * directory of the file system. */
int64_t fs_file_getdents(const struct io_req *rq, union io_slot *slot);
/* ftruncate: rq->off is the new size.  -PX_EINVAL for anything but a
 * file of the file system (or a size above 2^63 - 1), -PX_EISDIR for a
 * directory, -PX_EBADF unless it was opened for writing. */
int64_t fs_file_truncate(const struct io_req *rq, union io_slot *slot);
/* lseek's SEEK_END: the size of a regular file of the file system;
 * -PX_EINVAL for a directory or any other kind. */
int64_t fs_file_size(const struct file *f);
/* Drop a reference to ip that is not a file's (a working directory, an
 * inode an operation opened): when it was the last one of an unlinked
 * inode, a kernel task frees it, as the last close does. */
void fs_file_iput(struct fs *fs, struct fs_inode *ip);
/* Start that kernel task now (after an unlink, rmdir or rename when
 * fs_reclaim_due says inodes wait). */
void fs_file_reclaim(struct fs *fs);

#endif /* KERNEL_FS_FS_FILE_H */

/* The file system's operations: each one a future in the shape of struct io_future. */
#ifndef KERNEL_FS_FS_H
#define KERNEL_FS_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/file.h"
#include "kernel/fs/fs_dev.h"
#include "kernel/io.h"
#include "lib/uapi/pollux.h"

/*
 * Every operation is started, not run, like a struct file's (kernel/file.h):
 * fs_<op>(...) initialises a future in the caller's union io_slot and
 * returns IO_STARTED, or returns the final result at once (>= 0 or -PX_E*)
 * with nothing in the slot.  The caller polls the future (io_poll) until
 * Ready and reads io.result: bytes for read/write/getdents, 0 for the
 * others, or -PX_E*.  Open's inode comes from fs_op_inode afterwards.
 *
 * Cancellation (kernel/io.h's rules): an operation that changes the disk
 * sets io.busy once it holds room in the log, and clears it when it has
 * nothing more to do but wait for the commit.  A busy operation must not
 * be dropped; its owner sets io.cancelled and polls it to Ready (a write
 * then stops after the chunk it is in; everything else finishes).  Busy
 * or not, every operation is all-or-nothing on the disk.  Before busy,
 * and after Ready, drop is always allowed.
 *
 * Paths are copied when the operation starts (up to FS_PATH_MAX bytes
 * with the NUL); the caller's string need not outlive the start.  A
 * relative path starts at `cwd` (NULL: the root).
 *
 * Memory for read/write/getdents is named by (vm, va), handed to
 * fs_env_copyout/copyin at the moment bytes move (kernel/fs/fs_env.h).
 */
#define FS_PATH_MAX PX_FS_PATH_MAX

struct fs;
struct fs_inode;

struct fs_params {
	uint32_t nbuf;     /* buffer cache size in blocks (pages) */
	uint32_t ninode;   /* in-memory inode table entries */
};

/* Mount the file system on dev: check the superblock, replay the log,
 * count free blocks and inodes, free the inodes on the orphan list.
 * Ready: 0 and fs_op_fs(slot) gives the file system, or -PX_EINVAL (not a
 * usable image: one line on the console says why), -PX_EIO, -PX_ENOMEM. */
int64_t fs_mount(union io_slot *slot, struct fs_dev *dev, const struct fs_params *p);
/* Wait for every commit, free the file system.  No operation may be in
 * progress; an inode still referenced (an open file, a cwd) makes it
 * -PX_EBUSY with nothing done. */
int64_t fs_unmount(union io_slot *slot, struct fs *fs);

int64_t fs_open(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path,
		int flags);
int64_t fs_mkdir(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path);
int64_t fs_rmdir(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path);
int64_t fs_unlink(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *path);
int64_t fs_rename(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *from,
		  const char *to);
int64_t fs_link(union io_slot *slot, struct fs *fs, struct fs_inode *cwd, const char *from,
		const char *to);

/* off: where to read or write; a write with append writes at the end of
 * the file (under the inode's lock) and ignores off.  fs_op_pos gives the
 * offset after the last byte moved. */
int64_t fs_read(union io_slot *slot, struct fs *fs, struct fs_inode *ip, const void *vm,
		uint64_t va, uint64_t len, uint64_t off);
int64_t fs_write(union io_slot *slot, struct fs *fs, struct fs_inode *ip, const void *vm,
		 uint64_t va, uint64_t len, uint64_t off, bool append);
int64_t fs_truncate(union io_slot *slot, struct fs *fs, struct fs_inode *ip, uint64_t size);
/* Whole struct px_dirent records from directory slot `off` on; fs_op_pos
 * gives the slot to continue from.  0 at the end. */
int64_t fs_getdents(union io_slot *slot, struct fs *fs, struct fs_inode *ip, const void *vm,
		    uint64_t va, uint64_t len, uint64_t off);
int64_t fs_stat(union io_slot *slot, struct fs *fs, struct fs_inode *ip, struct px_stat *st);
/* The absolute path of the directory dir (the caller's reference), found
 * by climbing ".." to the root and looking each directory up by inode
 * number in its parent, with the names held still (fs->ns).  Ready: the
 * length, with the path and a NUL in buf; -PX_ENOENT if dir was removed;
 * -PX_ENAMETOOLONG if the path and its NUL need more than cap bytes;
 * -PX_EIO if the tree is damaged.  cap >= 2, else -PX_EINVAL at once. */
int64_t fs_getpath(union io_slot *slot, struct fs *fs, struct fs_inode *dir, char *buf,
		   size_t cap);
/* Everything written to ip so far is durable. */
int64_t fs_fsync(union io_slot *slot, struct fs *fs, struct fs_inode *ip);
/* Free the inodes whose last link and last reference are gone. */
int64_t fs_reclaim(union io_slot *slot, struct fs *fs);
/* Whether such inodes wait (an operation that unlinked an inode someone
 * else held may itself have dropped the last reference: it does not
 * reclaim, so its caller asks this afterwards). */
bool fs_reclaim_due(struct fs *fs);

/*
 * The read-only operations tried at once, without a future.  When every
 * inode lock they take is free and every block they need is cached, they
 * finish in the call and return the final result, the one the future
 * would give at that moment; otherwise they change nothing and return
 * FS_WOULD_WAIT, and the caller starts the operation (fs_open, ...) as
 * usual.  What is answered here needs no memory, no task and no poll.
 *
 * fs_open_now: 0 and *ipp (a new reference), or -PX_E*; FS_WOULD_WAIT for
 * O_CREAT and for O_TRUNC with writing (they change the disk).
 * fs_read_now: bytes read (at most FS_READ_NOW_BLOCKS blocks' worth, else
 * FS_WOULD_WAIT), or -PX_E*.  fs_stat_now: 0 with *st filled.
 */
#define FS_WOULD_WAIT INT64_MIN
#define FS_READ_NOW_BLOCKS 4u
int64_t fs_open_now(struct fs *fs, struct fs_inode *cwd, const char *path, int flags,
		    struct fs_inode **ipp);
int64_t fs_read_now(struct fs *fs, struct fs_inode *ip, const void *vm, uint64_t va,
		    uint64_t len, uint64_t off);
int64_t fs_stat_now(struct fs *fs, struct fs_inode *ip, struct px_stat *st);

/* Results beyond io.result, read after Ready. */
struct fs_inode *fs_op_inode(union io_slot *slot);   /* open: a new reference */
struct fs *fs_op_fs(union io_slot *slot);            /* mount */
uint64_t fs_op_pos(union io_slot *slot);             /* read/write/getdents */

/* Synchronous, never wait. */
void fs_statfs(struct fs *fs, struct px_statfs *out);
struct fs_inode *fs_root(struct fs *fs);             /* a new reference */
struct fs_inode *fs_idup(struct fs *fs, struct fs_inode *ip);
/* Drop a reference.  Returns true if that was the last one of an
 * unlinked inode: its blocks are freed by the next fs_reclaim (run one). */
bool fs_iput(struct fs *fs, struct fs_inode *ip);
unsigned fs_inode_type(struct fs_inode *ip);          /* PX_S_REG or PX_S_DIR */
uint32_t fs_inode_num(struct fs_inode *ip);
/* The file's size now, without waiting (lseek's SEEK_END, spawn's read):
 * a size that a write running meanwhile may change at once. */
uint64_t fs_inode_size(struct fs_inode *ip);
/* Counters for tests and benchmarks. */
struct fs_stats {
	uint64_t hits, misses, shared, evictions, reads, read_errors, prefetches;
	uint32_t reads_in_flight_max;
	uint64_t commits, blocks_committed;
};
void fs_get_stats(struct fs *fs, struct fs_stats *out);

#endif /* KERNEL_FS_FS_H */

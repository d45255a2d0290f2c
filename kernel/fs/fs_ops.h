/* The state of one operation in progress (struct fs_call) and the future that owns it. */
#ifndef KERNEL_FS_FS_OPS_H
#define KERNEL_FS_FS_OPS_H

#include "kernel/fs/fs_impl.h"

enum fs_kind {
	FS_K_OPEN, FS_K_MKDIR, FS_K_RMDIR, FS_K_UNLINK, FS_K_RENAME, FS_K_LINK,
	FS_K_READ, FS_K_WRITE, FS_K_TRUNC, FS_K_GETDENTS, FS_K_STAT, FS_K_FSYNC,
	FS_K_RECLAIM, FS_K_MOUNT_ORPHANS, FS_K_MOUNT, FS_K_UNMOUNT, FS_K_GETPATH,
};

/* Which step of `u` is in progress (what a drop must undo). */
enum { L_NONE, L_BEGIN, L_NS, L_ILOCK, L_WALK, L_LOOKUP, L_BMAP, L_BGET, L_DUR, L_MOUNT };

/*
 * One operation's state, allocated when it starts (fs_env_alloc) and
 * freed at Ready or drop; the slot holds only struct fs_op.  The steps
 * run one after another, so they share the union.
 */
struct fs_call {
	struct fs *fs;
	struct io_future *io;      /* the slot's future: busy, cancelled */
	uint8_t kind;
	uint8_t live;
	int state;
	int64_t result;
	/* arguments */
	char *path, *path2;
	size_t pathcap;
	int flags;
	bool append;
	struct fs_inode *cwd;      /* our reference */
	struct fs_inode *ip;       /* the file (the caller's, or ours when ip_owned) */
	bool ip_owned;
	const void *vm;
	uint64_t va, len, off;
	struct px_stat *st;
	char *out;                 /* getpath: the path goes here (outcap bytes) */
	uint32_t outcap;
	/* progress */
	uint64_t done, pos, chunk_end;
	uint32_t gen;
	int err;
	uint32_t want;
	bool begun, dirtied, ns_held, created, trailing;
	uint64_t seq;
	struct fs_inode *locked, *locked2;  /* inode locks held */
	struct fs_inode *dp, *dp2, *victim, *cur;  /* our references */
	const char *name, *name2;
	uint32_t len2, slot, slot2, inum, inum2, block, climb;
	uint32_t len_name;
	char comp[FS_NAME_MAX];    /* getpath: one name */
	uint8_t type;
	uint32_t next, at, steps;
	int rel_state, sub_state, rel_result;
	/* mount */
	struct fs_dev *dev;
	struct fs_params params;
	void *page;
	struct fs_req req;
	uint32_t i, n;
	union {
		struct fs_begin begin;
		struct fs_durable dur;
		struct mutex_lock ml;
		struct fs_ilock il;
		struct fs_walk walk;
		struct fs_dirlookup dl;
		struct fs_dirset ds;
		struct fs_bmap bm;
		struct fs_bget g;
		struct fs_iupdate iu;
		struct fs_alloc al;
		struct fs_free fr;
		struct fs_itrunc tr;
	} u;
};

/* What sits in the caller's union io_slot. */
struct fs_op {
	struct io_future io;
	struct fs_call *c;         /* NULL once Ready */
	struct fs_inode *ip;       /* open's result */
	struct fs *fs;             /* mount's result */
	uint64_t pos;
};
IO_SLOT_FITS(struct fs_op);

struct fs_call *fs_call_start(union io_slot *slot, struct fs *fs, enum fs_kind kind,
			      struct fs_inode *cwd, const char *path, const char *path2,
			      int64_t *err);

/* Each operation's state machine: fs_names.c, fs_data.c. */
enum poll fs_op_open(struct fs_call *c, struct context *cx);
enum poll fs_op_mkdir(struct fs_call *c, struct context *cx);
enum poll fs_op_remove(struct fs_call *c, struct context *cx);   /* unlink, rmdir */
enum poll fs_op_rename(struct fs_call *c, struct context *cx);
enum poll fs_op_link(struct fs_call *c, struct context *cx);
enum poll fs_op_read(struct fs_call *c, struct context *cx);
enum poll fs_op_write(struct fs_call *c, struct context *cx);
enum poll fs_op_truncate(struct fs_call *c, struct context *cx);
enum poll fs_op_getdents(struct fs_call *c, struct context *cx);
enum poll fs_op_stat(struct fs_call *c, struct context *cx);
enum poll fs_op_fsync(struct fs_call *c, struct context *cx);
enum poll fs_op_getpath(struct fs_call *c, struct context *cx);

/* fs_mount.c */
enum poll fs_mount_poll(struct fs_call *c, struct context *cx);
void fs_mount_drop(struct fs_call *c);
enum poll fs_unmount_poll(struct fs_call *c, struct context *cx);
/* Free everything of a mounted (or half-mounted) file system at once. */
void fs_teardown(struct fs *fs);
/* fs_ops.c: reclaim, also the mount's orphan pass (kind FS_K_MOUNT_ORPHANS) */
enum poll fs_reclaim_poll(struct fs_call *c, struct context *cx);

#endif /* KERNEL_FS_FS_OPS_H */

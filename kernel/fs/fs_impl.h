/* Inside the file system: the mounted state, in-memory inodes, and the async steps operations are built of. */
#ifndef KERNEL_FS_FS_IMPL_H
#define KERNEL_FS_FS_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "executor/mutex.h"
#include "executor/spin.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/fs_cache.h"
#include "kernel/fs/fs_format.h"
#include "kernel/fs/fs_log.h"

/*
 * Locks, in the order they are taken (never the other way round):
 *
 *   1. the log reservation (fs_begin)     an async wait; taken first, before
 *                                         any lock below, because a commit
 *                                         needs every reserved operation to end
 *   2. fs->ns, the namespace mutex         create, mkdir, unlink, rmdir, rename,
 *                                         link: one at a time (async mutex)
 *   3. inode locks (ip->lock, async)      a directory before an inode in it;
 *                                         without fs->ns at most one at a time
 *   4. fs->alloc_lock, fs->itab_lock, fs->dinode_lock (spin)   leaves;
 *      fs->names_lock before fs->itab_lock (fs_name_recall takes its
 *      reference under the name cache's lock)
 *   5. the log lock, then the cache lock (spin), then a notify's or the
 *      device's lock
 *
 * Who may wait where: async waits (1–3, a buffer load, a commit) only in
 * operation futures; spin locks are held for a few dozen instructions and
 * never across a poll of anything but a device request or across a
 * wake.  A buffer is held across a wait only when the open transaction
 * holds it too (it is logged), so buffers that nobody can free are
 * bounded by the log's capacity and eviction always finds one in the end.
 */

struct fs_inode {
	uint32_t inum;
	uint32_t refs;             /* fs->itab_lock */
	bool valid;                /* d holds the disk inode; under lock */
	struct mutex lock;
	struct fs_dinode d;        /* the in-memory copy; under lock */
	uint64_t dirty_seq;        /* the last transaction that changed it */
	_Atomic uint32_t tgen;     /* truncations so far (a reader's map may be stale) */
	bool orphaned;             /* unlinked, on the orphan list; fs->itab_lock */
	uint64_t ra_next;          /* read-ahead: the file block a sequential read
	                              would read next; under lock */
	struct fs_inode *hnext;    /* fs->ihash chain of inum; fs->itab_lock */
	bool hashed;               /* on the chain of inum; fs->itab_lock */
};

#define FS_IHASH 64u           /* chains of the in-memory inode table */

/* The name cache (fs_dir.c): a directory's name -> inode number, as a
 * lookup under the directory's lock last found it, so an open of a
 * cached path neither locks nor reads its directories.  One page of
 * entries, a name's slot chosen by hash (a newer name takes it).  An
 * entry counts only while its gen is fs->names_gen, which every change
 * of a directory entry and every freed inode moves on (fs_names_forget):
 * a name is never answered from before a change. */
#define FS_NAME_CACHED 19u     /* longer names are not cached */
struct fs_name {
	uint32_t dir, inum, gen;
	uint8_t len;
	char name[FS_NAME_CACHED];
};
#define FS_NAMES (4096u / sizeof(struct fs_name))

struct fs {
	struct fs_dev *dev;
	struct fs_super sb;        /* in memory; orphan_head kept current */
	struct fs_cache cache;
	struct fs_log log;
	struct spin itab_lock;
	struct spin dinode_lock;   /* a disk inode's bytes in its buffer: iupdate's
	                              copy against the orphan list's next_orphan */
	uint32_t ninode, itab_cap;
	struct fs_inode **itab;    /* ninode (at most FS_INODES_MAX), each allocated alone */
	struct fs_inode *ihash[FS_IHASH]; /* itab entries by inum % FS_IHASH; itab_lock */
	uint32_t ispare;           /* where fs_iget looks for a free entry next; itab_lock */
	struct spin alloc_lock;
	uint32_t free_blocks, free_inodes;
	uint32_t bhint, ihint;     /* bitmap block to search first */
	struct mutex ns;
	uint32_t res_small;        /* log blocks an operation reserves */
	uint32_t res_free;         /* ... one that may free a whole file */
	uint32_t res_write;        /* ... one chunk of a write */
	uint32_t reclaim;          /* inodes waiting for fs_reclaim */
	struct spin names_lock;
	uint32_t names_gen;        /* names_lock */
	struct fs_name *names;     /* FS_NAMES of them (a page) */
	struct fs_inode *root;
};

#define FS_WRITE_CHUNK 8u      /* data blocks per write transaction */
#define FS_INODES_MAX 512u     /* in-memory inodes (fs_params.ninode) */
#define FS_READAHEAD 8u        /* blocks a sequential read starts ahead */

/* ---- inodes (fs_inode.c) ------------------------------------------------------------*/

/* A referenced in-memory inode for inum, or NULL (-PX_ENFILE: table full). */
struct fs_inode *fs_iget(struct fs *fs, uint32_t inum);

/* Lock ip and load its disk inode if needed.  Ready: result 0 (locked),
 * or -PX_EIO (damaged or unreadable; not locked). */
struct fs_ilock {
	struct fs *fs;
	struct fs_inode *ip;
	int state;
	uint8_t live;              /* 1: ml, 2: g */
	int result;
	struct mutex_lock ml;
	struct fs_bget g;
};
void fs_ilock_init(struct fs_ilock *l, struct fs *fs, struct fs_inode *ip);
enum poll fs_ilock_poll(struct fs_ilock *l, struct context *cx);
void fs_ilock_drop(struct fs_ilock *l);
void fs_iunlock(struct fs_inode *ip);
/* Lock ip if its lock is free and its disk inode loaded: true (locked),
 * or false with nothing done. */
bool fs_ilock_now(struct fs_inode *ip);

/* Write ip->d (locked) to its disk inode inside the transaction. */
struct fs_iupdate {
	struct fs *fs;
	struct fs_inode *ip;
	int state;
	int result;
	struct fs_bget g;
};
void fs_iupdate_init(struct fs_iupdate *u, struct fs *fs, struct fs_inode *ip);
enum poll fs_iupdate_poll(struct fs_iupdate *u, struct context *cx);

/* Allocate a block (zero-filled, logged) or an inode bit.  Ready: result
 * 0 and `got`, or -PX_ENOSPC / -PX_EIO. */
struct fs_alloc {
	struct fs *fs;
	bool inode;                /* the inode bitmap, else the block bitmap */
	int state;
	uint32_t tried, bi;
	uint32_t got;
	int result;
	struct fs_bget g;
};
void fs_alloc_init(struct fs_alloc *a, struct fs *fs, bool inode);
enum poll fs_alloc_poll(struct fs_alloc *a, struct context *cx);

/* Clear bitmap bit n (block or inode) inside the transaction. */
struct fs_free {
	struct fs *fs;
	int state;
	int result;
	struct fs_bget g;
};
void fs_free_init(struct fs_free *f, struct fs *fs);
enum poll fs_free_poll(struct fs_free *f, struct context *cx, bool inode, uint32_t n);

/* The disk block of file block fbn of ip (locked): 0 for a hole, or
 * (alloc) a block allocated now, zeroed and logged (fresh = true). */
struct fs_bmap {
	struct fs *fs;
	struct fs_inode *ip;
	uint64_t fbn;
	bool alloc;
	bool fresh;
	int state;
	uint8_t live;              /* 1: g */
	uint8_t lvl, nlvl;
	uint32_t idx[2];
	uint32_t cur, v;
	uint32_t block;            /* the answer */
	int result;
	struct fs_bget g;
	struct fs_alloc a;
};
void fs_bmap_init(struct fs_bmap *m, struct fs *fs, struct fs_inode *ip, uint64_t fbn, bool alloc);
enum poll fs_bmap_poll(struct fs_bmap *m, struct context *cx);
void fs_bmap_drop(struct fs_bmap *m);

/* The disk block of file block fbn of ip (locked) if the map can be read
 * without waiting (direct, or its indirect blocks cached); 0 otherwise
 * (a hole, not cached, damaged).  For read-ahead. */
uint32_t fs_bmap_peek(struct fs *fs, struct fs_inode *ip, uint64_t fbn);

/* Free ip's (locked) blocks from file block `from` on; inside a
 * transaction reserved with fs->res_free. */
struct fs_itrunc {
	struct fs *fs;
	struct fs_inode *ip;
	uint64_t from;
	int state;
	uint32_t lvl_i, i, tbl, v;
	bool keep;                 /* the table survives: clear its entries */
	int result;
	struct fs_bget g;
	struct fs_free fr;
};
void fs_itrunc_init(struct fs_itrunc *t, struct fs *fs, struct fs_inode *ip, uint64_t from);
enum poll fs_itrunc_poll(struct fs_itrunc *t, struct context *cx);

/* A block number read from the disk is usable as a data block. */
static inline bool fs_block_ok(const struct fs *fs, uint32_t b)
{
	return b >= fs->sb.data_start && b < fs->sb.nblocks;
}

/* Damage met: say what and where, once per call site kind. */
void fs_damaged(struct fs *fs, const char *what, uint32_t where);

/* ---- directories and paths (fs_dir.c) -----------------------------------------------*/

/* Find name in directory dp (locked).  Ready: result 0 with inum and
 * where (slot = block index * 32 + entry), -PX_ENOENT with free_slot (the
 * first free slot, or UINT32_MAX), or -PX_EIO.  name NULL: find any
 * entry but "." and ".." (is the directory empty?). */
struct fs_dirlookup {
	struct fs *fs;
	struct fs_inode *dp;
	const char *name;
	uint32_t len;
	uint32_t want_inum;        /* by inode number (fs_dirlookup_inum_init) */
	char *name_out;            /* ...its name goes here (FS_NAME_MAX bytes), len */
	int state;
	uint8_t live;              /* 1: m, 2: g */
	uint32_t bi, nblk;
	uint32_t inum, slot, free_slot;
	uint8_t type;
	int result;
	struct fs_bmap m;
	struct fs_bget g;
};
void fs_dirlookup_init(struct fs_dirlookup *d, struct fs *fs, struct fs_inode *dp,
		       const char *name, uint32_t len);
/* The entry other than "." and ".." whose inode is inum: its name into
 * name_out (FS_NAME_MAX bytes, no NUL) and its length into len. */
void fs_dirlookup_inum_init(struct fs_dirlookup *d, struct fs *fs, struct fs_inode *dp,
			    uint32_t inum, char *name_out);
enum poll fs_dirlookup_poll(struct fs_dirlookup *d, struct context *cx);
void fs_dirlookup_drop(struct fs_dirlookup *d);
/* The same lookup of name in dp (locked) without waiting: 0 and *inum,
 * -PX_ENOENT, -PX_EIO (an invalid entry, said), or FS_WOULD_WAIT (a block
 * of dp is not cached, or its map needs reading). */
int64_t fs_dirlookup_now(struct fs *fs, struct fs_inode *dp, const char *name, uint32_t len,
			 uint32_t *inum);

/* Write entry (name -> inum, type) at slot of dp (locked); slot ==
 * UINT32_MAX: append a block.  Inside a transaction. */
struct fs_dirset {
	struct fs *fs;
	struct fs_inode *dp;
	int state;
	uint32_t slot;
	int result;
	struct fs_bmap m;
	struct fs_bget g;
	struct fs_iupdate u;
};
void fs_dirset_init(struct fs_dirset *s, struct fs *fs, struct fs_inode *dp, uint32_t slot);
/* name NULL / inum 0: clear the slot. */
enum poll fs_dirset_poll(struct fs_dirset *s, struct context *cx, const char *name,
			 uint32_t len, uint32_t inum, uint8_t type);

/* Walk a path.  parent: stop before the last component and give it in
 * (name, len).  Ready: result 0 and ip (referenced, unlocked), or -PX_E*.
 * dirs_only: the path ended in '/' (the last component must be a dir). */
struct fs_walk {
	struct fs *fs;
	const char *path;
	bool parent;
	int state;
	uint8_t live;              /* 1: l, 2: d */
	uint32_t pos;
	const char *name;
	uint32_t len;
	bool trailing_slash;
	struct fs_inode *ip;
	struct fs_inode *next;
	int result;
	struct fs_ilock l;
	struct fs_dirlookup d;
};
void fs_walk_init(struct fs_walk *w, struct fs *fs, struct fs_inode *cwd, const char *path,
		  bool parent);
enum poll fs_walk_poll(struct fs_walk *w, struct context *cx);
void fs_walk_drop(struct fs_walk *w);

/* The name cache.  remember: dp (locked, a directory) holds name -> inum.
 * recall: FS_RECALL_HIT and *ipp, a new reference to the inode, if dir's
 * name is cached (taken while the name is current); FS_RECALL_NO_ENTRY
 * if it is cached but the inode table has no free entry.  forget: every
 * name cached so far is stale (called before an entry changes, under
 * the directory's lock, and when an inode is freed). */
enum fs_recall { FS_RECALL_MISS, FS_RECALL_HIT, FS_RECALL_NO_ENTRY };
void fs_name_remember(struct fs *fs, struct fs_inode *dp, const char *name, uint32_t len,
		      uint32_t inum);
enum fs_recall fs_name_recall(struct fs *fs, uint32_t dir, const char *name, uint32_t len,
			      struct fs_inode **ipp);
void fs_names_forget(struct fs *fs);

/* Is name (len) a valid component?  0, -PX_ENAMETOOLONG or -PX_EINVAL. */
int fs_name_check(const char *name, uint32_t len);

#endif /* KERNEL_FS_FS_IMPL_H */

/* The steps operations are made of, as macros over a struct fs_call `c` (and `fs`, `cx`). */
#ifndef KERNEL_FS_FS_STEPS_H
#define KERNEL_FS_FS_STEPS_H

#include "kernel/fs/fs_env.h"
#include "kernel/fs/fs_ops.h"

/*
 * Each operation is one state machine over a struct fs_call (fs_ops.h),
 * written with the executor's ASYNC macros.  Its steps are the async
 * helpers of fs_inode.c and fs_dir.c, one at a time, in the union `u`;
 * `live` says which is in progress, for a drop.
 *
 * A changing operation: reserve room in the log (busy from then on),
 * take fs->ns if it changes names, find, check (every error that needs
 * no undoing is found here), then change (`dirtied`), release, end the
 * transaction and wait until it is durable.  An I/O error or damage met
 * after the first change abandons the transaction (fs_log_abort): the
 * disk keeps its last commit.  ENOSPC can only come at points where
 * nothing half-done is left: a directory slot is made (an empty block
 * appended, which is consistent on its own) before the inode or block
 * that will fill it is allocated.
 *
 * With fs->ns held, names cannot change, so a namespace operation locks
 * one inode at a time; without it (read, write, truncate, getdents,
 * stat, a walk) an operation holds at most one inode lock as well.
 */

/* Release everything the call holds that needs no waiting (inode locks,
 * fs->ns, references); abandons the transaction after an EIO that came
 * after a change. */
void fs_call_let_go(struct fs_call *c);

/* c->victim (locked, no links left) is freed: blocks, inode, bitmap bit.
 * A sub-machine with c->rel_state; c->rel_result says how it went. */
enum poll fs_release_inode(struct fs_call *c, struct context *cx);
/* c->victim (locked) lost its last link: freed now if nobody else holds
 * it, else put on the orphan list.  c->sub_state; c->rel_result. */
enum poll fs_unlinked_inode(struct fs_call *c, struct context *cx);
/* A just-allocated inode, referenced once by us: unused, and locked now;
 * false (damage) if it is neither. */
bool fs_claim_new(struct fs *fs, struct fs_inode *ip);

/* The steps every operation shares, as macros over `c` and `fs`. */
#define FAIL(err)                                   \
	do {                                        \
		c->result = (err);                  \
		goto out;                           \
	} while (0)

#define STEP(kind, pollexpr)                        \
	do {                                        \
		c->live = (kind);                   \
		AWAIT(c, (pollexpr));               \
		c->live = L_NONE;                   \
	} while (0)

#define BEGIN(wantx)                                                       \
	do {                                                               \
		c->want = (wantx);                                         \
		fs_begin_init(&c->u.begin, &fs->log, c->want);             \
		STEP(L_BEGIN, fs_begin_poll(&c->u.begin, cx));             \
		if (c->u.begin.result)                                     \
			FAIL(c->u.begin.result);                           \
		c->begun = true;                                           \
		c->io->busy = true;                                        \
	} while (0)

#define LOCK_NS()                                                          \
	do {                                                               \
		mutex_lock_init(&c->u.ml, &fs->ns);                        \
		STEP(L_NS, mutex_lock_poll(&c->u.ml, cx));                 \
		c->ns_held = true;                                         \
	} while (0)

#define ILOCK(ipx)                                                         \
	do {                                                               \
		fs_ilock_init(&c->u.il, fs, (ipx));                        \
		STEP(L_ILOCK, fs_ilock_poll(&c->u.il, cx));                \
		if (c->u.il.result)                                        \
			FAIL(c->u.il.result);                              \
		c->locked = (ipx);                                         \
	} while (0)

#define IUNLOCK()                                                          \
	do {                                                               \
		fs_iunlock(c->locked);                                     \
		c->locked = NULL;                                          \
	} while (0)

#define WALK(pathx, parent)                                                \
	do {                                                               \
		fs_walk_init(&c->u.walk, fs, c->cwd, (pathx), (parent));   \
		STEP(L_WALK, fs_walk_poll(&c->u.walk, cx));                \
		if (c->u.walk.result)                                      \
			FAIL(c->u.walk.result);                            \
	} while (0)

#define LOOKUP(dpx, namex, lenx)                                           \
	do {                                                               \
		fs_dirlookup_init(&c->u.dl, fs, (dpx), (namex), (lenx));   \
		STEP(L_LOOKUP, fs_dirlookup_poll(&c->u.dl, cx));           \
	} while (0)

#define IUPDATE(ipx)                                                       \
	do {                                                               \
		fs_iupdate_init(&c->u.iu, fs, (ipx));                      \
		AWAIT(c, fs_iupdate_poll(&c->u.iu, cx));                   \
		if (c->u.iu.result)                                        \
			FAIL(c->u.iu.result);                              \
	} while (0)

#define DIRSET(dpx, slotx, namex, lenx, inumx, typex)                             \
	do {                                                                      \
		fs_dirset_init(&c->u.ds, fs, (dpx), (slotx));                     \
		AWAIT(c, fs_dirset_poll(&c->u.ds, cx, (namex), (lenx), (inumx), (typex))); \
		if (c->u.ds.result)                                               \
			FAIL(c->u.ds.result);                                     \
	} while (0)

#define BGET(blockx, zerox)                                                \
	do {                                                               \
		fs_bget_init(&c->u.g, &fs->cache, (blockx), (zerox));      \
		STEP(L_BGET, fs_bget_poll(&c->u.g, cx));                   \
		if (c->u.g.result)                                         \
			FAIL(c->u.g.result);                               \
	} while (0)

#define FREEBIT(inodex, nx)                                                \
	do {                                                               \
		fs_free_init(&c->u.fr, fs);                                \
		AWAIT(c, fs_free_poll(&c->u.fr, cx, (inodex), (nx)));      \
		if (c->u.fr.result)                                        \
			FAIL(c->u.fr.result);                              \
	} while (0)

#define END_AND_WAIT()                                                     \
	do {                                                               \
		if (c->begun) {                                            \
			c->seq = fs_end(&fs->log, c->want);                \
			c->begun = false;                                  \
			c->io->busy = false;                               \
			fs_durable_init(&c->u.dur, &fs->log, c->seq);      \
			STEP(L_DUR, fs_durable_poll(&c->u.dur, cx));       \
			if (c->result >= 0 && c->u.dur.result)             \
				c->result = c->u.dur.result;               \
		}                                                          \
	} while (0)

#define RELEASE_INODE()                                                    \
	do {                                                               \
		c->rel_state = 0;                                          \
		AWAIT(c, fs_release_inode(c, cx));                            \
		if (c->rel_result)                                         \
			FAIL(c->rel_result);                               \
	} while (0)

#define UNLINKED_INODE()                                                   \
	do {                                                               \
		c->sub_state = 0;                                          \
		c->rel_result = 0;                                         \
		AWAIT(c, fs_unlinked_inode(c, cx));                           \
		if (c->rel_result)                                         \
			FAIL(c->rel_result);                               \
	} while (0)

#endif /* KERNEL_FS_FS_STEPS_H */

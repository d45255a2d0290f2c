/* The mounted file system: the boot mount, working directories, the path calls, spawn from the disk. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/fs_file.h"
#include "kernel/fs/fs_ops.h"
#include "kernel/fs/fs_virtio.h"
#include "kernel/fsys.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/proc.h"
#include "kernel/uaccess.h"
#include "kernel/virtio_blk.h"

/* Set once, by the mount task, before anything that reads it starts. */
static struct fs *root_fs;
/* The mounted device: the file system keeps a pointer to it. */
static struct fs_dev boot_dev;

struct fs *fsys_fs(void)
{
	return __atomic_load_n(&root_fs, __ATOMIC_ACQUIRE);
}

/* ---- the boot mount --------------------------------------------------------------------*/

/* The cache holds 512 blocks (2 MiB, the most fs_mount takes) and the
 * inode table 512 inodes: with a 128 MiB machine, room to spare. */
static const struct fs_params boot_params = { .nbuf = 512, .ninode = 512 };

struct mount_task {
	struct future base;
	void (*then)(void);
	bool started;
	union io_slot slot;
};

static void mounted(struct mount_task *t, int64_t r)
{
	fs_env_kernel_boot_mount = false;
	if (r == 0) {
		struct fs *fs = fs_op_fs(&t->slot);
		struct px_statfs st;
		fs_statfs(fs, &st);
		printf("fs: the disk is / (%llu MiB, %llu blocks and %llu inodes free)\n",
		       (unsigned long long)(st.blocks * st.block_size >> 20),
		       (unsigned long long)st.blocks_free, (unsigned long long)st.inodes_free);
		__atomic_store_n(&root_fs, fs, __ATOMIC_RELEASE);
	} else if (!fs_env_kernel_said) {
		/* fs_mount said nothing (out of memory): say it here. */
		printf("fs: not mounting the disk (error %lld); programs come from the kernel's "
		       "archive\n", (long long)-r);
	}
	t->then();
}

static enum poll mount_poll(struct future *f, struct context *cx)
{
	struct mount_task *t = (struct mount_task *)f;
	if (!t->started) {
		t->started = true;
		fs_virtio_dev(&boot_dev);
		fs_env_kernel_boot_mount = true;
		int64_t r = fs_mount(&t->slot, &boot_dev, &boot_params);
		if (r != IO_STARTED) {
			mounted(t, r);
			return POLL_READY;
		}
	}
	if (io_poll(&t->slot.f, cx) == POLL_PENDING)
		return POLL_PENDING;
	mounted(t, t->slot.f.result);
	return POLL_READY;
}

/* The mount is busy for its whole life: the task is never dropped before
 * Ready (only an executor shutdown could, and then it is leaked). */
static const struct future_vtable mount_vtable = { mount_poll, NULL };

void fsys_boot(void (*then)(void))
{
	if (blk_capacity() == 0) {
		printf("fs: no disk; programs come from the kernel's archive\n");
		then();
		return;
	}
	struct mount_task t = { .base = { &mount_vtable }, .then = then };
	if (KSPAWN(t, "fs-mount", NULL) != TASK_OK) {
		printf("fs: no task slot to mount the disk; programs come from the kernel's "
		       "archive\n");
		then();
	}
}

/* ---- working directories ---------------------------------------------------------------*/

/*
 * A working directory is an inode reference only: getcwd climbs from it
 * to the root (fs_getpath), so the path it gives is the directory's path
 * now, after any rename of a directory above it, by this process or
 * another.
 */
int fsys_cwd_inherit(struct proc *child, const struct proc *parent)
{
	struct fs *fs = fsys_fs();
	child->cwd = fs && parent->cwd ? fs_idup(fs, parent->cwd) : NULL;
	return 0;
}

void fsys_cwd_release(struct proc *p)
{
	if (p->cwd)
		fs_file_iput(fsys_fs(), p->cwd);
	p->cwd = NULL;
}

/* ---- the path calls as one future ------------------------------------------------------*/

enum po_kind { PO_OPEN, PO_STAT, PO_CHDIR, PO_CHANGE, PO_GETCWD };

struct path_op {
	struct io_future io;
	struct {
		struct fs_op op;     /* the file system's future, in place */
	} inner;
	bool running;            /* inner holds a future */
	bool ready;              /* no inner future: io.result was had at once */
	uint8_t kind;            /* enum po_kind */
	uint8_t stage;           /* stat: 0 open, 1 stat */
	int flags;               /* open */
	struct fs *fs;
	struct proc *p;          /* open, chdir: untouched once cancelled */
	struct fs_inode *ip;     /* our reference, once the open is Ready */
	const struct vm_root *vm;
	uint64_t va;             /* stat, getcwd: the record or the path goes here */
	uint64_t n;              /* getcwd: the program's buffer size */
	char *path;              /* getcwd: the path (PX_FS_PATH_MAX bytes) */
	struct px_stat st;
};
IO_SLOT_FITS(struct path_op);

static union io_slot *inner_slot(struct path_op *o)
{
	return (union io_slot *)(void *)&o->inner;
}

static void po_release(struct path_op *o)
{
	if (o->ip)
		fs_file_iput(o->fs, o->ip);
	o->ip = NULL;
	kfree(o->path, PX_FS_PATH_MAX);
	o->path = NULL;
}

static enum poll po_ready(struct path_op *o, int64_t r)
{
	po_release(o);
	/* An unlink, rmdir or rename whose victim someone else held leaves
	 * it on the orphan list; when that holder let go first, the
	 * operation's own reference was the last, and nobody reclaims. */
	if (o->kind == PO_CHANGE && o->fs && fs_reclaim_due(o->fs))
		fs_file_reclaim(o->fs);
	o->io.result = r;
	o->io.busy = false;
	return POLL_READY;
}

/* ip (our reference) opened with flags as p's new fd: the fd, or -PX_E*;
 * the reference is the file's, or dropped. */
static int64_t install(struct fs *fs, struct proc *p, struct fs_inode *ip, int flags)
{
	struct file *f;
	int64_t err = fs_file_new(fs, ip, flags, &f);
	if (err) {
		fs_file_iput(fs, ip);
		return err;
	}
	int fd = proc_fd_install(p, f);
	if (fd < 0)
		file_put(f);
	return fd;
}

/* The open of an open, stat or chdir is Ready with the inode in o->ip:
 * finish (true, Ready), or start the stat (false: poll it). */
static bool po_opened(struct path_op *o)
{
	struct proc *p = o->p;
	switch (o->kind) {
	case PO_OPEN: {
		int64_t fd = install(o->fs, p, o->ip, o->flags);
		o->ip = NULL; /* the file's reference now, or dropped */
		return po_ready(o, fd) == POLL_READY;
	}
	case PO_CHDIR: {
		if (fs_inode_type(o->ip) != PX_S_DIR)
			return po_ready(o, -PX_ENOTDIR) == POLL_READY;
		struct fs_inode *old = p->cwd;
		p->cwd = o->ip;
		o->ip = old;               /* released by po_ready */
		return po_ready(o, 0) == POLL_READY;
	}
	case PO_STAT: {
		int64_t r = fs_stat(inner_slot(o), o->fs, o->ip, &o->st);
		o->stage = 1;
		if (r != IO_STARTED)
			return po_ready(o, r) == POLL_READY;
		o->running = true;
		return false;
	}
	default:
		return po_ready(o, -PX_EINVAL) == POLL_READY;
	}
}

static enum poll po_poll(struct future *fut, struct context *cx)
{
	struct path_op *o = (struct path_op *)fut;
	struct io_future *in = &o->inner.op.io;
	if (o->ready)
		return POLL_READY;
	for (;;) {
		in->cancelled = o->io.cancelled;
		enum poll pr = io_poll(in, cx);
		o->io.busy = in->busy;
		if (pr == POLL_PENDING)
			return POLL_PENDING;
		o->running = false;
		int64_t r = in->result;
		if (o->kind == PO_CHANGE)
			return po_ready(o, r);
		if (o->kind == PO_GETCWD) {
			if (o->io.cancelled)
				r = -PX_ECANCELED; /* the process may be gone */
			else if (r >= 0 && o->n < (uint64_t)r + 1)
				r = -PX_ERANGE;
			else if (r >= 0) {
				int e = copyout(o->vm, o->va, o->path, (size_t)r + 1);
				r = e ? e : r;
			}
			return po_ready(o, r);
		}
		if (o->stage == 1) {
			if (r == 0)
				r = copyout(o->vm, o->va, &o->st, sizeof(o->st));
			return po_ready(o, r);
		}
		if (r < 0)
			return po_ready(o, r);
		o->ip = fs_op_inode(inner_slot(o));
		if (o->io.cancelled)
			return po_ready(o, -PX_ECANCELED);
		if (po_opened(o))
			return POLL_READY;
		/* stat started: poll it */
	}
}

static void po_drop(struct future *fut)
{
	struct path_op *o = (struct path_op *)fut;
	if (o->running)
		io_drop(&o->inner.op.io);
	o->running = false;
	po_release(o);
}

static const struct future_vtable po_vtable = { po_poll, po_drop };

static struct path_op *po_init(union io_slot *slot, struct proc *p, enum po_kind kind)
{
	struct path_op *o = (struct path_op *)slot;
	memset(o, 0, sizeof(*o));
	io_future_init(&o->io, &po_vtable);
	o->kind = (uint8_t)kind;
	o->p = p;
	o->fs = fsys_fs();
	return o;
}

/* The inner future was started with result r: IO_STARTED, or the error. */
static int64_t po_started(struct path_op *o, int64_t r)
{
	if (r != IO_STARTED) {
		po_release(o);
		return r;
	}
	o->running = true;
	return IO_STARTED;
}

#define OPEN_FLAGS (PX_O_ACCMODE | PX_O_CREAT | PX_O_EXCL | PX_O_TRUNC | PX_O_APPEND | \
		    PX_O_DIRECTORY)

int64_t fsys_open(union io_slot *slot, struct proc *p, const char *path, int flags)
{
	struct fs *fs = fsys_fs();
	if ((flags & ~OPEN_FLAGS) || (flags & PX_O_ACCMODE) == PX_O_ACCMODE)
		return -PX_EINVAL;
	if (!fs)
		return flags & PX_O_CREAT ? -PX_EROFS : -PX_ENOENT;
	if (!proc_fd_room(p))
		return -PX_EMFILE;
	struct fs_inode *ip;
	int64_t r = fs_open_now(fs, p->cwd, path, flags, &ip);
	if (r == 0)
		r = install(fs, p, ip, flags);
	if (r != FS_WOULD_WAIT && r != IO_STARTED)
		return r;
	struct path_op *o = po_init(slot, p, PO_OPEN);
	if (r == IO_STARTED) {
		/* fd 1 reads as IO_STARTED: a future Ready at its first poll */
		o->ready = true;
		o->io.result = r;
		return IO_STARTED;
	}
	o->flags = flags;
	return po_started(o, fs_open(inner_slot(o), fs, p->cwd, path, flags));
}

int64_t fsys_stat(union io_slot *slot, struct proc *p, const char *path,
		  const struct vm_root *vm, uint64_t va)
{
	struct fs *fs = fsys_fs();
	if (!uaccess_ok(vm, va, sizeof(struct px_stat), VM_W))
		return -PX_EFAULT;
	if (!fs)
		return -PX_ENOENT;
	struct fs_inode *ip;
	int64_t r = fs_open_now(fs, p->cwd, path, PX_O_RDONLY, &ip);
	if (r != 0 && r != FS_WOULD_WAIT)
		return r;
	if (r == 0) {
		struct px_stat st;
		r = fs_stat_now(fs, ip, &st);
		fs_file_iput(fs, ip);
		if (r == 0)
			return copyout(vm, va, &st, sizeof(st));
	}
	struct path_op *o = po_init(slot, p, PO_STAT);
	o->vm = vm;
	o->va = va;
	return po_started(o, fs_open(inner_slot(o), fs, p->cwd, path, PX_O_RDONLY));
}

int64_t fsys_chdir(union io_slot *slot, struct proc *p, const char *path)
{
	struct fs *fs = fsys_fs();
	if (!fs)
		return -PX_ENOENT;
	struct path_op *o = po_init(slot, p, PO_CHDIR);
	return po_started(o, fs_open(inner_slot(o), fs, p->cwd, path,
				     PX_O_RDONLY | PX_O_DIRECTORY));
}

int64_t fsys_change(union io_slot *slot, struct proc *p, enum fsys_change what,
		    const char *path, const char *path2)
{
	struct fs *fs = fsys_fs();
	if (!fs)
		return -PX_EROFS;
	struct path_op *o = po_init(slot, p, PO_CHANGE);
	union io_slot *in = inner_slot(o);
	int64_t r;
	switch (what) {
	case FSYS_MKDIR: r = fs_mkdir(in, fs, p->cwd, path); break;
	case FSYS_RMDIR: r = fs_rmdir(in, fs, p->cwd, path); break;
	case FSYS_UNLINK: r = fs_unlink(in, fs, p->cwd, path); break;
	case FSYS_RENAME: r = fs_rename(in, fs, p->cwd, path, path2); break;
	case FSYS_LINK: r = fs_link(in, fs, p->cwd, path, path2); break;
	default: r = -PX_EINVAL; break;
	}
	return po_started(o, r);
}

int64_t fsys_getcwd_unmounted(struct proc *p, uint64_t va, uint64_t n)
{
	if (n < 2)
		return -PX_ERANGE;
	int err = copyout(p->vm, va, "/", 2);
	return err ? err : 1;
}

int64_t fsys_getcwd(union io_slot *slot, struct proc *p, uint64_t va, uint64_t n)
{
	struct fs *fs = fsys_fs();
	if (!fs)
		return -PX_ENODEV;
	struct path_op *o = po_init(slot, p, PO_GETCWD);
	o->vm = p->vm;
	o->va = va;
	o->n = n;
	o->path = kmalloc(PX_FS_PATH_MAX);
	if (!o->path)
		return -PX_ENOMEM;
	/* The root when p->cwd is NULL: our reference, released with o. */
	o->ip = p->cwd ? NULL : fs_root(fs);
	return po_started(o, fs_getpath(inner_slot(o), fs, p->cwd ? p->cwd : o->ip, o->path,
					 PX_FS_PATH_MAX));
}

int64_t fsys_statfs(struct proc *p, uint64_t va)
{
	struct fs *fs = fsys_fs();
	struct px_statfs st;
	if (!uaccess_ok(p->vm, va, sizeof(st), VM_W))
		return -PX_EFAULT;
	if (!fs)
		return -PX_ENODEV;
	fs_statfs(fs, &st);
	return copyout(p->vm, va, &st, sizeof(st));
}

/* ---- spawn from the disk ---------------------------------------------------------------*/

/* Programs up to this many pages (2 MiB): one page of page pointers. */
#define SPAWN_PAGES_MAX (PAGE_SIZE / sizeof(void *))

struct spawn_state {
	int argc, pgid;
	unsigned flags;
	bool bare;                          /* a name without '/': /bin/NAME */
	bool archive;                       /* ... and then the archive's NAME */
	char name[PX_PATH_MAX];             /* the bare name, or the path's last component */
	char *argv[PX_ARGV_MAX + 1];
	char strings[PX_ARG_MAX + PX_FS_PATH_MAX]; /* argv[0] may be the whole path */
	void **pages;                       /* the file, a page at a time */
	size_t size, npages;                /* bytes, pages in all */
	size_t have;                        /* pages allocated so far */
};
_Static_assert(sizeof(struct spawn_state) <= KMALLOC_MAX, "spawn state fits kmalloc");

struct spawn_op {
	struct io_future io;
	struct {
		struct fs_op op;
	} inner;
	bool running;
	uint8_t stage;           /* 0: open, 1: reading */
	struct fs *fs;
	struct proc *p;
	struct fs_inode *ip;
	struct spawn_state *s;
	size_t next;             /* the page being read */
};
IO_SLOT_FITS(struct spawn_op);

static void so_release(struct spawn_op *o)
{
	struct spawn_state *s = o->s;
	if (o->ip)
		fs_file_iput(o->fs, o->ip);
	o->ip = NULL;
	if (!s)
		return;
	if (s->pages) {
		for (size_t i = 0; i < s->have; i++)
			kpage_free(s->pages[i]);
		kpage_free(s->pages);
	}
	kfree(s, sizeof(*s));
	o->s = NULL;
}

static enum poll so_ready(struct spawn_op *o, int64_t r)
{
	so_release(o);
	o->io.result = r;
	return POLL_READY;
}

/* Start reading page o->next, or spawn once every page is in. */
static enum poll so_next(struct spawn_op *o)
{
	struct spawn_state *s = o->s;
	for (; o->next < s->npages; o->next++) {
		size_t off = o->next * PAGE_SIZE;
		size_t len = s->size - off < PAGE_SIZE ? s->size - off : PAGE_SIZE;
		void *pg = kpage_alloc();
		if (!pg)
			return so_ready(o, -PX_ENOMEM);
		s->pages[o->next] = pg;
		s->have = o->next + 1;
		int64_t r = fs_read((union io_slot *)(void *)&o->inner, o->fs, o->ip, NULL,
				    (uint64_t)(uintptr_t)pg, len, off);
		if (r == IO_STARTED) {
			o->running = true;
			return POLL_PENDING;
		}
		if (r != (int64_t)len)
			return so_ready(o, r < 0 ? r : -PX_EIO);
	}
	fs_file_iput(o->fs, o->ip);
	o->ip = NULL;
	int pid = proc_spawn_paged(o->p, s->name, (const void *const *)s->pages, s->size, s->argv,
				   s->argc, s->pgid, s->flags);
	return so_ready(o, pid);
}

static enum poll so_poll(struct future *fut, struct context *cx)
{
	struct spawn_op *o = (struct spawn_op *)fut;
	struct spawn_state *s = o->s;
	for (;;) {
		if (io_poll(&o->inner.op.io, cx) == POLL_PENDING)
			return POLL_PENDING;
		o->running = false;
		int64_t r = o->inner.op.io.result;
		if (o->io.cancelled)
			return so_ready(o, -PX_ECANCELED);
		if (o->stage == 0) {
			if (r == -PX_ENOENT && s->archive) {
				/* Not in /bin: the archive's program of that name. */
				int pid = proc_spawn_pg(o->p, s->name, s->argv, s->argc, s->pgid,
							s->flags);
				return so_ready(o, pid);
			}
			if (r < 0)
				return so_ready(o, r);
			o->ip = fs_op_inode((union io_slot *)(void *)&o->inner);
			s->size = fs_inode_size(o->ip);
			if (fs_inode_type(o->ip) != PX_S_REG || s->size == 0 ||
			    s->size > SPAWN_PAGES_MAX * PAGE_SIZE)
				return so_ready(o, -PX_ENOEXEC);
			s->pages = kpage_alloc();
			if (!s->pages)
				return so_ready(o, -PX_ENOMEM);
			s->npages = (s->size + PAGE_SIZE - 1) / PAGE_SIZE;
			o->stage = 1;
			o->next = 0;
		} else {
			size_t off = o->next * PAGE_SIZE;
			size_t len = s->size - off < PAGE_SIZE ? s->size - off : PAGE_SIZE;
			if (r != (int64_t)len)
				return so_ready(o, r < 0 ? r : -PX_EIO);
			o->next++;
		}
		if (so_next(o) == POLL_READY)
			return POLL_READY;
	}
}

static void so_drop(struct future *fut)
{
	struct spawn_op *o = (struct spawn_op *)fut;
	if (o->running)
		io_drop(&o->inner.op.io);
	o->running = false;
	so_release(o);
}

static const struct future_vtable so_vtable = { so_poll, so_drop };

int64_t fsys_spawn(union io_slot *slot, struct proc *p, const char *path,
		   char *const argv[], int argc, int pgid, unsigned flags)
{
	struct fs *fs = fsys_fs();
	if (!fs)
		return -PX_ENOENT;
	struct spawn_state *s = kmalloc(sizeof(*s));
	if (!s)
		return -PX_ENOMEM;
	size_t used = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (n > sizeof(s->strings) - used) {
			kfree(s, sizeof(*s));
			return -PX_E2BIG;
		}
		memcpy(s->strings + used, argv[i], n);
		s->argv[i] = s->strings + used;
		used += n;
	}
	s->argv[argc] = NULL;
	s->argc = argc;
	s->pgid = pgid;
	s->flags = flags;
	s->bare = strchr(path, '/') == NULL;
	s->archive = s->bare && strlen(path) < sizeof(s->name);
	const char *base = strrchr(path, '/');
	snprintf(s->name, sizeof(s->name), "%s", base ? base + 1 : path);

	struct spawn_op *o = (struct spawn_op *)slot;
	memset(o, 0, sizeof(*o));
	io_future_init(&o->io, &so_vtable);
	o->fs = fs;
	o->p = p;
	o->s = s;
	union io_slot *in = (union io_slot *)(void *)&o->inner;
	int64_t r;
	if (s->bare) {
		char bin[PX_FS_PATH_MAX + 8];
		snprintf(bin, sizeof(bin), "/bin/%s", path);
		r = fs_open(in, fs, NULL, bin, PX_O_RDONLY);
	} else {
		r = fs_open(in, fs, p->cwd, path, PX_O_RDONLY);
	}
	if (r != IO_STARTED) {
		so_release(o);
		return r;
	}
	o->running = true;
	return IO_STARTED;
}

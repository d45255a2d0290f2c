/* The mounted file system: the boot mount, each process's working directory, the path calls. */
#ifndef KERNEL_FSYS_H
#define KERNEL_FSYS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/io.h"

struct fs;
struct proc;
struct vm_root;

/*
 * At boot (kmain) fsys_boot spawns a kernel task that mounts the
 * virtio-blk disk as / (fs_mount: superblock checks, log recovery, the
 * orphan pass) and then calls `then` (the first process starts only
 * after the mount has ended, either way).  Without a disk, or with one
 * that does not mount, it says why in one line and programs come from the
 * kernel's archive: fsys_fs() stays NULL.
 *
 * The path calls (open, stat, mkdir, rmdir, unlink, rename, link, chdir)
 * start a future in the caller's slot, like file_start (kernel/file.h):
 * IO_STARTED, or the final result at once.  The syscalls (kernel/syscall.c)
 * and the ring (kernel/ring.c) poll the same futures.  Paths are kernel
 * strings copied from the program by the caller; the file system copies
 * them again when the operation starts, so they need not live on.  A
 * relative path starts at p's working directory (p->cwd; NULL: the root).
 *
 * Cancellation (kernel/io.h): a future here is busy while the file
 * system's operation inside it is (a change that holds room in the log);
 * the owner then sets `cancelled` and polls it to Ready.  A cancelled
 * open does not install its file (it drops the inode instead) and none
 * touches the process after `cancelled` is set: the process may be gone.
 */
void fsys_boot(void (*then)(void));
/* The mounted file system, or NULL. */
struct fs *fsys_fs(void);

/* open(path, flags): Ready with the new fd.  Checks the flags and that p
 * has a free fd (-PX_EMFILE) first. */
int64_t fsys_open(union io_slot *slot, struct proc *p, const char *path, int flags);
/* stat(path): the struct px_stat goes to (vm, va) once known. */
int64_t fsys_stat(union io_slot *slot, struct proc *p, const char *path,
		  const struct vm_root *vm, uint64_t va);
/* chdir(path): p's working directory; the syscall door only. */
int64_t fsys_chdir(union io_slot *slot, struct proc *p, const char *path);
/* mkdir, rmdir, unlink (path2 NULL), rename, link (from = path, to = path2). */
enum fsys_change { FSYS_MKDIR, FSYS_RMDIR, FSYS_UNLINK, FSYS_RENAME, FSYS_LINK };
int64_t fsys_change(union io_slot *slot, struct proc *p, enum fsys_change what,
		    const char *path, const char *path2);

/* getcwd with a file system mounted: the working directory's path
 * (fs_getpath) into (p->vm, va, n).  IO_STARTED (a length could not be
 * told from it), then Ready with the length, -PX_ERANGE (n too small for
 * it and its NUL), -PX_ENOENT (the directory was removed),
 * -PX_ENAMETOOLONG (the path, lengthened by renames above it, needs more
 * than PX_FS_PATH_MAX bytes); or an error at once (-PX_ENODEV: nothing
 * mounted).  fsys_getcwd_unmounted: "/" at once, when nothing is. */
int64_t fsys_getcwd(union io_slot *slot, struct proc *p, uint64_t va, uint64_t n);
int64_t fsys_getcwd_unmounted(struct proc *p, uint64_t va, uint64_t n);
/* statfs: 0, or -PX_ENODEV without a file system. */
int64_t fsys_statfs(struct proc *p, uint64_t va);

/* Working directories: a child gets a new reference to its parent's
 * (0 or -PX_ENOMEM); exit releases it. */
int fsys_cwd_inherit(struct proc *child, const struct proc *parent);
void fsys_cwd_release(struct proc *p);

/*
 * spawn(path) from the file system: a bare name (no '/') is /bin/NAME, any
 * other path is looked up from p's working directory.  Returns -PX_ENOENT
 * at once when there is no file system (the caller then uses the
 * archive).  Otherwise the future reads the program into kernel pages and
 * spawns it (proc_spawn_paged); a bare name that /bin lacks comes from the
 * archive.  Ready with the child's pid or an error.  argv (argc strings)
 * is copied.
 */
int64_t fsys_spawn(union io_slot *slot, struct proc *p, const char *path,
		   char *const argv[], int argc, int pgid, unsigned flags);

/* kernel/fs/fs_env_kernel.c: while the boot mount runs, a line the file
 * system says about refusing the disk ends with "; programs come from the
 * kernel's archive", and fs_env_kernel_said notes that one was said (so
 * the fallback is told in one line). */
extern bool fs_env_kernel_boot_mount;
extern bool fs_env_kernel_said;

#endif /* KERNEL_FSYS_H */

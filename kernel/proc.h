/* Processes: each one a kernel task whose future runs its user context until it traps. */
#ifndef KERNEL_PROC_H
#define KERNEL_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"
#include "executor/spin.h"
#include "executor/task.h"
#include "executor/timer.h"
#include "kernel/io.h"
#include "kernel/ring.h"
#include "lib/uapi/pollux.h"

#define NPROC 128     /* process-table slots (live and zombie) */
/*
 * Open files per process: fds 0..PROC_NFD_INLINE-1 live in struct proc;
 * the rest in chunks of PROC_FD_CHUNK slots, kmalloc'd (zeroed) the
 * first time an fd in them is handed out and kept until exit, found
 * through a directory of PROC_FD_CHUNKS chunk pointers made with the
 * first chunk (so a process that never goes past fd 15 carries one
 * pointer for it).  Neither moves, so a reader needs no lock (proc_fd).
 * PROC_NFD is the limit: the fd past it is EMFILE.  A process with 1,024
 * fds costs the directory and 16 chunks of 512 bytes (fds 16..1039: the
 * last chunk is used only up to the limit).
 */
#define PROC_NFD_INLINE 16
#define PROC_FD_CHUNK 64
#define PROC_NFD PX_NFD_MAX
#define PROC_FD_CHUNKS ((PROC_NFD - PROC_NFD_INLINE + PROC_FD_CHUNK - 1) / PROC_FD_CHUNK)

struct file;
struct fs_inode;

/* wait(): Ready with the pid of a reaped child (its status copied out
 * to status_va unless 0), or -PX_ECHILD. */
struct child_wait {
	struct io_future io;
	struct proc *p;
	int pid;                    /* a child's pid, or -1 for any */
	bool armed;                 /* `exited` is initialised */
	uint64_t status_va;
	struct notified exited;
};
void child_wait_init(struct child_wait *w, struct proc *p, int pid, uint64_t status_va);

/*
 * A syscall that must wait keeps its future here, and a pointer to it in
 * p->wait, while the process task returns Pending (kernel/syscall.c).
 * Only one can be in flight per process, so one union is enough.
 */
union sys_wait {
	union io_slot io;           /* read, write, pread, pwrite, fstat, fsync */
	struct io_sleep nap;        /* sleep */
	struct io_yield yield;      /* yield */
	struct child_wait child;    /* wait */
	struct ring_wait ring;      /* ring_enter: completions or the timeout */
};

/*
 * The process is the task's future (it is copied into a task-pool slot at
 * spawn and never moves), so a process costs one slot plus its
 * process-table entry; only a process that uses FP/SIMD (aarch64) has one
 * separate allocation, its FP save area, from its first FP/SIMD
 * instruction on (arch.h, "Lazy FP/SIMD state").  When it exits, its memory
 * and files are released at once and the task completes; the table entry
 * keeps the pid and exit status (a zombie) until the parent's wait().
 */
struct proc {
	struct future base;
	struct user_regs regs;      /* first after base: hot on every syscall */
	struct vm_root *vm;
	int pid;
	int sys;                    /* syscall in flight (SYS_*), or -1 */
	struct io_future *wait;     /* while sys >= 0: its future, in w */
	uint32_t killed;            /* PX_KILLED | reason, set by kill() or a fault */
	uint64_t brk, brk_base;     /* heap: [brk_base, brk) mapped by sbrk */
	struct file *fd_lo[PROC_NFD_INLINE];
	struct file ***fd_dir;      /* PROC_FD_CHUNKS chunks of the fds from
	                               PROC_NFD_INLINE on (or NULL), or NULL */
	/* The table changes in the process's own syscalls and in a ring
	 * OPENAT or ACCEPT (proc_fd_install); both take fd_lock.  Reads
	 * need no lock (proc_fd). */
	struct spin fd_lock;
	struct fs_inode *cwd;       /* working directory (a reference); NULL: the root */
	struct waker self;          /* our own waker, so kill() can wake us */
	struct ring *ring;          /* ring_setup's rings, or NULL */
	char name[16];
	union sys_wait w;
};

/* Once at boot, before any process exists. */
void proc_init(void);

/* Start the first process (`path` from the archive) with console fds;
 * `args` (may be NULL) is its argv[1..] separated by commas, modified. */
int proc_start_init(const char *path, char *args);

/* spawn: argv has argc strings already copied into the kernel.  Returns
 * the new pid or a negative error. */
int proc_spawn(struct proc *parent, const char *path, char *const argv[], int argc);
/* The same, into process group pgid (PX_PG_INHERIT, PX_PG_NEW or an
 * existing group: else -PX_ESRCH) with PX_SPAWN_* flags.  The caller has
 * checked the flags (PX_SPAWN_FG: that its fd 0 is the console). */
int proc_spawn_pg(struct proc *parent, const char *path, char *const argv[], int argc,
		  int pgid, unsigned flags);

/* The same with the program read from the disk: image byte i is
 * pages[i / PAGE_SIZE][i % PAGE_SIZE]; `name` is its path (the process
 * is named after its last component). */
int proc_spawn_paged(struct proc *parent, const char *name, const void *const *pages,
		     size_t size, char *const argv[], int argc, int pgid, unsigned flags);

/* The file at fd, or NULL (closed, or fd out of range).  No lock. */
static inline struct file *proc_fd(struct proc *p, uint64_t fd)
{
	if (fd < PROC_NFD_INLINE)
		return __atomic_load_n(&p->fd_lo[fd], __ATOMIC_ACQUIRE);
	if (fd >= PROC_NFD)
		return NULL;
	fd -= PROC_NFD_INLINE;
	struct file ***dir = __atomic_load_n(&p->fd_dir, __ATOMIC_ACQUIRE);
	struct file **c = dir ? __atomic_load_n(&dir[fd / PROC_FD_CHUNK], __ATOMIC_ACQUIRE) : NULL;
	return c ? __atomic_load_n(&c[fd % PROC_FD_CHUNK], __ATOMIC_ACQUIRE) : NULL;
}

/* fd, or if its chunk was never made the first fd of the next chunk
 * that was (PROC_NFD if none): loops over a table visit only the fds
 * that can be open.  No lock. */
static inline uint64_t proc_fd_skip(struct proc *p, uint64_t fd)
{
	struct file ***dir = __atomic_load_n(&p->fd_dir, __ATOMIC_ACQUIRE);
	if (fd >= PROC_NFD_INLINE && !dir)
		return PROC_NFD;
	while (fd >= PROC_NFD_INLINE && fd < PROC_NFD &&
	       !__atomic_load_n(&dir[(fd - PROC_NFD_INLINE) / PROC_FD_CHUNK], __ATOMIC_ACQUIRE))
		fd = PROC_NFD_INLINE + ((fd - PROC_NFD_INLINE) / PROC_FD_CHUNK + 1) * PROC_FD_CHUNK;
	return fd < PROC_NFD ? fd : PROC_NFD;
}

/* With p->fd_lock held (or before the process runs): fd's slot, its
 * chunk made if need be; NULL if fd >= PROC_NFD or memory ran out. */
struct file **proc_fd_slot(struct proc *p, uint64_t fd);
/* With p->fd_lock held: the lowest free fd from `from` on, its chunk
 * made; -PX_EMFILE when all up to PROC_NFD are taken, -PX_ENOMEM. */
int proc_fd_alloc(struct proc *p, int from);
/* Whether an fd is free now (a hint: an OPENAT may take it meanwhile). */
bool proc_fd_room(struct proc *p);

/* Put f at p's lowest free fd (under fd_lock); the fd, or -PX_EMFILE /
 * -PX_ENOMEM (f is still the caller's then). */
int proc_fd_install(struct proc *p, struct file *f);

/* close(fd): 0 or -PX_EBADF (the process's syscalls and the ring's CLOSE). */
int64_t proc_fd_close(struct proc *p, uint64_t fd);

/* spawn without a parent (the first process, in-kernel tests): the
 * child's descriptors are new references to files[0..PROC_NFD_INLINE)
 * (NULL: closed).  Its exit status is not kept (no one can wait for it). */
int proc_spawn_files(const char *path, char *const argv[], int argc,
		     struct file *const files[PROC_NFD_INLINE]);

/* Kernel memory a process costs, excluding page tables: its task slot and
 * its table entry. */
uint64_t proc_kernel_bytes(void);
/* What a process that has used FP/SIMD costs on top: its FP save area,
 * from a kcache of its own (0 where user code has no FP state). */
uint64_t proc_kernel_fp_bytes(void);

/* Live processes now (for tests and Ctrl-T). */
unsigned proc_count(void);

/* First FP/SIMD uses since boot: processes that got an FP save area
 * (SYS_kstat PX_KSTAT_FP_TRAPS). */
uint64_t proc_fp_traps(void);

/* Syscall layer (kernel/syscall.c). */
enum sys_result { SYS_DONE, SYS_WAIT, SYS_EXITED };
enum sys_result syscall_start(struct proc *p, struct context *cx);
enum sys_result syscall_resume(struct proc *p, struct context *cx);
/* The process is killed while a syscall waits: drop its future, or, if
 * it is busy (kernel/io.h), mark it cancelled and poll it to Ready.
 * SYS_WAIT while it is still running, SYS_DONE once nothing is left. */
enum sys_result syscall_cancel(struct proc *p, struct context *cx);
/* Executor shutdown: drop the future unless it is busy (then leak it). */
void syscall_drop(struct proc *p);

/* For syscall.c: the process side of exit/wait/kill. */
void proc_exit(struct proc *p, int status);   /* releases everything */
/* kill(pid) on behalf of killer (NULL: the kernel): 0, -PX_ESRCH for no
 * live process, -PX_EPERM for the first process or one of killer's
 * ancestors, which no program may kill. */
int proc_kill(struct proc *killer, int pid);
/* kill(-pgid): every live member of the group killer may kill; how many,
 * -PX_EPERM if every member is protected, -PX_ESRCH if there is none. */
int proc_kill_group_by(struct proc *killer, int pgid);
/* Process groups (docs/kernel.md, "Ctrl-C"): kill every live process of
 * group pgid with PX_KILLED | reason; how many, or -PX_ESRCH for none. */
int proc_kill_group(int pgid, int reason);
/* Whether some process (live or a zombie) is in group pgid. */
bool proc_group_exists(int pgid);
/* The group of process pid (0: p itself), or -PX_ESRCH. */
int proc_getpgid(struct proc *p, int pid);
/* Processes started since boot (SYS_kstat PX_KSTAT_SPAWNS). */
uint64_t proc_spawns(void);
/* Reap a finished child (pid, or any child for -1: the one that exited
 * first, so wait(-1) returns children in the order they ended): its pid,
 * with *status filled; 0 if matching children exist but none has finished (then wait
 * on proc_child_exited); -PX_ECHILD if there is no such child. */
int proc_reap(struct proc *p, int pid, int *status);
extern struct notify proc_child_exited;

/* "killed", "memory fault", ... for a PX_WAS_KILLED status. */
const char *proc_kill_name(int status);

#endif /* KERNEL_PROC_H */

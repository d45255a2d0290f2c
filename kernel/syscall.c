/* Syscalls: decode, validate every argument, and run waiting ones as futures. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/archive.h"
#include "kernel/console.h"
#include "kernel/file.h"
#include "kernel/fs/fs_file.h"
#include "kernel/fsys.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"
#include "kernel/net/net_kernel.h"
#include "kernel/net/tcp_sock.h"
#include "kernel/net/udp_sock.h"
#include "kernel/pipe.h"
#include "kernel/proc.h"
#include "kernel/trace.h"
#include "kernel/uaccess.h"
#include "kernel/virtio_net.h"

/*
 * syscall_start runs right after the program trapped.  A call that can
 * finish now sets its result and returns SYS_DONE, and the process task
 * re-enters user mode at once.  A call that must wait starts a future
 * (struct io_future, kernel/io.h) in p->w and hands it to wait_on: the
 * process task then returns Pending, and each later poll calls
 * syscall_resume, which polls that future until it is Ready; a kill
 * meanwhile calls syscall_cancel, which drops it, or, when the future is
 * busy (a change to the disk that holds room in the log: kernel/io.h),
 * marks it cancelled and goes on polling it until it is Ready, with the
 * process kept alive until then.  Neither knows what the future is: a
 * read of a pipe, a sleep, a wait for a child or a rename all look the
 * same from here.
 */

static enum sys_result done(struct proc *p, int64_t value)
{
	KTR(PX_TR_SYS_EXIT, p->pid, arch_syscall_nr(&p->regs), value);
	arch_syscall_return(&p->regs, value);
	p->sys = -1;
	return SYS_DONE;
}

/* Wait for the future f (in p->w) as syscall nr. */
static enum sys_result wait_on(struct proc *p, struct context *cx, int nr, struct io_future *f)
{
	p->sys = nr;
	p->wait = f;
	return syscall_resume(p, cx);
}

enum sys_result syscall_resume(struct proc *p, struct context *cx)
{
	if (io_poll(p->wait, cx) == POLL_PENDING)
		return SYS_WAIT;
	return done(p, p->wait->result);
}

enum sys_result syscall_cancel(struct proc *p, struct context *cx)
{
	if (p->sys < 0)
		return SYS_DONE;
	if (p->wait->busy || p->wait->cancelled) {
		p->wait->cancelled = true;
		if (io_poll(p->wait, cx) == POLL_PENDING)
			return SYS_WAIT;
	} else {
		io_drop(p->wait);
	}
	p->sys = -1;
	return SYS_DONE;
}

void syscall_drop(struct proc *p)
{
	if (p->sys >= 0 && !p->wait->busy)
		io_drop(p->wait);
	p->sys = -1;
}

static struct file *fd_file(struct proc *p, uint64_t fd)
{
	return proc_fd(p, fd);
}

/* The lowest free fd from `from` on, its slot made; the caller holds
 * p->fd_lock (a ring OPENAT or ACCEPT may install a file meanwhile). */
static int fd_alloc(struct proc *p, int from)
{
	return proc_fd_alloc(p, from);
}

static void fd_set(struct proc *p, int fd, struct file *f)
{
	__atomic_store_n(proc_fd_slot(p, (uint64_t)fd), f, __ATOMIC_RELEASE);
}

/* ---- file operations ----------------------------------------------------------
 * read, write, pread, pwrite, fstat and fsync are one path: the file's
 * kind starts a future (kernel/file.h), and we wait for it like any other.
 * The process's fd table changes only in its own syscalls, and it has one
 * in flight, so the file outlives the operation without a reference of
 * its own. */

static enum sys_result sys_file_op(struct proc *p, struct context *cx, int nr, enum io_op op,
				   uint64_t fd, uint64_t va, uint64_t len, uint64_t off)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return done(p, -PX_EBADF);
	struct io_req rq = { .file = f, .vm = p->vm, .va = va, .len = len, .off = off };
	int64_t r = file_start(op, &rq, &p->w.io);
	if (r != IO_STARTED)
		return done(p, r);
	return wait_on(p, cx, nr, &p->w.io.f);
}

/* pread/pwrite: an offset, never "the file position" (that is read/write). */
static enum sys_result sys_file_at(struct proc *p, struct context *cx, int nr, enum io_op op,
				   uint64_t fd, uint64_t va, uint64_t len, uint64_t off)
{
	if (!fd_file(p, fd))
		return done(p, -PX_EBADF);
	if (off > INT64_MAX)
		return done(p, -PX_EINVAL);
	return sys_file_op(p, cx, nr, op, fd, va, len, off);
}

/* ---- descriptors -------------------------------------------------------------*/

static int64_t sys_pipe(struct proc *p, uint64_t fds_va)
{
	struct file *rd, *wr;
	int fds[2];
	if (!uaccess_ok(p->vm, fds_va, sizeof(fds), VM_W))
		return -PX_EFAULT;
	int err = pipe_files(&rd, &wr);
	if (err)
		return err;
	unsigned long fl = spin_lock(&p->fd_lock);
	fds[0] = fd_alloc(p, 0);
	fds[1] = fds[0] < 0 ? fds[0] : fd_alloc(p, fds[0] + 1);
	if (fds[1] >= 0) {
		fd_set(p, fds[0], rd);
		fd_set(p, fds[1], wr);
	}
	spin_unlock(&p->fd_lock, fl);
	if (fds[1] < 0) {
		file_put(rd);
		file_put(wr);
		return fds[1];
	}
	copyout(p->vm, fds_va, fds, sizeof(fds)); /* checked above */
	return 0;
}


static int64_t sys_dup(struct proc *p, uint64_t fd)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return -PX_EBADF;
	unsigned long fl = spin_lock(&p->fd_lock);
	int nfd = fd_alloc(p, 0);
	if (nfd >= 0)
		fd_set(p, nfd, file_dup(f));
	spin_unlock(&p->fd_lock, fl);
	return nfd;
}

/* dup2: newfd names fd's file; what newfd named before is closed. */
static int64_t sys_dup2(struct proc *p, uint64_t fd, uint64_t newfd)
{
	struct file *f = fd_file(p, fd);
	if (!f || newfd >= PROC_NFD)
		return -PX_EBADF;
	if (newfd == fd)
		return (int64_t)newfd;
	unsigned long fl = spin_lock(&p->fd_lock);
	struct file **slot = proc_fd_slot(p, newfd);
	struct file *old = slot ? *slot : NULL;
	if (slot)
		__atomic_store_n(slot, file_dup(f), __ATOMIC_RELEASE);
	spin_unlock(&p->fd_lock, fl);
	if (!slot)
		return -PX_ENOMEM;
	file_put(old);
	return (int64_t)newfd;
}

/* lseek: any seekable file; SEEK_END needs the size (files of the disk). */
static int64_t sys_lseek(struct proc *p, uint64_t fd, int64_t off, uint64_t whence)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return -PX_EBADF;
	if (!f->ops->seekable)
		return -PX_ESPIPE;
	int64_t base;
	switch (whence) {
	case PX_SEEK_SET: base = 0; break;
	case PX_SEEK_CUR: base = (int64_t)atomic_load(&f->pos); break;
	case PX_SEEK_END: base = fs_file_size(f); break;
	default: return -PX_EINVAL;
	}
	if (base < 0)
		return base;
	if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
		return -PX_EINVAL;
	atomic_store(&f->pos, (uint64_t)(base + off));
	return base + off;
}

/* ---- the file system (kernel/fsys.c) ------------------------------------------
 * A path is copied from the program here; the file system copies it again
 * when the operation starts, so it lives on this stack only. */

static int64_t copy_path(struct proc *p, char *path, uint64_t va)
{
	int n = copyinstr(p->vm, path, va, PX_FS_PATH_MAX);
	if (n == -PX_E2BIG)
		return -PX_ENAMETOOLONG;
	return n < 0 ? n : 0;
}

static enum sys_result started(struct proc *p, struct context *cx, int nr, int64_t r)
{
	if (r != IO_STARTED)
		return done(p, r);
	return wait_on(p, cx, nr, &p->w.io.f);
}

static enum sys_result sys_path(struct proc *p, struct context *cx, int nr, uint64_t va,
				uint64_t a1)
{
	char path[PX_FS_PATH_MAX];
	int64_t err = copy_path(p, path, va);
	if (err)
		return done(p, err);
	switch (nr) {
	case SYS_open:
		return started(p, cx, nr, fsys_open(&p->w.io, p, path, (int)a1));
	case SYS_stat:
		return started(p, cx, nr, fsys_stat(&p->w.io, p, path, p->vm, a1));
	case SYS_chdir:
		return started(p, cx, nr, fsys_chdir(&p->w.io, p, path));
	case SYS_mkdir:
		return started(p, cx, nr, fsys_change(&p->w.io, p, FSYS_MKDIR, path, NULL));
	case SYS_rmdir:
		return started(p, cx, nr, fsys_change(&p->w.io, p, FSYS_RMDIR, path, NULL));
	default:
		return started(p, cx, nr, fsys_change(&p->w.io, p, FSYS_UNLINK, path, NULL));
	}
}

static enum sys_result sys_path2(struct proc *p, struct context *cx, int nr, uint64_t from_va,
				 uint64_t to_va)
{
	char from[PX_FS_PATH_MAX], to[PX_FS_PATH_MAX];
	int64_t err = copy_path(p, from, from_va);
	if (!err)
		err = copy_path(p, to, to_va);
	if (err)
		return done(p, err);
	return started(p, cx, nr, fsys_change(&p->w.io, p, nr == SYS_rename ? FSYS_RENAME : FSYS_LINK,
						from, to));
}

static enum sys_result sys_getdents(struct proc *p, struct context *cx, uint64_t fd,
				    uint64_t va, uint64_t len)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return done(p, -PX_EBADF);
	if (len > 0 && !uaccess_ok(p->vm, va, len, VM_W))
		return done(p, -PX_EFAULT);
	struct io_req rq = { .file = f, .vm = p->vm, .va = va, .len = len, .off = PX_OFF_CUR };
	return started(p, cx, SYS_getdents, fs_file_getdents(&rq, &p->w.io));
}

static enum sys_result sys_ftruncate(struct proc *p, struct context *cx, uint64_t fd,
				     uint64_t size)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return done(p, -PX_EBADF);
	struct io_req rq = { .file = f, .vm = p->vm, .off = size };
	return started(p, cx, SYS_ftruncate, fs_file_truncate(&rq, &p->w.io));
}

/* ---- memory -----------------------------------------------------------------*/

static uint64_t page_up(uint64_t a)
{
	return (a + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

/* The heap grows from the end of the program up to the ring area. */
static int64_t sys_sbrk(struct proc *p, int64_t incr)
{
	uint64_t old = p->brk, new = old + (uint64_t)incr;
	if ((incr > 0 && (new < old || new > PX_RING_BASE)) ||
	    (incr < 0 && (new > old || new < p->brk_base)))
		return -PX_ENOMEM;
	if (incr > 0) {
		for (uint64_t va = page_up(old); va < page_up(new); va += PAGE_SIZE) {
			void *pg = kpage_alloc();
			if (!pg || arch_vm_map(p->vm, va, (uintptr_t)pg, VM_R | VM_W | VM_U)) {
				kpage_free(pg);
				/* Undo this call's pages: all or nothing.  A ring
				 * operation may have found one already. */
				for (uint64_t u = page_up(old); u < va; u += PAGE_SIZE) {
					uint64_t pa = arch_vm_unmap(p->vm, u);
					uaccess_quiesce(p->vm);
					kpage_free((void *)(uintptr_t)pa);
				}
				return -PX_ENOMEM;
			}
		}
	} else {
		for (uint64_t va = page_up(new); va < page_up(old); va += PAGE_SIZE) {
			uint64_t pa = arch_vm_unmap(p->vm, va);
			if (pa) {
				/* A ring operation or a pipe peer on another
				 * hart may be copying to this page right now. */
				uaccess_quiesce(p->vm);
				kpage_free((void *)(uintptr_t)pa);
			}
		}
	}
	p->brk = new;
	return (int64_t)old;
}

/* ---- process groups and the console's foreground (docs/user.md) --------------*/

/* Whether p's fd 0 is the console: only a program reading the console
 * may say who Ctrl-C interrupts (as tcsetpgrp wants a terminal). */
static bool stdin_is_console(struct proc *p)
{
	struct file *f = proc_fd(p, 0);
	return f && f->ops->terminal;
}

/* A pgid argument: PX_PG_NEW (when `allow_new`), 0, or a group that
 * exists.  0 if fine, else the error. */
static int64_t check_pgid(int64_t pgid, bool allow_new)
{
	if (pgid == PX_PG_NEW && allow_new)
		return 0;
	if (pgid < 0 || pgid > INT32_MAX)
		return -PX_EINVAL;
	return pgid == 0 || proc_group_exists((int)pgid) ? 0 : -PX_ESRCH;
}

static int64_t sys_setfg(struct proc *p, int64_t pgid)
{
	int64_t err = check_pgid(pgid, false);
	if (err)
		return err;
	if (!stdin_is_console(p))
		return -PX_ENOTTY;
	return console_set_foreground((int)pgid);
}

/* kill(pid) or kill(-pgid); 0 and -1 (POSIX: own group, everyone) are not
 * offered. */
static int64_t sys_kill(struct proc *p, int64_t pid)
{
	if (pid > 0 && pid <= INT32_MAX)
		return proc_kill(p, (int)pid);
	if (pid < -1 && pid >= -(int64_t)INT32_MAX) {
		int n = proc_kill_group_by(p, (int)-pid);
		return n < 0 ? n : 0;
	}
	return -PX_ESRCH;
}

/* ---- processes ----------------------------------------------------------------*/

/* spawn(path): from the file system when one is mounted (kernel/fsys.c:
 * a future that reads the program), else from the archive at once. */
static enum sys_result sys_spawn(struct proc *p, struct context *cx, int nr, uint64_t path_va,
				 uint64_t argv_va, int64_t pgid, uint64_t flags)
{
	char path[PX_FS_PATH_MAX], strings[PX_ARG_MAX];
	char *argv[PX_ARGV_MAX + 1]; /* PX_ARGV_MAX arguments and a NULL */
	size_t used = 0;
	int argc = 0, n;

	/* Every argument is checked before anything happens.  A group that
	 * exists now may be gone when proc_spawn_pg looks again: it then
	 * says -PX_ESRCH itself. */
	int64_t err = check_pgid(pgid, true);
	if (err)
		return done(p, err);
	if (flags & ~(uint64_t)(PX_SPAWN_FG | PX_SPAWN_STDIO))
		return done(p, -PX_EINVAL);
	if ((flags & PX_SPAWN_FG) && !stdin_is_console(p))
		return done(p, -PX_ENOTTY);
	n = copyinstr(p->vm, path, path_va, sizeof(path));
	if (n < 0)
		return done(p, n == -PX_E2BIG ? -PX_ENOENT : n);
	if (!argv_va) {
		argv[argc++] = path;
	} else {
		for (;; argc++) {
			uint64_t ptr;
			if (copyin(p->vm, &ptr, argv_va + (uint64_t)argc * 8, 8))
				return done(p, -PX_EFAULT);
			if (!ptr)
				break;
			if (argc == PX_ARGV_MAX)
				return done(p, -PX_E2BIG);
			n = copyinstr(p->vm, strings + used, ptr, sizeof(strings) - used);
			if (n < 0)
				return done(p, n);
			argv[argc] = strings + used;
			used += (size_t)n + 1;
		}
		if (argc == 0)
			argv[argc++] = path;
	}
	argv[argc] = NULL;
	int64_t r = fsys_spawn(&p->w.io, p, path, argv, argc, (int)pgid, (unsigned)flags);
	if (r == -PX_ENOENT && !fsys_fs())
		return done(p, proc_spawn_pg(p, path, argv, argc, (int)pgid, (unsigned)flags));
	return started(p, cx, nr, r);
}

static enum sys_result sys_wait(struct proc *p, struct context *cx, int64_t pid,
				uint64_t status_va)
{
	if (pid != -1 && pid <= 0)
		return done(p, -PX_EINVAL);
	if (pid > INT32_MAX)
		return done(p, -PX_ECHILD); /* no such pid; never truncate to one */
	/* Check before reaping: a status must never be collected and lost. */
	if (status_va && !uaccess_ok(p->vm, status_va, sizeof(int), VM_W))
		return done(p, -PX_EFAULT);
	child_wait_init(&p->w.child, p, (int)pid, status_va);
	return wait_on(p, cx, SYS_wait, &p->w.child.io);
}

/* ---- time -----------------------------------------------------------------------*/

/* sleep(ms): a future on the kernel's timer wheel (kernel/io.h), in p->w.nap. */
static enum sys_result sys_sleep(struct proc *p, struct context *cx, uint64_t ms)
{
	/* LAB 6 BEGIN */
	if (ms > UINT64_MAX / 2000000)
		return done(p, -PX_EINVAL);
	io_sleep_init(&p->w.nap, ms * 1000000, 0);
	return wait_on(p, cx, SYS_sleep, &p->w.nap.io);
	/* LAB 6 STUB
	// LAB 6: start a sleep on the timer wheel and wait for it without
	// holding the hart (docs/labs/lab6.md).  Until then: an error at once.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 6: implement sys_sleep (kernel/syscall.c) and io_sleep (kernel/io.c)\n");
	}
	(void)cx;
	(void)ms;
	(void)wait_on;
	return done(p, -PX_ENOSYS);
	   LAB 6 END */
}

static int64_t sys_clock_gettime(struct proc *p, uint64_t clock, uint64_t ts_va)
{
	uint64_t ns = ktimer_now_ns();
	struct px_timespec ts = { (long long)(ns / 1000000000), (long long)(ns % 1000000000) };
	if (clock != CLOCK_MONOTONIC_ID)
		return -PX_EINVAL;
	return copyout(p->vm, ts_va, &ts, sizeof(ts));
}

static int64_t sys_progs(struct proc *p, uint64_t index, uint64_t name_va, uint64_t n)
{
	const char *name;
	size_t size;
	if (archive_entry((unsigned)index, &name, &size) != 0 || index > UINT32_MAX)
		return -PX_ENOENT;
	size_t len = strlen(name) + 1;
	if (len > n)
		return -PX_ERANGE;
	int err = copyout(p->vm, name_va, name, len);
	return err ? err : (int64_t)size;
}

static int64_t sys_kstat(uint64_t which)
{
	switch (which) {
	case PX_KSTAT_FP_TRAPS:
		return (int64_t)proc_fp_traps();
	case PX_KSTAT_SPAWNS:
		return (int64_t)proc_spawns();
	case PX_KSTAT_CTRLC:
		return (int64_t)console_stats.intr;
	case PX_KSTAT_CTRLC_NS:
		return (int64_t)__atomic_load_n(&console_stats.intr_ns, __ATOMIC_RELAXED);
	case PX_KSTAT_CTRLC_BACK_NS:
		return (int64_t)__atomic_load_n(&console_stats.intr_back_ns, __ATOMIC_RELAXED);
	case PX_KSTAT_IDLE_NS:
		return (int64_t)ktask_idle_ns();
	case PX_KSTAT_NET_RX_DROPPED:
		return (int64_t)__atomic_load_n(&vnet_stats.rx_inj_dropped, __ATOMIC_RELAXED);
	case PX_KSTAT_NET_RX_DUPLICATED:
		return (int64_t)__atomic_load_n(&vnet_stats.rx_inj_duplicated, __ATOMIC_RELAXED);
	case PX_KSTAT_NET_RX_REORDERED:
		return (int64_t)__atomic_load_n(&vnet_stats.rx_inj_reordered, __ATOMIC_RELAXED);
	case PX_KSTAT_NET_TX_DROPPED:
		return (int64_t)__atomic_load_n(&vnet_stats.tx_inj_dropped, __ATOMIC_RELAXED);
	case PX_KSTAT_NET_TX_DUPLICATED:
		return (int64_t)__atomic_load_n(&vnet_stats.tx_inj_duplicated, __ATOMIC_RELAXED);
	case PX_KSTAT_NET_TX_REORDERED:
		return (int64_t)__atomic_load_n(&vnet_stats.tx_inj_reordered, __ATOMIC_RELAXED);
	case PX_KSTAT_TCP_CONNS:
		return netk_up() ? (int64_t)tcp_sock_conns_alive() : 0;
	case PX_KSTAT_SOCK_FILES:
		return (int64_t)tcp_sock_files();
	case PX_KSTAT_WFI_INSTRET:
		return (int64_t)arch_wfi_instret();
	case PX_KSTAT_TIMER_HZ:
		return (int64_t)arch_timer_freq();
	case PX_KSTAT_PAGES_FREE: {
		struct kalloc_stats st;
		kalloc_stats(&st);
		return (int64_t)st.pages_free;
	}
	case PX_KSTAT_TCP_RETRANSMITS:
	case PX_KSTAT_TCP_FAST_RETRANSMITS:
		return netk_up() ? (int64_t)tcp_sock_retransmits(which ==
								 PX_KSTAT_TCP_FAST_RETRANSMITS) : 0;
	default:
		return -PX_EINVAL;
	}
}

/* ---- async rings (kernel/ring.c) -------------------------------------------------*/

static enum sys_result sys_ring_enter(struct proc *p, struct context *cx, uint64_t to_submit,
				      uint64_t min_complete, uint64_t timeout_ns)
{
	uint32_t ready = 0;
	int64_t n = ring_submit(p, to_submit, &ready);
	if (n < 0 || ready >= (uint32_t)min_complete || timeout_ns == 0)
		return done(p, n);
	ring_wait_init(&p->w.ring, p, (uint32_t)min_complete, timeout_ns, n);
	return wait_on(p, cx, SYS_ring_enter, &p->w.ring.io);
}

/* ---- dispatch ---------------------------------------------------------------------*/

/* ---- sockets (kernel/net/udp_sock.c, kernel/net/tcp_sock.c) ---------------*/

static int64_t sys_socket(struct proc *p, uint64_t domain, uint64_t type, uint64_t proto)
{
	if (domain != PX_AF_INET)
		return -PX_EAFNOSUPPORT;
	bool tcp = type == PX_SOCK_STREAM;
	if (tcp ? proto != 0 && proto != PX_IPPROTO_TCP
		: type != PX_SOCK_DGRAM ||
			  (proto != 0 && proto != PX_IPPROTO_UDP && proto != PX_IPPROTO_ICMP))
		return -PX_EPROTONOSUPPORT;
	int err;
	struct file *f = tcp ? tcp_sock_open(&err)
			     : udp_sock_open(proto == PX_IPPROTO_ICMP ? PX_IPPROTO_ICMP
								      : PX_IPPROTO_UDP, &err);
	if (!f)
		return err;
	int fd = proc_fd_install(p, f);
	if (fd < 0)
		file_put(f);
	return fd;
}

/* The socket fd names, or an error for the caller to return. */
static int64_t sock_file(struct proc *p, uint64_t fd, struct file **out)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return -PX_EBADF;
	if (!udp_sock_is(f) && !tcp_sock_is(f))
		return -PX_ENOTSOCK;
	*out = f;
	return 0;
}

/* The TCP socket fd names: UDP ones get -PX_EOPNOTSUPP. */
static int64_t tcp_file(struct proc *p, uint64_t fd, struct file **out)
{
	int64_t r = sock_file(p, fd, out);
	return r ? r : tcp_sock_is(*out) ? 0 : -PX_EOPNOTSUPP;
}

static int64_t get_addr(struct proc *p, uint64_t va, struct px_sockaddr_in *a)
{
	if (copyin(p->vm, a, va, sizeof(*a)) != 0)
		return -PX_EFAULT;
	return a->family == PX_AF_INET ? 0 : -PX_EAFNOSUPPORT;
}

static int64_t sys_bind(struct proc *p, uint64_t fd, uint64_t addr_va)
{
	struct file *f;
	struct px_sockaddr_in a;
	int64_t r = sock_file(p, fd, &f);
	if (r == 0)
		r = get_addr(p, addr_va, &a);
	if (r)
		return r;
	return tcp_sock_is(f) ? tcp_sock_bind(f, a.port) : udp_sock_bind(f, a.port);
}

static enum sys_result sys_sendto(struct proc *p, struct context *cx, uint64_t fd, uint64_t va,
				  uint64_t n, uint64_t to_va)
{
	struct file *f;
	struct px_sockaddr_in a;
	int64_t r = sock_file(p, fd, &f);
	if (r == 0 && tcp_sock_is(f))
		r = to_va ? -PX_EINVAL : tcp_sock_send(f, p->vm, va, n, &p->w.io);
	else if (r == 0 && (r = get_addr(p, to_va, &a)) == 0)
		r = udp_sock_sendto(f, p->vm, va, n, a.addr, a.port, &p->w.io);
	return started(p, cx, SYS_sendto, r);
}

static enum sys_result sys_recvfrom(struct proc *p, struct context *cx, uint64_t fd, uint64_t va,
				    uint64_t n, uint64_t from_va)
{
	struct file *f;
	int64_t r = sock_file(p, fd, &f);
	/* Checked whole before anything is taken off the queue. */
	if (r == 0 && (!uaccess_ok(p->vm, va, n, VM_W) ||
		       (from_va && !uaccess_ok(p->vm, from_va, sizeof(struct px_sockaddr_in),
					       VM_W))))
		r = -PX_EFAULT;
	if (r == 0 && tcp_sock_is(f))
		r = n == 0 ? 0 : tcp_sock_recv(f, p->vm, va, n, from_va, &p->w.io);
	else if (r == 0)
		r = udp_sock_recvfrom(f, p->vm, va, n, from_va, &p->w.io);
	return started(p, cx, SYS_recvfrom, r);
}

static int64_t sys_listen(struct proc *p, uint64_t fd, uint64_t backlog)
{
	struct file *f;
	int64_t r = tcp_file(p, fd, &f);
	return r ? r : tcp_sock_listen(f, (uint32_t)backlog);
}

static enum sys_result sys_accept(struct proc *p, struct context *cx, uint64_t fd,
				  uint64_t addr_va)
{
	struct file *f;
	int64_t r = tcp_file(p, fd, &f);
	if (r == 0)
		r = tcp_sock_accept(f, p, addr_va, &p->w.io);
	return started(p, cx, SYS_accept, r);
}

static enum sys_result sys_connect(struct proc *p, struct context *cx, uint64_t fd,
				   uint64_t addr_va)
{
	struct file *f;
	struct px_sockaddr_in a;
	int64_t r = tcp_file(p, fd, &f);
	if (r == 0)
		r = get_addr(p, addr_va, &a);
	if (r == 0)
		r = tcp_sock_connect(f, a.addr, a.port, &p->w.io);
	return started(p, cx, SYS_connect, r);
}

static int64_t sys_shutdown(struct proc *p, uint64_t fd, uint64_t how)
{
	struct file *f;
	int64_t r = tcp_file(p, fd, &f);
	return r ? r : tcp_sock_shutdown(f, how);
}

static int64_t sys_sockname(struct proc *p, uint64_t fd, uint64_t addr_va, bool peer)
{
	struct file *f;
	struct px_sockaddr_in a;
	int64_t r = tcp_file(p, fd, &f);
	if (r == 0)
		r = tcp_sock_name(f, peer, &a);
	return r ? r : copyout(p->vm, addr_va, &a, sizeof(a));
}

enum sys_result syscall_start(struct proc *p, struct context *cx)
{
	const struct user_regs *u = &p->regs;
	uint64_t a0 = arch_syscall_arg(u, 0), a1 = arch_syscall_arg(u, 1);
	uint64_t a2 = arch_syscall_arg(u, 2);

	KTR(PX_TR_SYS_ENTER, p->pid, arch_syscall_nr(u), 0);
	switch (arch_syscall_nr(u)) {
	case SYS_getpid:
		return done(p, p->pid);
	case SYS_write:
		return sys_file_op(p, cx, SYS_write, IO_WRITE, a0, a1, a2, PX_OFF_CUR);
	case SYS_read:
		return sys_file_op(p, cx, SYS_read, IO_READ, a0, a1, a2, PX_OFF_CUR);
	case SYS_exit:
		proc_exit(p, (int)(a0 & 0xff));
		return SYS_EXITED;
	case SYS_yield:
		/* Back of the queue: every other runnable task goes first. */
		io_yield_init(&p->w.yield);
		return wait_on(p, cx, SYS_yield, &p->w.yield.io);
	case SYS_spawn:
		return sys_spawn(p, cx, SYS_spawn, a0, a1, PX_PG_INHERIT, 0);
	case SYS_wait:
		return sys_wait(p, cx, (int64_t)a0, a1);
	case SYS_kill:
		return done(p, sys_kill(p, (int64_t)a0));
	case SYS_pipe:
		return done(p, sys_pipe(p, a0));
	case SYS_close:
		return done(p, proc_fd_close(p, a0));
	case SYS_dup:
		return done(p, sys_dup(p, a0));
	case SYS_sleep:
		return sys_sleep(p, cx, a0);
	case SYS_clock_gettime:
		return done(p, sys_clock_gettime(p, a0, a1));
	case SYS_sbrk:
		return done(p, sys_sbrk(p, (int64_t)a0));
	case SYS_progs:
		return done(p, sys_progs(p, a0, a1, a2));
	case SYS_kstat:
		return done(p, sys_kstat(a0));
	case SYS_ring_setup:
		return done(p, ring_setup(p, (uint32_t)a0, a1));
	case SYS_ring_enter:
		return sys_ring_enter(p, cx, (uint32_t)a0, (uint32_t)a1, a2);
	case SYS_pread:
		return sys_file_at(p, cx, SYS_pread, IO_READ, a0, a1, a2, arch_syscall_arg(u, 3));
	case SYS_pwrite:
		return sys_file_at(p, cx, SYS_pwrite, IO_WRITE, a0, a1, a2, arch_syscall_arg(u, 3));
	case SYS_fstat:
		return sys_file_op(p, cx, SYS_fstat, IO_STAT, a0, a1, 0, PX_OFF_CUR);
	case SYS_fsync:
		return sys_file_op(p, cx, SYS_fsync, IO_FSYNC, a0, 0, 0, PX_OFF_CUR);
	case SYS_spawnpg:
		return sys_spawn(p, cx, SYS_spawnpg, a0, a1, (int64_t)a2, arch_syscall_arg(u, 3));
	case SYS_setfg:
		return done(p, sys_setfg(p, (int64_t)a0));
	case SYS_getpgid:
		return done(p, (int64_t)a0 < 0 || (int64_t)a0 > INT32_MAX ? -PX_ESRCH
									   : proc_getpgid(p, (int)a0));
	case SYS_open:
	case SYS_stat:
	case SYS_chdir:
	case SYS_mkdir:
	case SYS_rmdir:
	case SYS_unlink:
		return sys_path(p, cx, (int)arch_syscall_nr(u), a0, a1);
	case SYS_rename:
	case SYS_link:
		return sys_path2(p, cx, (int)arch_syscall_nr(u), a0, a1);
	case SYS_lseek:
		return done(p, sys_lseek(p, a0, (int64_t)a1, a2));
	case SYS_getdents:
		return sys_getdents(p, cx, a0, a1, a2);
	case SYS_ftruncate:
		return sys_ftruncate(p, cx, a0, a1);
	case SYS_getcwd:
		/* a length is not a start result (IO_STARTED is 1): without a
		 * file system the answer comes at once, with one it comes
		 * from a future */
		if (!fsys_fs())
			return done(p, fsys_getcwd_unmounted(p, a0, a1));
		return started(p, cx, SYS_getcwd, fsys_getcwd(&p->w.io, p, a0, a1));
	case SYS_dup2:
		return done(p, sys_dup2(p, a0, a1));
	case SYS_statfs:
		return done(p, fsys_statfs(p, a0));
	case SYS_sync:
		return done(p, 0); /* every change is durable when its call returns */
#ifdef EXEC_TRACE
	case SYS_trace_put:
		return done(p, ktrace_put(p, a0, a1));
#endif
	case SYS_socket:
		return done(p, sys_socket(p, a0, a1, a2));
	case SYS_bind:
		return done(p, sys_bind(p, a0, a1));
	case SYS_sendto:
		return sys_sendto(p, cx, a0, a1, a2, arch_syscall_arg(u, 3));
	case SYS_recvfrom:
		return sys_recvfrom(p, cx, a0, a1, a2, arch_syscall_arg(u, 3));
	case SYS_listen:
		return done(p, sys_listen(p, a0, a1));
	case SYS_accept:
		return sys_accept(p, cx, a0, a1);
	case SYS_connect:
		return sys_connect(p, cx, a0, a1);
	case SYS_shutdown:
		return done(p, sys_shutdown(p, a0, a1));
	case SYS_getsockname:
		return done(p, sys_sockname(p, a0, a1, false));
	case SYS_getpeername:
		return done(p, sys_sockname(p, a0, a1, true));
	default:
		return done(p, -PX_ENOSYS);
	}
}

/* Syscalls: decode, validate every argument, and run waiting ones as futures. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/archive.h"
#include "kernel/file.h"
#include "kernel/kalloc.h"
#include "kernel/kexec.h"
#include "kernel/proc.h"
#include "kernel/uaccess.h"

/*
 * syscall_start runs right after the program trapped.  A call that can
 * finish now sets its result and returns SYS_DONE, and the process task
 * re-enters user mode at once.  A call that must wait initialises a
 * future in p->w, records itself in p->sys and returns SYS_WAIT; the
 * process task then returns Pending, and each later poll calls
 * syscall_resume until the future is ready.
 */

static enum sys_result done(struct proc *p, int64_t value)
{
	arch_syscall_return(&p->regs, value);
	p->sys = -1;
	return SYS_DONE;
}

static struct file *fd_file(struct proc *p, uint64_t fd)
{
	return fd < PROC_NFD ? p->fd[fd] : NULL;
}

static int fd_alloc(struct proc *p, int from)
{
	for (int fd = from; fd < PROC_NFD; fd++)
		if (!p->fd[fd])
			return fd;
	return -PX_EMFILE;
}

/* ---- read / write -----------------------------------------------------------
 * wait_arg: [0] user buffer, [1] bytes wanted, [2] bytes done so far. */

static enum sys_result read_resume(struct proc *p, struct context *cx)
{
	struct file *f = p->fd[arch_syscall_arg(&p->regs, 0)];
	if (f->kind == FILE_CONSOLE) {
		if (console_read_poll(&p->w.cread, cx) == POLL_PENDING)
			return SYS_WAIT;
		return done(p, p->w.cread.result);
	}
	if (pipe_read_poll(&p->w.pread, cx) == POLL_PENDING)
		return SYS_WAIT;
	return done(p, p->w.pread.result);
}

static enum sys_result sys_read(struct proc *p, struct context *cx, uint64_t fd,
				uint64_t buf, uint64_t n)
{
	struct file *f = fd_file(p, fd);
	size_t chunk;
	if (!f || f->kind == FILE_PIPE_WRITE)
		return done(p, -PX_EBADF);
	if (n == 0)
		return done(p, 0);
	/* Check the whole buffer now, so data taken from a pipe is never
	 * lost to a bad address half way. */
	if (!uaccess_ok(p->vm, buf, n, VM_W))
		return done(p, -PX_EFAULT);
	if (f->kind == FILE_CONSOLE) {
		/* The console fills user memory in place, up to the end of the
		 * first page: a short read, as POSIX allows. */
		char *k = uaccess_kptr(p->vm, buf, n, VM_W, &chunk);
		console_read_init(&p->w.cread, k, chunk);
	} else {
		pipe_read_init(&p->w.pread, f->pipe, p->vm, buf, n);
	}
	p->sys = SYS_read;
	return read_resume(p, cx);
}

static enum sys_result write_resume(struct proc *p, struct context *cx)
{
	struct file *f = p->fd[arch_syscall_arg(&p->regs, 0)];
	size_t chunk;
	if (f->kind != FILE_CONSOLE) {
		if (pipe_write_poll(&p->w.pwrite, cx) == POLL_PENDING)
			return SYS_WAIT;
		return done(p, p->w.pwrite.result);
	}
	/* Console: one page-sized piece of the user buffer at a time. */
	for (;;) {
		if (console_write_poll(&p->w.cwrite, cx) == POLL_PENDING)
			return SYS_WAIT;
		p->wait_arg[2] += p->w.cwrite.n;
		if (p->wait_arg[2] == p->wait_arg[1])
			return done(p, (int64_t)p->wait_arg[1]);
		const char *k = uaccess_kptr(p->vm, p->wait_arg[0] + p->wait_arg[2],
					     p->wait_arg[1] - p->wait_arg[2], VM_R, &chunk);
		console_write_init(&p->w.cwrite, k, chunk);
	}
}

static enum sys_result sys_write(struct proc *p, struct context *cx, uint64_t fd,
				 uint64_t buf, uint64_t n)
{
	struct file *f = fd_file(p, fd);
	size_t chunk;
	if (!f || f->kind == FILE_PIPE_READ)
		return done(p, -PX_EBADF);
	if (n == 0)
		return done(p, 0);
	if (!uaccess_ok(p->vm, buf, n, VM_R))
		return done(p, -PX_EFAULT);
	if (f->kind == FILE_CONSOLE) {
		p->wait_arg[0] = buf;
		p->wait_arg[1] = n;
		p->wait_arg[2] = 0;
		const char *k = uaccess_kptr(p->vm, buf, n, VM_R, &chunk);
		console_write_init(&p->w.cwrite, k, chunk);
	} else {
		pipe_write_init(&p->w.pwrite, f->pipe, p->vm, buf, n);
	}
	p->sys = SYS_write;
	return write_resume(p, cx);
}

/* ---- descriptors -------------------------------------------------------------*/

static int64_t sys_pipe(struct proc *p, uint64_t fds_va)
{
	struct file *rd, *wr;
	int fds[2];
	if (!uaccess_ok(p->vm, fds_va, sizeof(fds), VM_W))
		return -PX_EFAULT;
	fds[0] = fd_alloc(p, 0);
	if (fds[0] < 0)
		return fds[0];
	fds[1] = fd_alloc(p, fds[0] + 1);
	if (fds[1] < 0)
		return fds[1];
	if (!file_pipe(&rd, &wr))
		return -PX_ENOMEM;
	p->fd[fds[0]] = rd;
	p->fd[fds[1]] = wr;
	copyout(p->vm, fds_va, fds, sizeof(fds)); /* checked above */
	return 0;
}

static int64_t sys_close(struct proc *p, uint64_t fd)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return -PX_EBADF;
	p->fd[fd] = NULL;
	file_put(f);
	return 0;
}

static int64_t sys_dup(struct proc *p, uint64_t fd)
{
	struct file *f = fd_file(p, fd);
	if (!f)
		return -PX_EBADF;
	int nfd = fd_alloc(p, 0);
	if (nfd >= 0)
		p->fd[nfd] = file_dup(f);
	return nfd;
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
	return p->fd[0] && p->fd[0]->kind == FILE_CONSOLE;
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
static int64_t sys_kill(int64_t pid)
{
	if (pid > 0 && pid <= INT32_MAX)
		return proc_kill((int)pid);
	if (pid < -1 && pid >= -(int64_t)INT32_MAX)
		return proc_kill_group((int)-pid, PX_KILL_SIGNAL) < 0 ? -PX_ESRCH : 0;
	return -PX_ESRCH;
}

/* ---- processes ----------------------------------------------------------------*/

static int64_t sys_spawn(struct proc *p, uint64_t path_va, uint64_t argv_va, int64_t pgid,
			 uint64_t flags)
{
	char path[PX_PATH_MAX], strings[PX_ARG_MAX];
	char *argv[PX_ARGV_MAX + 1]; /* PX_ARGV_MAX arguments and a NULL */
	size_t used = 0;
	int argc = 0, n;

	/* Every argument is checked before anything happens.  A group that
	 * exists now may be gone when proc_spawn_pg looks again: it then
	 * says -PX_ESRCH itself. */
	int64_t err = check_pgid(pgid, true);
	if (err)
		return err;
	if (flags & ~(uint64_t)(PX_SPAWN_FG | PX_SPAWN_STDIO))
		return -PX_EINVAL;
	if ((flags & PX_SPAWN_FG) && !stdin_is_console(p))
		return -PX_ENOTTY;
	n = copyinstr(p->vm, path, path_va, sizeof(path));
	if (n < 0)
		return n == -PX_E2BIG ? -PX_ENOENT : n;
	if (!argv_va) {
		argv[argc++] = path;
	} else {
		for (;; argc++) {
			uint64_t ptr;
			if (copyin(p->vm, &ptr, argv_va + (uint64_t)argc * 8, 8))
				return -PX_EFAULT;
			if (!ptr)
				break;
			if (argc == PX_ARGV_MAX)
				return -PX_E2BIG;
			n = copyinstr(p->vm, strings + used, ptr, sizeof(strings) - used);
			if (n < 0)
				return n;
			argv[argc] = strings + used;
			used += (size_t)n + 1;
		}
		if (argc == 0)
			argv[argc++] = path;
	}
	argv[argc] = NULL;
	return proc_spawn_pg(p, path, argv, argc, (int)pgid, (unsigned)flags);
}

/* wait_arg: [0] pid, [1] status pointer (0: none). */
static enum sys_result wait_resume(struct proc *p, struct context *cx)
{
	for (;;) {
		if (p->sys == SYS_wait) {
			if (notified_poll(&p->w.child, cx) == POLL_PENDING)
				return SYS_WAIT;
			p->sys = -1;
		}
		/* Register before looking, so an exit in between still wakes us. */
		notified_init(&p->w.child, &proc_child_exited);
		int status, pid = proc_reap(p, (int)p->wait_arg[0], &status);
		if (pid != 0) {
			notified_drop(&p->w.child);
			if (pid > 0 && p->wait_arg[1])
				copyout(p->vm, p->wait_arg[1], &status, sizeof(status));
			return done(p, pid);
		}
		p->sys = SYS_wait;
	}
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
	p->wait_arg[0] = (uint64_t)pid;
	p->wait_arg[1] = status_va;
	p->sys = -1;
	return wait_resume(p, cx);
}

/* ---- time -----------------------------------------------------------------------*/

/* sleep(ms): a future on the kernel's timer wheel, kept in p->w.nap.
 * Started here, polled again by syscall_resume, dropped by syscall_drop. */
static enum sys_result sys_sleep(struct proc *p, struct context *cx, uint64_t ms)
{
	/* LAB 6 BEGIN */
	if (ms > UINT64_MAX / 2000000)
		return done(p, -PX_EINVAL);
	sleep_for(&p->w.nap, exec_wheel(&kexec), kexec_now_ns(), ms * 1000000);
	p->sys = SYS_sleep;
	if (sleep_poll(&p->w.nap, cx) == POLL_PENDING)
		return SYS_WAIT;
	return done(p, 0);
	/* LAB 6 STUB
	// LAB 6: start a sleep on the timer wheel and wait for it without
	// holding the hart (docs/labs/lab6.md).  Until then: an error at once.
	static bool told;
	if (!told) {
		told = true;
		printf("LAB 6: implement sys_sleep (kernel/syscall.c)\n");
	}
	(void)cx;
	(void)ms;
	return done(p, -PX_ENOSYS);
	   LAB 6 END */
}

static int64_t sys_clock_gettime(struct proc *p, uint64_t clock, uint64_t ts_va)
{
	uint64_t ns = kexec_now_ns();
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
	p->sys = SYS_ring_enter;
	if (ring_wait_poll(&p->w.ring, cx) == POLL_PENDING)
		return SYS_WAIT;
	return done(p, p->w.ring.result);
}

/* ---- dispatch ---------------------------------------------------------------------*/

enum sys_result syscall_start(struct proc *p, struct context *cx)
{
	const struct user_regs *u = &p->regs;
	uint64_t a0 = arch_syscall_arg(u, 0), a1 = arch_syscall_arg(u, 1);
	uint64_t a2 = arch_syscall_arg(u, 2);

	switch (arch_syscall_nr(u)) {
	case SYS_getpid:
		return done(p, p->pid);
	case SYS_write:
		return sys_write(p, cx, a0, a1, a2);
	case SYS_read:
		return sys_read(p, cx, a0, a1, a2);
	case SYS_exit:
		proc_exit(p, (int)(a0 & 0xff));
		return SYS_EXITED;
	case SYS_yield:
		/* Back of the queue: every other runnable task goes first. */
		p->sys = SYS_yield;
		waker_wake_by_ref(cx->waker);
		return SYS_WAIT;
	case SYS_spawn:
		return done(p, sys_spawn(p, a0, a1, PX_PG_INHERIT, 0));
	case SYS_wait:
		return sys_wait(p, cx, (int64_t)a0, a1);
	case SYS_kill:
		return done(p, sys_kill((int64_t)a0));
	case SYS_pipe:
		return done(p, sys_pipe(p, a0));
	case SYS_close:
		return done(p, sys_close(p, a0));
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
	case SYS_spawnpg:
		return done(p, sys_spawn(p, a0, a1, (int64_t)a2, arch_syscall_arg(u, 3)));
	case SYS_setfg:
		return done(p, sys_setfg(p, (int64_t)a0));
	case SYS_getpgid:
		return done(p, (int64_t)a0 < 0 || (int64_t)a0 > INT32_MAX ? -PX_ESRCH
									   : proc_getpgid(p, (int)a0));
	default:
		return done(p, -PX_ENOSYS);
	}
}

enum sys_result syscall_resume(struct proc *p, struct context *cx)
{
	switch (p->sys) {
	case SYS_yield:
		return done(p, 0);
	case SYS_read:
		return read_resume(p, cx);
	case SYS_write:
		return write_resume(p, cx);
	case SYS_wait:
		return wait_resume(p, cx);
	case SYS_sleep:
		/* LAB 6 BEGIN */
		if (sleep_poll(&p->w.nap, cx) == POLL_PENDING)
			return SYS_WAIT;
		return done(p, 0);
		/* LAB 6 STUB
		// LAB 6: poll the sleep again (docs/labs/lab6.md).
		return done(p, -PX_ENOSYS);
		   LAB 6 END */
	case SYS_ring_enter:
		if (ring_wait_poll(&p->w.ring, cx) == POLL_PENDING)
			return SYS_WAIT;
		return done(p, p->w.ring.result);
	default:
		return done(p, -PX_ENOSYS);
	}
}

/* The process is being killed while a syscall waits: release its future. */
void syscall_drop(struct proc *p)
{
	struct file *f;
	switch (p->sys) {
	case SYS_read:
		f = p->fd[arch_syscall_arg(&p->regs, 0)];
		if (f->kind == FILE_CONSOLE)
			console_read_drop(&p->w.cread);
		else
			pipe_read_drop(&p->w.pread);
		break;
	case SYS_write:
		f = p->fd[arch_syscall_arg(&p->regs, 0)];
		if (f->kind == FILE_CONSOLE)
			console_write_drop(&p->w.cwrite);
		else
			pipe_write_drop(&p->w.pwrite);
		break;
	case SYS_wait:
		notified_drop(&p->w.child);
		break;
	case SYS_sleep:
		/* LAB 6 BEGIN */
		sleep_drop(&p->w.nap);
		/* LAB 6 STUB
		// LAB 6: take the sleep off the timer wheel (docs/labs/lab6.md).
		   LAB 6 END */
		break;
	case SYS_ring_enter:
		ring_wait_drop(&p->w.ring);
		break;
	default:
		break;
	}
	p->sys = -1;
}

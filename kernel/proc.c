/* Processes: the table, spawn, the task that runs a user context, exit and wait. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "kernel/archive.h"
#include "kernel/console.h"
#include "kernel/console_file.h"
#include "kernel/elf.h"
#include "kernel/file.h"
#include "kernel/fsys.h"
#include "kernel/kalloc.h"
#include "kernel/ktask.h"
#include "kernel/ktimer.h"
#include "kernel/proc.h"
#include "kernel/trace.h"
#include "kernel/uaccess.h"

/*
 * The process table holds what must outlive a process's task: its pid,
 * parent, process group and, once it has exited, its status until the
 * parent reaps it.  One spin lock covers the table.
 */
enum pstate { P_FREE, P_LIVE, P_ZOMBIE };

struct pent {
	int pid;
	int ppid;
	int pgid;         /* process group: kept by a zombie, so a group lives on */
	enum pstate state;
	int status;
	uint64_t ended;   /* while P_ZOMBIE: when it exited, in ptab.exits order */
	struct proc *p;   /* while P_LIVE: the process (inside its task) */
};

static struct {
	struct spin lock;
	struct pent e[NPROC];
	int next_pid;
	uint64_t exits;   /* processes that have exited: orders the zombies */
} ptab = { .lock = SPIN_INIT, .next_pid = 1 };

struct notify proc_child_exited;

/* The first process (proc_start_init): orphans become its children, and
 * its end powers the machine off.  0 until it exists. */
static int init_pid;

#define PROC_SLOT TASK_SIZE(sizeof(struct proc))
static _Alignas(16) unsigned char proc_mem[NPROC][PROC_SLOT];
static struct task_pool proc_pool = TASK_POOL_INIT(proc_mem, PROC_SLOT, NPROC);

/* A process runs at most this long before it yields to other tasks. */
#define SLICE_US 10000

/* The address space this hart has switched to. */
static _Thread_local struct vm_root *current_vm;

uint64_t proc_kernel_bytes(void)
{
	return PROC_SLOT + sizeof(struct pent);
}

uint64_t proc_kernel_fp_bytes(void)
{
	return arch_uregs_fp_size();
}

unsigned proc_count(void)
{
	unsigned n = 0;
	unsigned long f = spin_lock(&ptab.lock);
	for (int i = 0; i < NPROC; i++)
		n += ptab.e[i].state == P_LIVE;
	spin_unlock(&ptab.lock, f);
	return n;
}

static struct pent *pent_of(int pid)
{
	for (int i = 0; i < NPROC; i++)
		if (ptab.e[i].state != P_FREE && ptab.e[i].pid == pid)
			return &ptab.e[i];
	return NULL;
}

static void vm_use(struct vm_root *vm)
{
	if (current_vm != vm) {
		arch_vm_switch(vm);
		current_vm = vm;
	}
}

/* ---- Memory of a process ---------------------------------------------------*/

/* Unmap [lo, hi) and free the frames. */
static void unmap_range(struct vm_root *vm, uint64_t lo, uint64_t hi)
{
	for (uint64_t va = lo; va < hi; va += PAGE_SIZE) {
		uint64_t pa = arch_vm_unmap(vm, va);
		if (pa) {
			uaccess_quiesce(vm); /* a pipe peer may be copying */
			kpage_free((void *)(uintptr_t)pa);
		}
	}
}

static void free_user_memory(struct proc *p)
{
	if (!p->vm)
		return;
	if (current_vm == p->vm)
		vm_use(NULL);
	unmap_range(p->vm, PX_USER_BASE, p->brk);
	unmap_range(p->vm, PX_STACK_TOP - PX_STACK_PAGES * PAGE_SIZE, PX_STACK_TOP);
	unmap_range(p->vm, PX_RING_BASE, PX_RING_BASE + PX_RING_PAGES * PAGE_SIZE);
	uaccess_quiesce(p->vm); /* nobody walks its tables any more */
	arch_vm_destroy(p->vm);
	p->vm = NULL;
}

/*
 * The initial stack, top down: the argument strings, padding to 16 bytes,
 * then argv[0..argc-1], a NULL, and sp pointing at argv[0] (crt0 gets
 * argc and argv in the first two argument registers as well).
 */
static int build_stack(struct proc *p, char *const argv[], int argc, uint64_t *sp_out,
		       uint64_t *argv_out)
{
	uint64_t lo = PX_STACK_TOP - PX_STACK_PAGES * PAGE_SIZE;
	char *top_page = NULL;
	for (uint64_t va = lo; va < PX_STACK_TOP; va += PAGE_SIZE) {
		char *pg = kpage_alloc();
		if (!pg)
			return -PX_ENOMEM;
		int err = arch_vm_map(p->vm, va, (uintptr_t)pg, VM_R | VM_W | VM_U);
		if (err) {
			kpage_free(pg);
			return err;
		}
		top_page = pg;
	}
	/* Everything fits in the top page: PX_ARG_MAX + pointers < 4 KiB. */
	uint64_t sp = PX_STACK_TOP;
	uint64_t ptrs[PX_ARGV_MAX + 1];
	for (int i = argc - 1; i >= 0; i--) {
		size_t len = strlen(argv[i]) + 1;
		sp -= len;
		memcpy(top_page + (sp - (PX_STACK_TOP - PAGE_SIZE)), argv[i], len);
		ptrs[i] = sp;
	}
	ptrs[argc] = 0;
	sp &= ~(uint64_t)15;
	sp -= (uint64_t)(argc + 1) * 8;
	sp &= ~(uint64_t)15;
	memcpy(top_page + (sp - (PX_STACK_TOP - PAGE_SIZE)), ptrs, (size_t)(argc + 1) * 8);
	*sp_out = sp;
	*argv_out = sp;
	return 0;
}

/* ---- The process task ------------------------------------------------------*/

static const char *const kill_names[] = {
	[PX_KILL_SIGNAL] = "killed",
	[PX_KILL_FAULT] = "memory fault",
	[PX_KILL_ILLEGAL] = "illegal instruction",
	[PX_KILL_BADCALL] = "bad syscall",
	[PX_KILL_NOMEM] = "out of memory",
	[PX_KILL_BREAKPOINT] = "breakpoint",
	[PX_KILL_INTR] = "interrupted",
};

static void report_fault(struct proc *p, const struct trap_info *info)
{
	char what[128];

	trap_describe(what, sizeof(what), info);
	printf("pid %d (%s): %s: killed\n", p->pid, p->name, what);
	p->killed = PX_KILLED | (info->kind == TRAP_KIND_ILLEGAL	  ? PX_KILL_ILLEGAL
				 : info->kind == TRAP_KIND_BREAKPOINT ? PX_KILL_BREAKPOINT
								      : PX_KILL_FAULT);
}

/*
 * FP/SIMD save areas come from a cache of their own rather than kmalloc's
 * size classes (aarch64's 512 bytes would share a class with struct
 * ring): a program that uses floating point has one, and the heap never gives a
 * carved page back, so sharing would let a peak of one kind take pages
 * that the other's page-exact leak tests then see as lost.  Sized in
 * proc_start_init.
 */
static struct kcache fp_cache;

/* First-use traps taken, for SYS_kstat: lets usertests check that the
 * programs we ship never touch FP/SIMD (and so cost only
 * proc_kernel_bytes). */
static _Atomic uint64_t fp_traps;

uint64_t proc_fp_traps(void)
{
	return atomic_load_explicit(&fp_traps, memory_order_relaxed);
}

/*
 * The first FP/SIMD instruction of p trapped (USER_EXIT_FP): give it a
 * zeroed save area, so the instruction re-executes with zeroed registers.
 * Processes that never use FP/SIMD never pay for one (arch.h).  Without
 * memory the process dies, not the kernel.
 */
static void fp_first_use(struct proc *p)
{
	atomic_fetch_add_explicit(&fp_traps, 1, memory_order_relaxed);
	void *area = kcache_alloc(&fp_cache);
	if (!area) {
		printf("pid %d (%s): no kernel memory for FP/SIMD state: killed\n", p->pid,
		       p->name);
		p->killed = PX_KILLED | PX_KILL_NOMEM;
		return;
	}
	arch_uregs_fp_attach(&p->regs, area);
}

static void fp_free(struct proc *p)
{
	kcache_free(&fp_cache, arch_uregs_fp_detach(&p->regs));
}

/* Which process each hart is running in user mode (kill's IPI target). */
static struct proc *_Atomic running_on[SMP_MAX];

/*
 * Leave the hart: no slice is needed while we do not run.  With several
 * harts the process may next run elsewhere, so this hart also drops its
 * address space (arch.h: an address space is unmapped from or destroyed
 * only while no other hart has it active; and a hart never keeps a
 * stale root that a new address space could reuse the page of).  One
 * hart keeps the lazy switch: the next poll is usually the same process.
 */
static enum poll leave(enum poll r)
{
	ktimer_set_slice(ARCH_TIMER_OFF);
	atomic_store(&running_on[arch_hart_id()], NULL);
	if (kernel_exec.nworkers > 1)
		vm_use(NULL);
	return r;
}

static enum poll proc_poll(struct future *f, struct context *cx)
{
	struct proc *p = (struct proc *)f;
	struct trap_info info;

	if (waker_is_none(&p->self) || !waker_will_wake(&p->self, cx->waker)) {
		/* proc_kill reads p->self under the table lock, on any hart:
		 * change it under the lock too (its two words never torn). */
		struct waker nw = waker_clone(cx->waker);
		unsigned long fl = spin_lock(&ptab.lock);
		struct waker old = p->self;
		p->self = nw;
		spin_unlock(&ptab.lock, fl);
		waker_drop(&old);
	}
	if (p->sys >= 0) {
		if (p->killed) {
			/* A busy future (a change on the disk) is finished first:
			 * the process, its memory and its files stay until then. */
			if (syscall_cancel(p, cx) == SYS_WAIT)
				return POLL_PENDING;
		} else {
			enum sys_result r = syscall_resume(p, cx);
			if (r == SYS_WAIT)
				return POLL_PENDING;
			if (r == SYS_EXITED)
				return POLL_READY;
		}
	}
	vm_use(p->vm);
	ktimer_set_slice(arch_timer_now() + ktimer_us_to_ticks(SLICE_US));
	/* seq_cst store, then the killed check: proc_kill does the reverse. */
	unsigned h = arch_hart_id();
	atomic_store(&running_on[h], p);
	while (!__atomic_load_n(&p->killed, __ATOMIC_SEQ_CST)) {
		/*
		 * The slice may have ended while we were in the kernel (a
		 * syscall, the FP trap): the timer interrupt then found no
		 * user code to stop and left the timer off.  Check with
		 * interrupts masked up to the switch to user mode, so a slice
		 * that ends in between stays pending and traps straight back.
		 */
		unsigned long irq = arch_irq_save();
		if (ktimer_slice_over_on(h)) {
			arch_irq_restore(irq);
			/* A whole slice: due timers and woken tasks go first. */
			exec_tick_soon();
			waker_wake_by_ref(cx->waker);
			return leave(POLL_PENDING);
		}
		/* Again, masked: a kill's IPI taken just before the mask found
		 * no user code to stop. */
		if (__atomic_load_n(&p->killed, __ATOMIC_SEQ_CST)) {
			arch_irq_restore(irq);
			break;
		}
		enum user_exit e = arch_user_run(&p->regs, &info);
		arch_irq_restore(irq);
		switch (e) {
		case USER_EXIT_SYSCALL:
			switch (syscall_start(p, cx)) {
			case SYS_DONE:
				continue;
			case SYS_WAIT:
				return leave(POLL_PENDING);
			case SYS_EXITED:
				return leave(POLL_READY);
			}
			break;
		case USER_EXIT_IRQ:
			/* Whatever the interrupt woke may want this hart (it
			 * waits in the injection queue, which the worker looks
			 * at on its next turn); the task goes to the back of
			 * the queue and resumes after. */
			exec_tick_soon();
			waker_wake_by_ref(cx->waker);
			return leave(POLL_PENDING);
		case USER_EXIT_FAULT:
			report_fault(p, &info);
			break;
		case USER_EXIT_FP:
			fp_first_use(p);
			break;
		}
	}
	proc_exit(p, (int)p->killed);
	return leave(POLL_READY);
}

/* Dropped without finishing (executor shutdown): release everything. */
static void proc_drop(struct future *f)
{
	struct proc *p = (struct proc *)f;
	if (p->sys >= 0)
		syscall_drop(p);
	proc_exit(p, PX_KILLED | PX_KILL_SIGNAL);
}

static const struct future_vtable proc_vtable = { proc_poll, proc_drop };

/* ---- spawn, exit, kill, wait -----------------------------------------------*/

static _Atomic uint64_t spawns;

uint64_t proc_spawns(void)
{
	return atomic_load_explicit(&spawns, memory_order_relaxed);
}

/* Caller holds ptab.lock.  The group a new process with pid `pid` joins,
 * or -PX_ESRCH. */
static int spawn_group_locked(struct proc *parent, int pid, int pgid)
{
	if (pgid == PX_PG_NEW)
		return pid;
	if (pgid == PX_PG_INHERIT) {
		struct pent *pe = parent ? pent_of(parent->pid) : NULL;
		return pe ? pe->pgid : pid;
	}
	for (int i = 0; i < NPROC; i++)
		if (ptab.e[i].state != P_FREE && ptab.e[i].pgid == pgid)
			return pgid;
	return -PX_ESRCH;
}

/* Where the program comes from: the archive entry `path`, or pages (a
 * file read from the disk) with `path` its name. */
struct spawn_src {
	const void *const *pages;
	size_t size;
};

/* ---- the fd table (proc.h) --------------------------------------------------*/

struct file **proc_fd_slot(struct proc *p, uint64_t fd)
{
	if (fd < PROC_NFD_INLINE)
		return &p->fd_lo[fd];
	if (fd >= PROC_NFD)
		return NULL;
	fd -= PROC_NFD_INLINE;
	if (!p->fd_dir) {
		struct file ***d = kmalloc(PROC_FD_CHUNKS * sizeof(*d)); /* zeroed */
		if (!d)
			return NULL;
		__atomic_store_n(&p->fd_dir, d, __ATOMIC_RELEASE);
	}
	struct file ***c = &p->fd_dir[fd / PROC_FD_CHUNK];
	if (!*c) {
		struct file **n = kmalloc(PROC_FD_CHUNK * sizeof(*n)); /* zeroed */
		if (!n)
			return NULL;
		__atomic_store_n(c, n, __ATOMIC_RELEASE);
	}
	return &(*c)[fd % PROC_FD_CHUNK];
}

int proc_fd_alloc(struct proc *p, int from)
{
	for (int fd = from < 0 ? 0 : from; fd < PROC_NFD; fd++) {
		if (proc_fd(p, (uint64_t)fd))
			continue;
		return proc_fd_slot(p, (uint64_t)fd) ? fd : -PX_ENOMEM;
	}
	return -PX_EMFILE;
}

bool proc_fd_room(struct proc *p)
{
	for (uint64_t fd = 0; fd < PROC_NFD; fd++) {
		if (proc_fd_skip(p, fd) != fd)
			return true;	/* a chunk never made: all of it is free */
		if (!proc_fd(p, fd))
			return true;
	}
	return false;
}

/* Every descriptor closed and the chunks freed (exit, a failed spawn). */
static void fd_table_release(struct proc *p)
{
	for (uint64_t fd = 0; (fd = proc_fd_skip(p, fd)) < PROC_NFD; fd++) {
		struct file *f = proc_fd(p, fd);
		if (f) {
			*proc_fd_slot(p, fd) = NULL;
			file_put(f);
		}
	}
	if (p->fd_dir) {
		for (int i = 0; i < PROC_FD_CHUNKS; i++)
			kfree(p->fd_dir[i], PROC_FD_CHUNK * sizeof(*p->fd_dir[i]));
		kfree(p->fd_dir, PROC_FD_CHUNKS * sizeof(*p->fd_dir));
		p->fd_dir = NULL;
	}
}

/* spawn, with the child's descriptors new references to from's (when
 * from is not NULL) or to files[0..PROC_NFD_INLINE) (only 0..2 with
 * PX_SPAWN_STDIO); is_init: it is the first process. */
static int spawn(struct proc *parent, const char *path, const struct spawn_src *src,
		 char *const argv[], int argc, struct proc *from,
		 struct file *const *files, int pgid, unsigned flags, bool is_init)
{
	const void *image = NULL;
	size_t size = 0, pages;
	uint64_t entry, brk, sp, uargv;
	struct proc p = { .base = { &proc_vtable }, .sys = -1, .fd_lock = SPIN_INIT };
	struct pent *e = NULL;
	int err, group = -PX_EAGAIN, old_fg = 0;

	if (argc < 1 || argc > PX_ARGV_MAX)
		return -PX_E2BIG;
	if (!src && archive_find(path, &image, &size) != 0)
		return -PX_ENOENT;

	unsigned long f = spin_lock(&ptab.lock);
	for (int i = 0; i < NPROC; i++)
		if (ptab.e[i].state == P_FREE) {
			e = &ptab.e[i];
			break;
		}
	if (e) {
		group = spawn_group_locked(parent, ptab.next_pid, pgid);
		if (group < 0)
			e = NULL;
	}
	if (e) {
		*e = (struct pent){ .pid = ptab.next_pid++, .state = P_LIVE,
				    .ppid = parent ? parent->pid : 0, .pgid = group };
		if (is_init)
			init_pid = e->pid; /* before it can run, and so exit */
	}
	spin_unlock(&ptab.lock, f);
	if (!e)
		return group < 0 ? group : -PX_EAGAIN;
	p.pid = e->pid;
	/* The name a fault message and Ctrl-T show: the last component. */
	const char *base = strrchr(path, '/');
	snprintf(p.name, sizeof(p.name), "%s", base && base[1] ? base + 1 : path);

	err = -PX_ENOMEM;
	p.vm = arch_vm_create();
	if (!p.vm)
		goto fail;
	if (src)
		err = elf_load_pages(p.vm, src->pages, src->size, arch_elf_machine, &entry, &brk,
				     &pages);
	else
		err = elf_load(p.vm, image, size, arch_elf_machine, &entry, &brk, &pages);
	if (err)
		goto fail;
	err = parent ? fsys_cwd_inherit(&p, parent) : 0;
	if (err)
		goto fail;
	p.brk = p.brk_base = brk;
	err = build_stack(&p, argv, argc, &sp, &uargv);
	if (err)
		goto fail;
	arch_uregs_init(&p.regs, entry, sp, (uint64_t)argc, uargv);
	/* The child is not running yet: its table needs no lock. */
	uint64_t nfd = flags & PX_SPAWN_STDIO ? 3 : from ? PROC_NFD : PROC_NFD_INLINE;
	for (uint64_t fd = 0; fd < nfd; fd++) {
		if (from && (fd = proc_fd_skip(from, fd)) >= nfd)
			break;
		struct file *pf = from ? proc_fd(from, fd) : files[fd];
		if (!pf)
			continue;
		struct file **slot = proc_fd_slot(&p, fd);
		if (!slot) {
			err = -PX_ENOMEM;
			goto fail;
		}
		*slot = file_dup(pf);
	}

	/* Before the child can run, so a Ctrl-C never finds it in the
	 * background for a moment. */
	if (flags & PX_SPAWN_FG) {
		old_fg = console_foreground();
		console_set_foreground(group);
	}
	/* The future is copied into the task: the table entry must point at
	 * that copy, so spawn with a handle, note it, then let go. */
	struct join_handle jh;
	err = task_spawn(&kernel_exec, &proc_pool.src, &TASK_DESC_VOID(p, "proc"), &jh);
	if (err) {
		if (flags & PX_SPAWN_FG)
			console_set_foreground(old_fg);
		err = -PX_EAGAIN;
		goto fail;
	}
	f = spin_lock(&ptab.lock);
	e->p = (struct proc *)jh.task->future;
	spin_unlock(&ptab.lock, f);
	jh.task->name = e->p->name; /* Ctrl-T shows the program's name */
	KTR(PX_TR_PROC_SPAWN, p.pid, jh.task, trace_name8(p.name));
	join_handle_detach(&jh);
	atomic_fetch_add_explicit(&spawns, 1, memory_order_relaxed);
	return p.pid;

fail:
	fd_table_release(&p);
	fsys_cwd_release(&p);
	free_user_memory(&p);
	f = spin_lock(&ptab.lock);
	e->state = P_FREE;
	spin_unlock(&ptab.lock, f);
	return err;
}

int proc_spawn_pg(struct proc *parent, const char *path, char *const argv[], int argc,
		  int pgid, unsigned flags)
{
	return spawn(parent, path, NULL, argv, argc, parent, NULL, pgid, flags, false);
}

int proc_spawn_paged(struct proc *parent, const char *name, const void *const *pages,
		     size_t size, char *const argv[], int argc, int pgid, unsigned flags)
{
	struct spawn_src src = { pages, size };
	return spawn(parent, name, &src, argv, argc, parent, NULL, pgid, flags, false);
}

int64_t proc_fd_close(struct proc *p, uint64_t fd)
{
	unsigned long fl = spin_lock(&p->fd_lock);
	struct file *f = proc_fd(p, fd);
	if (f)
		__atomic_store_n(proc_fd_slot(p, fd), NULL, __ATOMIC_RELEASE);
	spin_unlock(&p->fd_lock, fl);
	if (!f)
		return -PX_EBADF;
	file_put(f);
	return 0;
}

int proc_fd_install(struct proc *p, struct file *f)
{
	unsigned long fl = spin_lock(&p->fd_lock);
	int fd = proc_fd_alloc(p, 0);
	if (fd >= 0)
		__atomic_store_n(proc_fd_slot(p, (uint64_t)fd), f, __ATOMIC_RELEASE);
	spin_unlock(&p->fd_lock, fl);
	return fd;
}

int proc_spawn(struct proc *parent, const char *path, char *const argv[], int argc)
{
	return proc_spawn_pg(parent, path, argv, argc, PX_PG_INHERIT, 0);
}

int proc_spawn_files(const char *path, char *const argv[], int argc,
		     struct file *const files[PROC_NFD_INLINE])
{
	return spawn(NULL, path, NULL, argv, argc, NULL, files, PX_PG_INHERIT, 0, false);
}

void proc_init(void)
{
	notify_init(&proc_child_exited);
	fp_cache = (struct kcache)KCACHE_INIT(arch_uregs_fp_size());
}

int proc_start_init(const char *path, char *args)
{
	static char arg0[PX_PATH_MAX];
	char *argv[PX_ARGV_MAX + 1] = { arg0 };
	int argc = 1;
	snprintf(arg0, sizeof(arg0), "%s", path);
	/* args: "a,b,c" (the command line splits at spaces, so commas). */
	for (char *p = args; p && *p && argc < PX_ARGV_MAX;) {
		argv[argc++] = p;
		p += strcspn(p, ",");
		if (*p)
			*p++ = '\0';
	}
	argv[argc] = NULL;
	struct file *con = console_file_open();
	struct file *files[PROC_NFD_INLINE] = { con, con, con };
	int pid = spawn(NULL, path, NULL, argv, argc, NULL, files, PX_PG_INHERIT, 0, true);
	file_put(con);
	return pid;
}

void proc_exit(struct proc *p, int status)
{
	/* First: after this no ring operation touches our memory. */
	ring_teardown(p);
	fd_table_release(p);
	fsys_cwd_release(p);
	free_user_memory(p);
	fp_free(p);

	unsigned long f = spin_lock(&ptab.lock);
	struct pent *me = pent_of(p->pid);
	struct pent *init = init_pid ? pent_of(init_pid) : NULL;
	bool has_init = init && init->state == P_LIVE && init != me;
	/* Children go to init, which reaps them; without init, a finished
	 * orphan is simply forgotten. */
	for (int i = 0; i < NPROC; i++) {
		struct pent *c = &ptab.e[i];
		if (c->state == P_FREE || c->ppid != p->pid || c == me)
			continue;
		if (has_init)
			c->ppid = init_pid;
		else if (c->state == P_ZOMBIE)
			c->state = P_FREE;
		else
			c->ppid = 0;
	}
	struct pent *parent = me && me->ppid ? pent_of(me->ppid) : NULL;
	if (me) {
		me->p = NULL;
		me->status = status;
		me->state = parent && parent->state == P_LIVE ? P_ZOMBIE : P_FREE;
		me->ended = ++ptab.exits;
	}
	spin_unlock(&ptab.lock, f);
	/* Only now: until me->p went NULL under the lock, proc_kill could
	 * still read our waker. */
	waker_drop(&p->self);
	notify_all(&proc_child_exited);
	/* The first process ending ends the system, with its status as
	 * QEMU's exit code (a kill becomes 100 + reason): this is how a test
	 * program booted with init=NAME reports. */
	KTR(PX_TR_PROC_EXIT, p->pid, 0, status);
	if (p->pid == init_pid) {
		printf("first process exited with status %#x; powering off\n", status);
		KTR_DUMP();
		arch_power_off(PX_WAS_KILLED(status) ? 100 + PX_KILL_REASON(status)
						   : PX_EXIT_CODE(status));
	}
}

/* Caller holds ptab.lock.  Mark e's process killed (a first reason
 * stays) and make it notice: wake its task, and interrupt the hart that
 * runs it in user mode, so it sees `killed` now rather than at the end
 * of its slice.  False if e is no live process. */
static bool kill_locked(struct pent *e, int reason)
{
	if (!e || e->state != P_LIVE || !e->p)
		return false;
	if (!e->p->killed)
		__atomic_store_n(&e->p->killed, (uint32_t)(PX_KILLED | reason), __ATOMIC_SEQ_CST);
	waker_wake_by_ref(&e->p->self);
	for (unsigned h = 0; h < kernel_exec.nworkers; h++)
		if (h != arch_hart_id() && atomic_load(&running_on[h]) == e->p)
			arch_send_ipi(h);
	return true;
}

/* Caller holds ptab.lock.  Whether `killer` may kill e: never the first
 * process, never one of its own ancestors (the shell it was started
 * from, and that shell's ancestors); anything else, itself included. */
static bool may_kill_locked(const struct proc *killer, const struct pent *e)
{
	if (e->pid == init_pid)
		return false;
	if (!killer)
		return true;
	const struct pent *a = pent_of(killer->pid);
	for (int depth = 0; a && a->ppid && depth < NPROC; depth++) {
		if (a->ppid == e->pid)
			return false;
		a = pent_of(a->ppid);
	}
	return true;
}

int proc_kill(struct proc *killer, int pid)
{
	int err = -PX_ESRCH;
	unsigned long f = spin_lock(&ptab.lock);
	struct pent *e = pent_of(pid);
	if (e && e->state == P_LIVE && e->p)
		err = may_kill_locked(killer, e) ? (kill_locked(e, PX_KILL_SIGNAL), 0) : -PX_EPERM;
	spin_unlock(&ptab.lock, f);
	return err;
}

int proc_kill_group_by(struct proc *killer, int pgid)
{
	int n = 0, refused = 0;
	unsigned long f = spin_lock(&ptab.lock);
	for (int i = 0; i < NPROC; i++) {
		struct pent *e = &ptab.e[i];
		if (e->state != P_LIVE || e->pgid != pgid || !e->p)
			continue;
		if (may_kill_locked(killer, e))
			n += kill_locked(e, PX_KILL_SIGNAL);
		else
			refused++;
	}
	spin_unlock(&ptab.lock, f);
	return n > 0 ? n : refused ? -PX_EPERM : -PX_ESRCH;
}

int proc_kill_group(int pgid, int reason)
{
	int n = 0;
	unsigned long f = spin_lock(&ptab.lock);
	for (int i = 0; i < NPROC; i++)
		if (ptab.e[i].state == P_LIVE && ptab.e[i].pgid == pgid)
			n += kill_locked(&ptab.e[i], reason);
	spin_unlock(&ptab.lock, f);
	return n > 0 ? n : -PX_ESRCH;
}

bool proc_group_exists(int pgid)
{
	bool found = false;
	unsigned long f = spin_lock(&ptab.lock);
	for (int i = 0; i < NPROC && !found; i++)
		found = ptab.e[i].state != P_FREE && ptab.e[i].pgid == pgid;
	spin_unlock(&ptab.lock, f);
	return found;
}

int proc_getpgid(struct proc *p, int pid)
{
	unsigned long f = spin_lock(&ptab.lock);
	struct pent *e = pent_of(pid ? pid : p->pid);
	int pgid = e ? e->pgid : -PX_ESRCH;
	spin_unlock(&ptab.lock, f);
	return pgid;
}

int proc_reap(struct proc *p, int pid, int *status)
{
	int found = -PX_ECHILD;
	struct pent *first = NULL;  /* the matching zombie that exited first */
	unsigned long f = spin_lock(&ptab.lock);
	for (int i = 0; i < NPROC; i++) {
		struct pent *c = &ptab.e[i];
		if (c->state == P_FREE || c->ppid != p->pid || (pid > 0 && c->pid != pid))
			continue;
		if (c->state == P_ZOMBIE && (!first || c->ended < first->ended))
			first = c;
		found = 0; /* a matching child exists */
	}
	if (first) {
		found = first->pid;
		*status = first->status;
		first->state = P_FREE;
	}
	spin_unlock(&ptab.lock, f);
	return found;
}

/* ---- wait() as a future ------------------------------------------------------*/

static enum poll child_wait_poll(struct future *f, struct context *cx)
{
	struct child_wait *w = (struct child_wait *)f;
	for (;;) {
		if (w->armed) {
			if (notified_poll(&w->exited, cx) == POLL_PENDING)
				return POLL_PENDING;
			w->armed = false;
		}
		/* Register before looking, so an exit in between still wakes us. */
		notified_init(&w->exited, &proc_child_exited);
		w->armed = true;
		int status, pid = proc_reap(w->p, w->pid, &status);
		if (pid != 0) {
			notified_drop(&w->exited);
			w->armed = false;
			/* sys_wait checked the status buffer before anything
			 * was reaped. */
			if (pid > 0 && w->status_va)
				copyout(w->p->vm, w->status_va, &status, sizeof(status));
			w->io.result = pid;
			return POLL_READY;
		}
	}
}

static void child_wait_drop(struct future *f)
{
	struct child_wait *w = (struct child_wait *)f;
	if (w->armed)
		notified_drop(&w->exited);
	w->armed = false;
}

static const struct future_vtable child_wait_vtable = { child_wait_poll, child_wait_drop };

void child_wait_init(struct child_wait *w, struct proc *p, int pid, uint64_t status_va)
{
	*w = (struct child_wait){ .io = { .base = { &child_wait_vtable } }, .p = p, .pid = pid,
				  .status_va = status_va };
}

const char *proc_kill_name(int status)
{
	unsigned r = (unsigned)PX_KILL_REASON(status);
	return r < sizeof(kill_names) / sizeof(kill_names[0]) && kill_names[r] ? kill_names[r]
										: "killed";
}

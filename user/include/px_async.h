/* Async user programs: the executor on the completion ring (reactor), ring I/O futures, timers, tasks. */
#ifndef USER_INCLUDE_PX_ASYNC_H
#define USER_INCLUDE_PX_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "pollux.h"
#include "px_ring.h"

/* The executor, re-exported: futures, ASYNC_BEGIN/AWAIT/ASYNC_END, tasks
 * and join handles, sleep/timeout/interval, join2/join_all/select2, and
 * the channels (mpsc, oneshot, notify). */
#include "executor/combinators.h"
#include "executor/exec.h"
#include "executor/future.h"
#include "executor/mpsc.h"
#include "executor/notify.h"
#include "executor/oneshot.h"
#include "executor/task.h"
#include "executor/timer.h"

/*
 * One executor per program, one worker (user programs have one thread),
 * one ring.  The reactor supplies the executor's hooks:
 *
 *   park(deadline)  when no task can run: ring_enter(unsubmitted SQEs,
 *                   min_complete 1, deadline - now), i.e. submit what the
 *                   futures queued since the last park and sleep in the
 *                   kernel until a completion arrives or the next timer
 *                   of the executor's wheel is due; then walk the CQ and
 *                   wake the waker each completion's user_data names.
 *   unpark          only another thread could call it while we are
 *                   parked, and there is none: a wake always comes from
 *                   this thread, while it runs (a task, the reactor's CQ
 *                   walk).  So unpark just sets a token that makes the
 *                   next park return at once, as the contract asks.
 *   now_ns          clock_gettime(CLOCK_MONOTONIC).
 *
 * Sleeping uses the executor's own timer wheel, not a TIMEOUT op: the
 * wheel's next deadline becomes park's timeout, so any number of sleeps
 * cost no ring entry and no extra syscall, and dropping one costs O(1)
 * without a CANCEL round trip.  (px_io_timeout, the ring's TIMEOUT op, is
 * there too, for tests of the ring itself.)
 *
 * Without a ring (ring_setup failed) the executor still runs: timers
 * park with the sleep syscall, and every px_io completes at once with
 * the setup error.
 *
 * A program that waits with no timer and no operation in flight can
 * never be woken (there is no other thread, no signal): park says so on
 * stderr and exits with PX_ASYNC_DEADLOCK instead of sleeping forever.
 *
 * Completions are only reaped when the executor parks, i.e. when no task
 * is runnable.  A task that never waits (a loop of YIELDs) delays them.
 *
 * Progress: the kernel runs at most ring.ops_max ops at once.  The
 * reactor hands it one READ and one WRITE per fd at a time, in the order
 * their futures were first polled (a lane per fd and direction), at most
 * ops_max / 2 other ops (NOP, TIMEOUT, BLK_*), and at most ops_max in
 * all; the rest wait in a queue in the program and go as completions
 * make room.  So ops that wait for one another (200 writes on a full
 * pipe) never keep out the one that would unblock them (the read), as
 * long as fewer than ops_max - ops_max / 2 lanes are busy at once (64
 * with the default ring; a process has at most 16 fds).  No op ever
 * completes with -PX_EAGAIN: one the kernel refused goes again.
 */
#define PX_ASYNC_DEFAULT_ENTRIES 64
#define PX_ASYNC_DEADLOCK 125   /* exit status of a program that can never wake */

/* Set up the ring (entries: a power of two <= PX_RING_MAX; 0 = default)
 * and the executor.  Idempotent; px_run calls it.  Returns 0 or the
 * ring's -PX_Exxx (the executor works anyway, timers only). */
long px_async_init(unsigned entries);

/* Run main_future to completion on the executor (other tasks run too),
 * then drop the tasks still alive, wait for their cancelled operations
 * to complete, and return.  main_future lives in the caller's memory.
 * Returns 0, or the ring's set-up error (main ran anyway). */
long px_run(struct future *main_future);

/* The program's executor (px_async_init first if needed). */
struct executor *px_executor(void);

/* Spawn a task on the program's executor, storage from malloc.  jh may be
 * NULL (detached).  TASK_OK or TASK_ENOMEM. */
int px_task_spawn(const struct task_desc *desc, struct join_handle *jh);

/* Monotonic time in ns: the kernel's clock, plus the time virtual time
 * skipped (px_async_virtual_time). */
uint64_t px_now(void);

/* ---- Timers on the executor's wheel ---------------------------------------*/

/* A struct sleep ready ns nanoseconds from now; await with sleep_poll. */
void px_sleep_for(struct sleep *s, uint64_t ns);
/* A struct timeout around inner, elapsing ns from now (timeout_poll). */
void px_timeout_for(struct timeout *t, struct future *inner, uint64_t ns);
/* A struct interval ticking every period_ns, first tick one period from now. */
void px_interval_every(struct interval *iv, uint64_t period_ns);

/* ---- Ring operations as futures ---------------------------------------------
 *
 * One future type, struct px_io, for every op; the initialisers say which.
 * Await with px_io_poll; Ready with io->result, the op's result: bytes (or
 * 0) on success, -PX_Exxx on error (-PX_ECANCELED if cancelled).
 *
 * The completion slot.  The kernel needs a name for the operation that
 * stays valid until it posts the completion: user_data.  Ours is the
 * address of a small struct px_slot { waker, result, flags } that the
 * reactor hands out from a pool (never returned to malloc).  The future
 * owns its slot from submission until it reads the result; the CQ walk
 * stores the result and wakes the slot's waker.
 *
 *     px_io_poll, first:   take a slot, queue the op (OWNED|QUEUED);
 *                          in its turn (see "Progress") an SQE, submitted
 *                          at the next park, with the others
 *          |                                    flags OWNED|OP
 *          v
 *     [in flight] --(CQE: reactor stores result, wakes)--> [done]  flags OWNED
 *          |                                                   |
 *          | px_io_drop                        px_io_poll: Ready, slot freed
 *          v
 *     [orphaned]  CANCEL queued with addr = the slot, its own user_data =
 *                 the slot | 1; flags OP|CANCEL.  The slot is freed only
 *                 when both completions have arrived: the op's (res
 *                 -PX_ECANCELED, or its real result if it won the race)
 *                 and the CANCEL's (0 or -PX_ENOENT).  Freeing it after
 *                 the op's alone would let a new op reuse the address as
 *                 user_data while the CANCEL naming it is still queued.
 *
 * An op dropped before the kernel saw it (its SQE not yet published: the
 * usual case for the loser of a select2 polled in the same round) is
 * turned into a NOP in place; no CANCEL is needed and the slot is freed
 * when the NOP completes.
 *
 * Safety, buffers: the kernel reads or writes the caller's buffer until
 * the op's completion.  So px_io_drop of a READ, WRITE, BLK_READ or
 * BLK_WRITE in flight also waits (in ring_enter; other completions are
 * processed and their tasks woken meanwhile) until that completion has
 * arrived: when drop returns, the buffer is the caller's again.  Ops
 * without a buffer (NOP, TIMEOUT) are orphaned and forgotten at once.
 * Either way: keep buf valid from the first poll until Ready or drop.
 */
struct px_slot;

struct px_io {
	struct future base;
	struct px_sqe sqe;              /* what to submit; user_data set at submission */
	struct px_slot *slot;           /* while in flight */
	long long result;               /* valid once Ready */
	int state;                      /* 0 not started, 1 in flight, 2 done */
	uint32_t sq_index;              /* where its SQE went (drop before submission) */
};

void px_io_read(struct px_io *io, int fd, void *buf, size_t n);
void px_io_write(struct px_io *io, int fd, const void *buf, size_t n);
/* Disk: first sector, bytes a multiple of 512. */
void px_io_blk_read(struct px_io *io, uint64_t sector, void *buf, size_t bytes);
void px_io_blk_write(struct px_io *io, uint64_t sector, const void *buf, size_t bytes);
void px_io_nop(struct px_io *io);
/* At an offset (pread/pwrite); PX_OFF_CUR: at the file position. */
void px_io_read_at(struct px_io *io, int fd, void *buf, size_t n, uint64_t off);
void px_io_write_at(struct px_io *io, int fd, const void *buf, size_t n, uint64_t off);
/*
 * The file system (lib/uapi/pollux.h, PX_OP_OPENAT..; results and errors
 * as the syscalls of the same names).  Paths need to stay valid only until
 * the op is submitted, but the simple rule is: until Ready.  openat's
 * flags are PX_O_*; its result is the new fd.  A dropped OPENAT that had
 * already opened leaves the fd open (px_io_cancel returns it); a dropped
 * change (mkdir, unlink, rename, a write, ...) that the kernel had begun
 * still happens, all or nothing.  STAT, FSTAT and GETDENTS write the
 * caller's buffer: their drop waits for the completion, as a READ's does.
 */
void px_io_openat(struct px_io *io, const char *path, int flags);
void px_io_close(struct px_io *io, int fd);
void px_io_stat(struct px_io *io, const char *path, struct px_stat *st);
void px_io_fstat(struct px_io *io, int fd, struct px_stat *st);
void px_io_fsync(struct px_io *io, int fd);
void px_io_mkdir(struct px_io *io, const char *path);
void px_io_unlink(struct px_io *io, const char *path);
void px_io_rmdir(struct px_io *io, const char *path);
void px_io_rename(struct px_io *io, const char *from, const char *to);
void px_io_link(struct px_io *io, const char *from, const char *to);
/* off: a directory slot to read from, or PX_OFF_CUR (the fd's position). */
void px_io_getdents(struct px_io *io, int fd, struct px_dirent *buf, size_t n, uint64_t off);
void px_io_ftruncate(struct px_io *io, int fd, uint64_t size);
/*
 * TCP sockets (ring ACCEPT, CONNECT, RECV, SEND; results and errors as
 * accept(), connect(), recv(), send()).  accept's result is the new fd;
 * peer (may be NULL) gets the peer's address and must stay valid until
 * Ready (a dropped ACCEPT that had already taken a connection leaves its
 * fd open: px_io_cancel returns it).  connect's address is read when the
 * op is submitted.  RECV and SEND share the fd's read and write lanes
 * with READ and WRITE, and a dropped RECV's bytes are kept like a READ's.
 */
void px_io_accept(struct px_io *io, int fd, struct px_sockaddr_in *peer);
void px_io_connect(struct px_io *io, int fd, const struct px_sockaddr_in *to);
void px_io_recv(struct px_io *io, int fd, void *buf, size_t n);
void px_io_send(struct px_io *io, int fd, const void *buf, size_t n);
/* The ring's TIMEOUT op: completes with -PX_ETIME after ns. */
void px_io_timeout(struct px_io *io, uint64_t ns);

enum poll px_io_poll(struct px_io *io, struct context *cx);
/* Cancel if in flight (see above); harmless on a finished or fresh op.
 * Cancel-safe reads: a READ that had already taken bytes from its file
 * (it completed just before the CANCEL, or its completion was reaped but
 * not yet polled) hands them to the reactor, which keeps them, per fd
 * and in order, and returns them from that fd's next reads (px_io_read,
 * read() and px_read) before asking the kernel; closing the fd forgets
 * them.  So a stream read through a timeout, a select2 or a task that is
 * aborted loses no byte and sees none twice, at any number of harts,
 * provided one read of the fd is in flight at a time.  io->result is then
 * -PX_ECANCELED.  Otherwise io->result says what the op did, as
 * px_io_cancel returns it (a WRITE dropped just as it finished: its byte
 * count; NOP and TIMEOUT: always -PX_ECANCELED). */
void px_io_drop(struct px_io *io);
/* Cancel if in flight and wait for its completion, whatever the op, and
 * say what it did: its result if it finished before the cancel, else
 * -PX_ECANCELED (also for an op never submitted).  On a finished op:
 * its result.  A READ's bytes stay in its buffer, the caller's to use
 * (nothing is kept, unlike px_io_drop). */
long long px_io_cancel(struct px_io *io);
extern const struct future_vtable px_io_vtable;

/* ---- Servers ----------------------------------------------------------------*/

/*
 * A TCP server's accept loop, a future to px_run: it accepts on the
 * listening socket lfd and hands each new fd to start, which spawns the
 * connection's task and returns px_task_spawn's result (anything but
 * TASK_OK: the fd is closed, the client sees a reset).  When fds or
 * memory run out (-PX_EMFILE, -PX_ENOMEM) it waits 10 ms and accepts
 * again; any other error ends it, after "NAME: accept: ERROR" on stderr.
 */
struct px_acceptor {
	struct future base;
	int state;
	int lfd;
	const char *name;
	int (*start)(int fd);
	struct px_io acc;
	struct sleep nap;
};
void px_acceptor_init(struct px_acceptor *a, int lfd, const char *name, int (*start)(int fd));
extern const struct future_vtable px_acceptor_vtable;

/* ---- Between tests (px_test.h) ----------------------------------------------*/

/* What is still in flight: tasks spawned and not complete, timers queued
 * on the wheel, ring operations whose px_io has not yet read its result
 * (or been dropped). */
struct px_async_inflight {
	size_t tasks;
	unsigned timers;
	unsigned ops;
};
void px_async_inflight(struct px_async_inflight *out);

/* Start over with a fresh executor: drop every task still alive, cancel
 * every queued timer and every ring operation in flight, wait (at most
 * about 2 s) until the kernel is done with their buffers, and
 * exec_init again; virtual time off.  Whatever was pending is forgotten:
 * its futures must never be polled or dropped afterwards.  The ring stays. */
void px_async_reset(void);

/*
 * Virtual time (off by default; px_async_reset turns it off).  When on,
 * a park whose only way to end is the wheel's next timer does not sleep:
 * px_now() jumps to that deadline, so a test of 10 s of timers takes no
 * time.  Sound only while a timer is the only thing that can happen:
 * with any ring operation in flight (a read, a write, a TIMEOUT op, even
 * a cancelled one not yet confirmed) the wait is real, because the
 * kernel may complete it first, and px_now() then advances with the
 * kernel's clock.  What it cannot see: another process that was meant to
 * make progress during the skipped time (a child writing into a pipe you
 * only read after a sleep), and blocking syscalls (px_sleep, read),
 * which take real time.  px_now() stays monotonic across on and off.
 */
void px_async_virtual_time(int on);

/* ---- Reactor internals, for tests and benchmarks ----------------------------*/

struct px_reactor_stats {
	uint64_t submitted;     /* SQEs handed to the kernel */
	uint64_t completions;   /* CQEs reaped */
	uint64_t cancels;       /* CANCELs queued by px_io_drop */
	uint64_t parks;         /* ring_enter calls that could sleep */
	uint64_t enters;        /* ring_enter calls of any kind */
	unsigned slots_in_use;  /* ops (or their cancellations) not yet complete */
};
void px_reactor_stats(struct px_reactor_stats *out);

/* The reactor's ring (NULL without one): benchmarks may use it raw while
 * nothing else is in flight. */
struct px_ring *px_reactor_ring(void);

/* Walk the CQ now: store results, wake wakers; then let queued ops whose
 * turn came into the SQ.  Returns CQEs handled. */
unsigned px_reactor_reap(void);

#endif /* USER_INCLUDE_PX_ASYNC_H */

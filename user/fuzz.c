/* fuzz: random syscalls and ring entries from a seed, with an oracle for what must fail. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"

/*
 * usage: fuzz [fs] [SEED [CHILDREN [CALLS [PAR]]]]   (defaults 1 8 1500 2)
 *        fuzz child SEED CALLS END PPID          (one child; run by the above)
 *        fuzz fschild SEED CALLS                 (one child of "fuzz fs")
 *
 * The parent spawns CHILDREN children, PAR at a time, the i-th with seed
 * SEED + i.  A child makes CALLS random calls drawn from `calls` below
 * (each syscall with random and adversarial arguments: bad pointers,
 * huge lengths, closed and out-of-range fds, bad values) interleaved with
 * bursts of ring entries (every opcode, bad ones, bad fds and buffers,
 * cancels of operations that exist and that do not, waits, an overflowed
 * CQ, a corrupted ring).  The child keeps a model of its descriptors and
 * pipes (kind, bytes queued, the byte pattern written), so the oracle
 * knows the exact result of most calls and the set of allowed results of
 * the rest: a call that must fail must fail with its error, no call that
 * must fail may succeed, and data read back must be what was written.
 * A syscall number the table does not know must give -PX_ENOSYS, and an
 * opcode it does not know -PX_EINVAL: a new syscall or opcode gets a row
 * here (its argument maker and its oracle) before it is fuzzed.
 *
 * The child ends in one of three ways, chosen by the parent: exit(0)
 * with nothing in flight, exit(0) with ring operations in flight, or
 * kill(itself) with operations in flight; the parent checks the status
 * it gets from wait.  A fault kills only the child (the parent reports
 * it); a kernel panic or hang ends the boot without the summary line.
 * Prints "N passed, N failed", a child being one test.
 */

#define MAX_FD PX_NFD_MAX /* the kernel's fd limit */

static uint64_t rng;

static uint64_t next64(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(next64() % n) : 0;
}

static int chance(unsigned pct)
{
	return below(100) < pct;
}

/* ---- the child's model of its process ------------------------------------*/

enum kind { K_NONE, K_CON, K_PR, K_PW };

struct fdm {
	enum kind kind;
	int pipe;               /* K_PR / K_PW */
};

struct pipem {
	int nr, nw;             /* fds naming the read / write end */
	uint64_t wpos, rpos;    /* bytes written / read so far: byte k is k & 0xff */
};

static struct fdm fds[MAX_FD];
static struct pipem pipes[64];
static int npipes;

static unsigned long long seed;
static unsigned calls_made, ring_entries, failures, call_no;
static unsigned n_bursts, n_overflows, n_corrupts;
static const char *cur_call = "";

static unsigned char vbuf[3 * 4096] __attribute__((aligned(4096)));
static unsigned char cbuf[8192];
static uint64_t heap_end;   /* page_up(break): unmapped from here */
static long my_pid, parent_pid;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	failures++;
	if (failures > 20)
		return;
	printf("fuzz: seed %llu call %u (%s): ", seed, call_no, cur_call);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define EXPECT(got, want, ...) do { \
	long g_ = (long)(got), w_ = (long)(want); \
	if (g_ != w_) { \
		fail(__VA_ARGS__); \
		if (failures <= 20) \
			printf("    got %ld, want %ld\n", g_, w_); \
	} \
} while (0)

static long sc(long nr, long a, long b, long c, long d)
{
	calls_made++;
	return px_syscall(nr, a, b, c, d, (long)next64(), (long)next64());
}

/* ---- argument makers --------------------------------------------------------*/

/* An address no call may read or write (any length >= 3). */
static uint64_t bad_ptr(void)
{
	switch (below(10)) {
	case 0: return 0;
	case 1: return 0x1000;
	case 2: return 0x80200000;                    /* kernel RAM (riscv64) */
	case 3: return 0x40080000;                    /* kernel RAM (aarch64) */
	case 4: return PX_USER_BASE - 8;              /* straddles into user */
	case 5: return PX_USER_TOP;                   /* past the stack */
	case 6: return PX_STACK_TOP - (PX_STACK_PAGES + 1) * 4096ULL; /* guard */
	case 7: return heap_end + below(4096);        /* above the break */
	case 8: return heap_end - 2;                  /* straddles the break */
	default: {
		static const uint64_t far[] = { 0xffffffffffffff00ULL, 0x8000000000000000ULL,
						(uint64_t)-4096, 0x0000800000000000ULL };
		return far[below(4)];
	}
	}
}

/* Bad for a string: no byte of it readable (a straddling one may end
 * in its readable part). */
static uint64_t bad_str(void)
{
	uint64_t b;
	do
		b = bad_ptr();
	while (b == heap_end - 2);
	return b;
}

/* Bad for a call that writes to user memory: also read-only text. */
static uint64_t bad_wptr(void)
{
	return chance(20) ? (uint64_t)(uintptr_t)&bad_ptr : bad_ptr();
}

/* A length for a bad pointer: >= 16. */
static uint64_t some_len(void)
{
	switch (below(4)) {
	case 0: return 16 + below(64);
	case 1: return 4096;
	case 2: return 1ULL << (20 + below(40));
	default: return (uint64_t)-1 - below(16);
	}
}

/* An fd that is not open: negative, past the table, or closed. */
static long bad_fd(void)
{
	switch (below(4)) {
	case 0: return -1 - (long)below(1000);
	case 1: return MAX_FD + (long)below(1000);
	case 2: return (long)(next64() | (1ULL << 40));
	default:
		for (int tries = 0; tries < 8; tries++) {
			int fd = (int)below(MAX_FD);
			if (fds[fd].kind == K_NONE)
				return fd;
		}
		return MAX_FD;
	}
}

/* The same as an SQE's int fd. */
static int bad_fd_int(void)
{
	long b;
	do
		b = bad_fd();
	while (b != (int)b);
	return (int)b;
}

/* An open fd of kind k (any open one for K_NONE), or -1. */
static int pick_fd(enum kind k)
{
	int cand[MAX_FD], n = 0;
	for (int fd = 0; fd < MAX_FD; fd++)
		if (fds[fd].kind != K_NONE && (k == K_NONE || fds[fd].kind == k))
			cand[n++] = fd;
	return n ? cand[below((uint32_t)n)] : -1;
}

static int lowest_free(int from)
{
	for (int fd = from; fd < MAX_FD; fd++)
		if (fds[fd].kind == K_NONE)
			return fd;
	return -1;
}

/* -PX_EBADF if fd is the wrong end of a pipe for the direction (its
 * file has no such operation: file_start), else 0. */
static long dir_err(int fd, int write)
{
	return fds[fd].kind == (write ? K_PR : K_PW) ? -PX_EBADF : 0;
}

static struct pipem *pipe_of(int fd)
{
	return &pipes[fds[fd].pipe];
}

static uint64_t queued(const struct pipem *p)
{
	return p->wpos - p->rpos;
}

/* ---- syscalls ----------------------------------------------------------------
 * Each maker issues one call with random arguments and checks the result.
 * The argument classes are chosen so that no call can block for good: a
 * read of a pipe only when bytes are queued or no writer is left, a write
 * only within the room left, no console read that must wait. */

static void f_getpid(void)
{
	EXPECT(sc(SYS_getpid, (long)next64(), 0, 0, 0), my_pid, "getpid");
}

static void f_read_write(int write, int at)
{
	long nr = at ? (write ? SYS_pwrite : SYS_pread) : (write ? SYS_write : SYS_read);
	uint64_t off = at ? (chance(50) ? next64() : below(100)) : 0;
	int fd;
	switch (below(5)) {
	case 0: {
		long bfd = bad_fd();
		EXPECT(sc(nr, bfd, (long)vbuf, 16, (long)off), -PX_EBADF, "bad fd %ld", bfd);
		return;
	}
	case 1:
		fd = pick_fd(write ? K_PW : K_PR);
		if (fd < 0)
			return;
		if (at) {
			long want = off > INT64_MAX ? -PX_EINVAL : -PX_ESPIPE;
			EXPECT(sc(nr, fd, (long)vbuf, 16, (long)off), want, "offset on a pipe");
			return;
		} else {
			uint64_t p = write ? bad_ptr() : bad_wptr(), n = some_len();
			EXPECT(sc(nr, fd, (long)p, (long)n, 0), -PX_EFAULT, "fd %d buf %#llx len %#llx",
			       fd, (unsigned long long)p, (unsigned long long)n);
		}
		return;
	case 2:
		fd = pick_fd(K_NONE);
		if (fd < 0 || at)
			return;
		EXPECT(sc(nr, fd, (long)bad_ptr(), 0, 0), dir_err(fd, write), "zero length, fd %d", fd);
		return;
	case 3:
		/* the console: only what cannot wait or print */
		if (at || write)
			return;
		EXPECT(sc(nr, 0, (long)bad_wptr(), (long)some_len(), 0), -PX_EFAULT, "console buf");
		return;
	default:
		break;
	}
	if (at)
		return;
	/* a pipe, with the exact result */
	fd = pick_fd(write ? K_PW : K_PR);
	if (fd < 0)
		return;
	struct pipem *p = pipe_of(fd);
	if (write) {
		uint64_t room = 4096 - queued(p);
		if (p->nr == 0) {
			EXPECT(sc(nr, fd, (long)vbuf, 1 + below(100), 0), -PX_EPIPE, "write, no reader");
			return;
		}
		if (room == 0)
			return;
		uint32_t n = 1 + below((uint32_t)room);
		for (uint32_t i = 0; i < n; i++)
			vbuf[i] = (unsigned char)(p->wpos + i);
		EXPECT(sc(nr, fd, (long)vbuf, n, 0), n, "pipe write");
		p->wpos += n;
	} else {
		uint64_t q = queued(p);
		if (q == 0 && p->nw > 0)
			return;	/* would wait */
		uint32_t n = 1 + below(5000);
		long want = (long)(q < n ? q : n);
		long got = sc(nr, fd, (long)cbuf, n, 0);
		EXPECT(got, want, "pipe read of %u (queued %llu)", n, (unsigned long long)q);
		for (long i = 0; i < got && i < want; i++)
			if (cbuf[i] != (unsigned char)(p->rpos + (uint64_t)i)) {
				fail("pipe read: byte %ld is %u, want %u", i, cbuf[i],
				     (unsigned char)(p->rpos + (uint64_t)i));
				break;
			}
		if (got > 0)
			p->rpos += (uint64_t)got;
	}
}

static void f_read(void) { f_read_write(0, 0); }
static void f_write(void) { f_read_write(1, 0); }
static void f_pread(void) { f_read_write(0, 1); }
static void f_pwrite(void) { f_read_write(1, 1); }

static void f_pipe(void)
{
	if (chance(30)) {
		EXPECT(sc(SYS_pipe, (long)bad_wptr(), 0, 0, 0), -PX_EFAULT, "pipe bad ptr");
		return;
	}
	int a = lowest_free(0), b = a < 0 ? -1 : lowest_free(a + 1);
	int out[2] = { -1, -1 };
	long r = sc(SYS_pipe, (long)out, 0, 0, 0);
	if (b < 0 || npipes == (int)(sizeof(pipes) / sizeof(pipes[0]))) {
		if (b < 0)
			EXPECT(r, -PX_EMFILE, "pipe, table full");
		else if (r == 0)
			px_close(out[0]), px_close(out[1]);
		return;
	}
	EXPECT(r, 0, "pipe");
	if (r != 0)
		return;
	EXPECT(out[0], a, "pipe read fd");
	EXPECT(out[1], b, "pipe write fd");
	pipes[npipes] = (struct pipem){ 1, 1, 0, 0 };
	fds[a] = (struct fdm){ K_PR, npipes };
	fds[b] = (struct fdm){ K_PW, npipes };
	npipes++;
}

static void fd_forget(int fd)
{
	if (fds[fd].kind == K_PR)
		pipe_of(fd)->nr--;
	if (fds[fd].kind == K_PW)
		pipe_of(fd)->nw--;
	fds[fd].kind = K_NONE;
}

static void f_close(void)
{
	if (chance(40)) {
		long b = bad_fd();
		EXPECT(sc(SYS_close, b, 0, 0, 0), -PX_EBADF, "close %ld", b);
		return;
	}
	int fd = pick_fd(K_NONE);
	if (fd < 3)
		return;	/* keep the console: the report goes there */
	EXPECT(sc(SYS_close, fd, 0, 0, 0), 0, "close %d", fd);
	fd_forget(fd);
}

static void f_dup(void)
{
	if (chance(30)) {
		long b = bad_fd();
		EXPECT(sc(SYS_dup, b, 0, 0, 0), -PX_EBADF, "dup %ld", b);
		return;
	}
	int fd = pick_fd(K_NONE), nfd = lowest_free(0);
	if (fd < 0)
		return;
	long r = sc(SYS_dup, fd, 0, 0, 0);
	EXPECT(r, nfd < 0 ? -PX_EMFILE : nfd, "dup %d", fd);
	if (nfd >= 0 && r == nfd) {
		fds[nfd] = fds[fd];
		if (fds[fd].kind == K_PR)
			pipe_of(fd)->nr++;
		if (fds[fd].kind == K_PW)
			pipe_of(fd)->nw++;
	}
}

static void f_fstat(void)
{
	struct px_stat st;
	int fd = pick_fd(K_NONE);
	switch (below(3)) {
	case 0: {
		long b = bad_fd();
		EXPECT(sc(SYS_fstat, b, (long)&st, 0, 0), -PX_EBADF, "fstat %ld", b);
		return;
	}
	case 1:
		if (fd >= 0)
			EXPECT(sc(SYS_fstat, fd, (long)bad_wptr(), 0, 0), -PX_EFAULT, "fstat bad ptr");
		return;
	default:
		if (fd < 0)
			return;
		memset(&st, 0xa5, sizeof(st));
		EXPECT(sc(SYS_fstat, fd, (long)&st, 0, 0), 0, "fstat %d", fd);
		if (fds[fd].kind == K_CON) {
			EXPECT(st.type, PX_S_CHR, "fstat console type");
		} else {
			EXPECT(st.type, PX_S_FIFO, "fstat pipe type");
			EXPECT(st.size, queued(pipe_of(fd)), "fstat pipe size (bytes queued)");
		}
	}
}

static void f_fsync(void)
{
	int fd = pick_fd(K_NONE);
	if (fd < 0 || chance(40)) {
		long b = bad_fd();
		EXPECT(sc(SYS_fsync, b, 0, 0, 0), -PX_EBADF, "fsync %ld", b);
		return;
	}
	EXPECT(sc(SYS_fsync, fd, 0, 0, 0), -PX_EINVAL, "fsync of a pipe or the console");
}

static void f_yield(void)
{
	EXPECT(sc(SYS_yield, (long)next64(), 0, 0, 0), 0, "yield");
}

static void f_sleep(void)
{
	if (chance(50)) {
		uint64_t ms = UINT64_MAX / 2000000 + 1 + (next64() >> 1);
		EXPECT(sc(SYS_sleep, (long)ms, 0, 0, 0), -PX_EINVAL, "sleep %llu", (unsigned long long)ms);
		return;
	}
	EXPECT(sc(SYS_sleep, below(2), 0, 0, 0), 0, "sleep");
}

static uint64_t last_ns;

static void f_clock(void)
{
	struct px_timespec ts;
	switch (below(3)) {
	case 0: {
		long c = (long)next64();
		if (c == CLOCK_MONOTONIC_ID)
			c = 0;
		EXPECT(sc(SYS_clock_gettime, c, (long)bad_wptr(), 0, 0), -PX_EINVAL, "clock %ld", c);
		return;
	}
	case 1:
		EXPECT(sc(SYS_clock_gettime, CLOCK_MONOTONIC_ID, (long)bad_wptr(), 0, 0), -PX_EFAULT,
		       "clock_gettime bad ptr");
		return;
	default:
		EXPECT(sc(SYS_clock_gettime, CLOCK_MONOTONIC_ID, (long)&ts, 0, 0), 0, "clock_gettime");
		uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000LL || ns < last_ns)
			fail("clock_gettime: %lld.%09lld after %llu ns", ts.tv_sec, ts.tv_nsec,
			     (unsigned long long)last_ns);
		last_ns = ns;
	}
}

static void f_sbrk(void)
{
	long old = sc(SYS_sbrk, 0, 0, 0, 0);
	if (old < 0) {
		fail("sbrk(0) = %ld", old);
		return;
	}
	switch (below(3)) {
	case 0: {
		long huge = (long)(PX_RING_BASE - (uint64_t)old) + 1 + (long)below(1 << 20);
		EXPECT(sc(SYS_sbrk, huge, 0, 0, 0), -PX_ENOMEM, "sbrk(+%ld)", huge);
		EXPECT(sc(SYS_sbrk, -(long)(1ULL << 40), 0, 0, 0), -PX_ENOMEM, "sbrk(-2^40)");
		EXPECT(sc(SYS_sbrk, (long)0x8000000000000000ULL, 0, 0, 0), -PX_ENOMEM, "sbrk(INT64_MIN)");
		return;
	}
	default: {
		long n = 2 + (long)below(3 * 4096);	/* two bytes: m[0], m[n - 1] */
		EXPECT(sc(SYS_sbrk, n, 0, 0, 0), old, "sbrk(+%ld)", n);
		volatile unsigned char *m = (unsigned char *)(uintptr_t)old;
		m[0] = 1;
		m[n - 1] = 2;
		EXPECT(m[0] + m[n - 1], 3, "new heap memory");
		EXPECT(sc(SYS_sbrk, -n, 0, 0, 0), old + n, "sbrk(-%ld)", n);
		EXPECT(sc(SYS_sbrk, 0, 0, 0, 0), old, "sbrk back");
	}
	}
}

static void f_kstat(void)
{
	uint64_t w = chance(50) ? below(PX_KSTAT_COUNT) : PX_KSTAT_COUNT + next64() % 1000;
	long r = sc(SYS_kstat, (long)w, 0, 0, 0);
	if (w < PX_KSTAT_COUNT) {
		if (r < 0)
			fail("kstat %llu = %ld", (unsigned long long)w, r);
	} else {
		EXPECT(r, -PX_EINVAL, "kstat %llu", (unsigned long long)w);
	}
}

static void f_progs(void)
{
	char name[64];
	switch (below(4)) {
	case 0: {
		long i = (long)(next64() | (1ULL << 20));
		EXPECT(sc(SYS_progs, i, (long)name, sizeof(name), 0), -PX_ENOENT, "progs %ld", i);
		return;
	}
	case 1:
		EXPECT(sc(SYS_progs, 0, (long)name, 0, 0), -PX_ERANGE, "progs, no room");
		return;
	case 2:
		EXPECT(sc(SYS_progs, 0, (long)bad_wptr(), 4096, 0), -PX_EFAULT, "progs bad ptr");
		return;
	default: {
		long r = sc(SYS_progs, 0, (long)name, sizeof(name), 0);
		if (r <= 0 || !memchr(name, 0, sizeof(name)))
			fail("progs 0 = %ld", r);
	}
	}
}

static void f_wait(void)
{
	int st;
	switch (below(4)) {
	case 0:
		EXPECT(sc(SYS_wait, -1, (long)&st, 0, 0), -PX_ECHILD, "wait(-1): no child");
		return;
	case 1: {
		long pid = -2 - (long)below(1000);
		EXPECT(sc(SYS_wait, chance(50) ? 0 : pid, (long)&st, 0, 0), -PX_EINVAL, "wait(%ld)", pid);
		return;
	}
	case 2:
	{
		uint64_t b;
		do	/* NULL: no status wanted */
			b = bad_wptr();
		while (b == 0);
		EXPECT(sc(SYS_wait, -1, (long)b, 0, 0), -PX_EFAULT, "wait bad status");
	}
		return;
	default: {
		long pid = 1 + (long)below(1 << 30);
		EXPECT(sc(SYS_wait, pid, 0, 0, 0), -PX_ECHILD, "wait(%ld)", pid);
	}
	}
}

static void f_kill(void)
{
	switch (below(4)) {
	case 0:
		EXPECT(sc(SYS_kill, parent_pid, 0, 0, 0), -PX_EPERM, "kill(parent)");
		return;
	case 1:
		EXPECT(sc(SYS_kill, 1 << 30 | below(1 << 20), 0, 0, 0), -PX_ESRCH, "kill(no such pid)");
		return;
	case 2:
		EXPECT(sc(SYS_kill, -(1 << 30) - (long)below(1 << 20), 0, 0, 0), -PX_ESRCH,
		       "kill(-no such group)");
		return;
	default: {
		static const long odd[] = { 0, -1, (long)1 << 33, -((long)1 << 33), INT64_MIN };
		long pid = odd[below(5)];
		EXPECT(sc(SYS_kill, pid, 0, 0, 0), -PX_ESRCH, "kill(%ld)", pid);
	}
	}
}

static char junk_path[80];

static void f_spawn(void)
{
	int pg = chance(50);
	long nr = pg ? SYS_spawnpg : SYS_spawn;
	snprintf(junk_path, sizeof(junk_path), "no-such-prog-%llx", (unsigned long long)next64());
	const char *argv_ok[] = { junk_path, "x", NULL };
	uint64_t path = (uint64_t)(uintptr_t)junk_path, argv = (uint64_t)(uintptr_t)argv_ok;
	long want = -PX_ENOENT;
	switch (below(4)) {
	case 0:
		path = bad_str();
		want = -PX_EFAULT;
		break;
	case 1:
		argv = bad_str();
		want = argv ? -PX_EFAULT : -PX_ENOENT;	/* NULL argv is allowed */
		break;
	case 2:
		memset(junk_path, 'a', sizeof(junk_path) - 1);
		junk_path[sizeof(junk_path) - 1] = 0;	/* longer than PX_PATH_MAX */
		break;
	default:
		break;
	}
	if (!pg) {
		EXPECT(sc(nr, (long)path, (long)argv, 0, 0), want, "spawn");
		return;
	}
	switch (below(3)) {
	case 0: /* bad flags: after the pgid check, before the path */
		EXPECT(sc(nr, (long)path, (long)argv, PX_PG_INHERIT, 4 << below(28)), -PX_EINVAL,
		       "spawnpg flags");
		return;
	case 1: /* bad group */
		EXPECT(sc(nr, (long)path, (long)argv, -2 - (long)below(1000), 0), -PX_EINVAL,
		       "spawnpg pgid < -1");
		EXPECT(sc(nr, (long)path, (long)argv, 1 << 30, 0), -PX_ESRCH, "spawnpg no group");
		return;
	default:
		EXPECT(sc(nr, (long)path, (long)argv, chance(50) ? PX_PG_NEW : PX_PG_INHERIT,
			  PX_SPAWN_STDIO), want, "spawnpg");
	}
}

static void f_setfg(void)
{
	if (chance(50)) {
		long g = -1 - (long)below(1000);
		EXPECT(sc(SYS_setfg, g, 0, 0, 0), -PX_EINVAL, "setfg(%ld)", g);
		return;
	}
	long r = sc(SYS_setfg, 1 << 30, 0, 0, 0);
	if (r != -PX_ESRCH && r != -PX_ENOTTY)
		fail("setfg(no such group) = %ld", r);
}

static void f_getpgid(void)
{
	long own = sc(SYS_getpgid, 0, 0, 0, 0);
	if (own <= 0)
		fail("getpgid(0) = %ld", own);
	EXPECT(sc(SYS_getpgid, my_pid, 0, 0, 0), own, "getpgid(self)");
	long pid = chance(50) ? -1 - (long)below(1000) : (long)(next64() | (1ULL << 32));
	EXPECT(sc(SYS_getpgid, pid, 0, 0, 0), -PX_ESRCH, "getpgid(%ld)", pid);
}

static struct px_ring ring;
static int have_ring;

static void f_ring_setup(void)
{
	struct px_ring_params prm;
	static const unsigned bad[] = { 0, 3, 6, 100, 2 * PX_RING_MAX, 4 * PX_RING_MAX,
					       0xffffffffu };
	unsigned e = bad[below(7)];
	EXPECT(sc(SYS_ring_setup, e, (long)&prm, 0, 0), -PX_EINVAL, "ring_setup(%u)", e);
	e = 1u << below(11);   /* 1..PX_RING_MAX */
	EXPECT(sc(SYS_ring_setup, e, (long)bad_wptr(), 0, 0), -PX_EFAULT, "ring_setup bad ptr");
	if (have_ring)
		EXPECT(sc(SYS_ring_setup, e, (long)&prm, 0, 0), -PX_EBUSY, "second ring_setup");
}

static void f_ring_enter(void)
{
	if (!have_ring) {
		EXPECT(sc(SYS_ring_enter, (long)next64(), (long)next64(), 0, 0), -PX_EBADF,
		       "ring_enter without a ring");
		return;
	}
	/* Nothing new in the SQ, no wait: consumes nothing. */
	EXPECT(sc(SYS_ring_enter, (long)next64(), (long)next64(), 0, 0), 0, "ring_enter, empty SQ");
}

/* A syscall number the table does not know: -PX_ENOSYS. */
static int known(long nr);

static void f_unknown(void)
{
	long nr;
	do {
		switch (below(3)) {
		case 0: nr = (long)below(128); break;
		case 1: nr = -1 - (long)below(1 << 20); break;
		default: nr = (long)next64(); break;
		}
	} while (known(nr));
	EXPECT(sc(nr, (long)next64(), (long)bad_ptr(), (long)next64(), (long)next64()), -PX_ENOSYS,
	       "syscall %ld", nr);
}

/* ---- the file-system calls ---------------------------------------------------
 * The fuzzer runs with no file system mounted (its disk is blank:
 * fs_mount refuses it), checked once at the start with statfs: then
 * every lookup is -PX_ENOENT, every change -PX_EROFS, statfs -PX_ENODEV,
 * and no fd names a file of the disk, so lseek is -PX_ESPIPE, getdents
 * -PX_ENOTDIR and ftruncate -PX_EINVAL on every open fd.  The argument
 * checks come first, in the kernel's order: the path (or both, from
 * first), then the other pointer, then the flags. */

static char long_path[PX_FS_PATH_MAX + 64];  /* no NUL in its first PX_FS_PATH_MAX bytes */
static char max_path[PX_FS_PATH_MAX];        /* the longest path: PX_FS_PATH_MAX - 1 bytes */

static void paths_init(void)
{
	memset(long_path, 'l', sizeof(long_path) - 1);
	for (size_t i = 0; i < sizeof(max_path) - 1; i++)
		max_path[i] = (i % 8 == 7) ? '/' : 'm';
	max_path[sizeof(max_path) - 1] = 0;
}

/* A path argument and the error it alone gives (0: a good path). */
static uint64_t path_arg(long *err)
{
	static const char *const good[] = { "", "/", ".", "..", "a", "/bin/sh", "x/y/z",
					    "//a//b/", "/../..", "no-such-file" };
	switch (below(6)) {
	case 0:
		*err = -PX_EFAULT;
		return bad_str();
	case 1:
		*err = -PX_ENAMETOOLONG;
		return (uint64_t)(uintptr_t)long_path;
	case 2:
		*err = 0;
		return (uint64_t)(uintptr_t)max_path;
	default:
		*err = 0;
		return (uint64_t)(uintptr_t)good[below(sizeof(good) / sizeof(good[0]))];
	}
}

/* open's flags and whether they are bad (unknown bits, access mode 3). */
static int open_flags(int *bad)
{
	static const int ok[] = { PX_O_RDONLY, PX_O_WRONLY, PX_O_RDWR, PX_O_CREAT | PX_O_WRONLY,
				  PX_O_CREAT | PX_O_EXCL | PX_O_RDWR, PX_O_TRUNC | PX_O_WRONLY,
				  PX_O_APPEND | PX_O_WRONLY, PX_O_DIRECTORY };
	int f;
	switch (below(3)) {
	case 0:
		f = ok[below(sizeof(ok) / sizeof(ok[0]))] | PX_O_ACCMODE;
		*bad = 1;
		return f;
	case 1:
		do
			f = (int)next64();
		while (!(f & ~(PX_O_ACCMODE | PX_O_CREAT | PX_O_EXCL | PX_O_TRUNC | PX_O_APPEND |
			       PX_O_DIRECTORY)));
		*bad = 1;
		return f;
	default:
		*bad = 0;
		return ok[below(sizeof(ok) / sizeof(ok[0]))];
	}
}

static long open_want(long perr, int flags, int bad)
{
	return perr ? perr : bad ? -PX_EINVAL : flags & PX_O_CREAT ? -PX_EROFS : -PX_ENOENT;
}

static void f_open(void)
{
	long perr;
	int bad;
	uint64_t path = path_arg(&perr);
	int flags = open_flags(&bad);
	EXPECT(sc(SYS_open, (long)path, flags, 0, 0), open_want(perr, flags, bad),
	       "open(%#llx, %#x)", (unsigned long long)path, flags);
}

static void f_lseek(void)
{
	int fd = pick_fd(K_NONE);
	long whence = chance(70) ? (long)below(3) : (long)next64();
	long off = chance(50) ? (long)below(100) : (long)next64();
	if (fd < 0 || chance(40)) {
		long b = bad_fd();
		EXPECT(sc(SYS_lseek, b, off, whence, 0), -PX_EBADF, "lseek %ld", b);
		return;
	}
	EXPECT(sc(SYS_lseek, fd, off, whence, 0), -PX_ESPIPE, "lseek of a pipe or the console");
}

static void f_stat(void)
{
	struct px_stat st;
	long perr;
	uint64_t path = path_arg(&perr);
	int badst = chance(30);
	uint64_t sp = badst ? bad_wptr() : (uint64_t)(uintptr_t)&st;
	long want = perr ? perr : badst ? -PX_EFAULT : -PX_ENOENT;
	EXPECT(sc(SYS_stat, (long)path, (long)sp, 0, 0), want, "stat(%#llx, %#llx)",
	       (unsigned long long)path, (unsigned long long)sp);
}

/* mkdir, rmdir, unlink, chdir: a path alone. */
static void f_path1(long nr, const char *name)
{
	long perr;
	uint64_t path = path_arg(&perr);
	long want = perr ? perr : nr == SYS_chdir ? -PX_ENOENT : -PX_EROFS;
	EXPECT(sc(nr, (long)path, (long)next64(), 0, 0), want, "%s(%#llx)", name,
	       (unsigned long long)path);
}

static void f_mkdir(void) { f_path1(SYS_mkdir, "mkdir"); }
static void f_rmdir(void) { f_path1(SYS_rmdir, "rmdir"); }
static void f_unlink(void) { f_path1(SYS_unlink, "unlink"); }
static void f_chdir(void) { f_path1(SYS_chdir, "chdir"); }

/* rename, link: two paths, checked from first. */
static void f_path2(long nr, const char *name)
{
	long e1, e2;
	uint64_t from = path_arg(&e1), to = path_arg(&e2);
	long want = e1 ? e1 : e2 ? e2 : -PX_EROFS;
	EXPECT(sc(nr, (long)from, (long)to, 0, 0), want, "%s(%#llx, %#llx)", name,
	       (unsigned long long)from, (unsigned long long)to);
}

static void f_rename(void) { f_path2(SYS_rename, "rename"); }
static void f_link(void) { f_path2(SYS_link, "link"); }

static void f_getdents(void)
{
	static struct px_dirent d[2];
	int fd = pick_fd(K_NONE);
	if (fd < 0 || chance(30)) {
		long b = bad_fd();
		EXPECT(sc(SYS_getdents, b, (long)d, sizeof(d), 0), -PX_EBADF, "getdents %ld", b);
		return;
	}
	if (chance(50)) {
		uint64_t p = bad_wptr(), n = some_len();
		EXPECT(sc(SYS_getdents, fd, (long)p, (long)n, 0), -PX_EFAULT, "getdents bad buf");
		return;
	}
	long n = chance(50) ? (long)sizeof(d) : (long)below(sizeof(d[0]));
	EXPECT(sc(SYS_getdents, fd, n ? (long)d : (long)bad_ptr(), n, 0), -PX_ENOTDIR,
	       "getdents of a pipe or the console (n %ld)", n);
}

static void f_ftruncate(void)
{
	int fd = pick_fd(K_NONE);
	uint64_t size = chance(50) ? below(10000) : next64();
	if (fd < 0 || chance(40)) {
		long b = bad_fd();
		EXPECT(sc(SYS_ftruncate, b, (long)size, 0, 0), -PX_EBADF, "ftruncate %ld", b);
		return;
	}
	EXPECT(sc(SYS_ftruncate, fd, (long)size, 0, 0), -PX_EINVAL,
	       "ftruncate of a pipe or the console");
}

static void f_getcwd(void)
{
	char buf[8];
	switch (below(3)) {
	case 0: {
		long n = (long)below(2);
		EXPECT(sc(SYS_getcwd, (long)buf, n, 0, 0), -PX_ERANGE, "getcwd, n %ld", n);
		return;
	}
	case 1: {
		uint64_t b;
		do	/* "/" and its NUL fit the readable end of a straddling one */
			b = bad_wptr();
		while (b == heap_end - 2);
		EXPECT(sc(SYS_getcwd, (long)b, 2 + (long)below(4096), 0, 0), -PX_EFAULT,
		       "getcwd bad buf %#llx", (unsigned long long)b);
		return;
	}
	default:
		memset(buf, 'x', sizeof(buf));
		EXPECT(sc(SYS_getcwd, (long)buf, 2 + (long)below(sizeof(buf) - 1), 0, 0), 1, "getcwd");
		if (memcmp(buf, "/", 2) != 0)
			fail("getcwd: \"%.8s\", want \"/\"", buf);
	}
}

static void f_dup2(void)
{
	int fd = pick_fd(K_NONE);
	switch (below(3)) {
	case 0: {
		long b = bad_fd();
		EXPECT(sc(SYS_dup2, b, fd < 0 ? 3 : fd, 0, 0), -PX_EBADF, "dup2(%ld, ...)", b);
		return;
	}
	case 1: {
		long nfd = chance(50) ? -1 - (long)below(1000) : MAX_FD + (long)below(1000);
		if (fd >= 0)
			EXPECT(sc(SYS_dup2, fd, nfd, 0, 0), -PX_EBADF, "dup2(%d, %ld)", fd, nfd);
		return;
	}
	default: {
		int nfd = 3 + (int)below(MAX_FD - 3);	/* keep the console */
		if (fd < 0)
			return;
		long r = sc(SYS_dup2, fd, nfd, 0, 0);
		EXPECT(r, nfd, "dup2(%d, %d)", fd, nfd);
		if (r != nfd || nfd == fd)
			return;
		fd_forget(nfd);
		fds[nfd] = fds[fd];
		if (fds[fd].kind == K_PR)
			pipe_of(fd)->nr++;
		if (fds[fd].kind == K_PW)
			pipe_of(fd)->nw++;
	}
	}
}

static void f_statfs(void)
{
	struct px_statfs st;
	int bad = chance(40);
	uint64_t p = bad ? bad_wptr() : (uint64_t)(uintptr_t)&st;
	EXPECT(sc(SYS_statfs, (long)p, 0, 0, 0), bad ? -PX_EFAULT : -PX_ENODEV, "statfs(%#llx)",
	       (unsigned long long)p);
}

/* ---- sockets (50..59) ---------------------------------------------------------*/

/* socket(): the domain is checked first, then type and protocol.  A
 * valid one gives an fd, or -PX_ENODEV when the machine has no network
 * card (the slice boots without one); the fd is closed at once. */
static void f_socket(void)
{
	long dom = chance(70) ? PX_AF_INET : (long)next64();
	long type = chance(70) ? PX_SOCK_DGRAM : (long)next64();
	long proto;
	switch (below(4)) {
	case 0: proto = 0; break;
	case 1: proto = PX_IPPROTO_UDP; break;
	case 2: proto = PX_IPPROTO_ICMP; break;
	default: proto = (long)next64(); break;
	}
	long r = sc(SYS_socket, dom, type, proto, 0);
	if (dom != PX_AF_INET) {
		EXPECT(r, -PX_EAFNOSUPPORT, "socket(%ld, %ld, %ld)", dom, type, proto);
		return;
	}
	if (type == PX_SOCK_STREAM && (proto == 0 || proto == PX_IPPROTO_TCP)) {
		if (r >= 0)
			EXPECT(sc(SYS_close, r, 0, 0, 0), 0, "close of socket %ld", r);
		else if (r != -PX_ENODEV && r != -PX_EMFILE && r != -PX_ENOMEM)
			fail("socket(AF_INET, STREAM, %ld) = %ld: not an allowed result", proto, r);
		return;
	}
	if (type != PX_SOCK_DGRAM ||
	    (proto != 0 && proto != PX_IPPROTO_UDP && proto != PX_IPPROTO_ICMP)) {
		EXPECT(r, -PX_EPROTONOSUPPORT, "socket(%ld, %ld, %ld)", dom, type, proto);
		return;
	}
	if (r >= 0) {
		EXPECT(sc(SYS_close, r, 0, 0, 0), 0, "close of socket %ld", r);
		return;
	}
	if (r != -PX_ENODEV && r != -PX_EMFILE && r != -PX_ENOMEM)
		fail("socket(AF_INET, DGRAM, %ld) = %ld: not an allowed result", proto, r);
}

/* The socket calls (bind .. getpeername) on an fd that is no socket: -PX_EBADF for one
 * that is not open, -PX_ENOTSOCK for a pipe or the console, whatever the
 * other arguments (the fd is checked first). */
static void f_sock_call(void)
{
	static const long nrs[] = { SYS_bind, SYS_sendto, SYS_recvfrom, SYS_listen, SYS_accept,
				    SYS_connect, SYS_shutdown, SYS_getsockname, SYS_getpeername };
	long nr = nrs[below(sizeof(nrs) / sizeof(nrs[0]))];
	int fd = pick_fd(K_NONE);
	long a = (long)bad_ptr(), b = (long)next64(), c = (long)bad_ptr();
	if (fd < 0 || chance(40)) {
		long bad = bad_fd();
		EXPECT(sc(nr, bad, a, b, c), -PX_EBADF, "syscall %ld on fd %ld", nr, bad);
		return;
	}
	EXPECT(sc(nr, fd, a, b, c), -PX_ENOTSOCK, "syscall %ld on a pipe or the console", nr);
}

static void f_sync(void)
{
	EXPECT(sc(SYS_sync, (long)next64(), 0, 0, 0), 0, "sync");
}

/* ---- ring bursts ---------------------------------------------------------------*/

enum { MAX_PEND = 512 };

/* What a submitted entry may complete with. */
struct pend {
	uint64_t ud;
	uint8_t op, done, cancelled;   /* cancelled: a CANCEL of it said 0 */
	int pipe;                      /* READ/WRITE of a pipe: which, else -1 */
	uint32_t len;
	long want;                     /* exact result, or WANT_ANY */
	long alt;                      /* a second allowed result, or WANT_ANY */
	uint64_t target;               /* CANCEL: the user_data it names */
	uint8_t task;                  /* runs as a task: may get -PX_EAGAIN */
};
#define WANT_ANY 0x7fffffffffffL
#define WANT_IO  0x7ffffffffffeL   /* 0..len, or -ECANCELED */

static struct pend pend[MAX_PEND];
static unsigned npend;
static uint64_t next_ud = 1000;
static uint64_t ring_read_bytes[64], ring_write_bytes[64];

/*
 * Entries that run as tasks in one burst.  Each holds a completion the
 * ring owes until it finishes, and a ring whose owed completions fill
 * its backlog (4 x SQ entries) refuses every submission, CANCEL too
 * (issue 17, item 6): at most 2 x SQ entries keep a CANCEL always
 * admissible.  A task that could not start completes -PX_EAGAIN (the
 * per-ring and kernel-wide limits, pollux.h).
 */
static unsigned tasks_in_burst;

static int task_room(void)
{
	return tasks_in_burst < 2 * ring.sq_entries;
}

static struct pend *pend_find(uint64_t ud)
{
	for (unsigned i = 0; i < npend; i++)
		if (pend[i].ud == ud)
			return &pend[i];
	return NULL;
}

static int known_op(unsigned op);

static void check_cqe(const struct px_cqe *c)
{
	struct pend *p = pend_find(c->user_data);
	if (!p) {
		fail("CQE for unknown user_data %llu (res %lld)", c->user_data, c->res);
		return;
	}
	if (p->done) {
		fail("second CQE for user_data %llu (res %lld)", c->user_data, c->res);
		return;
	}
	p->done = 1;
	long r = (long)c->res;
	if (p->task && r == -PX_EAGAIN)
		return;
	if (p->want == WANT_IO) {
		if (r == -PX_ECANCELED && p->cancelled)
			return;
		if (r < 0 || r > (long)p->len) {
			fail("op %u user_data %llu: res %ld (len %u)", p->op, c->user_data, r, p->len);
			return;
		}
		if (p->op == PX_OP_WRITE && r != (long)p->len) {
			fail("pipe WRITE user_data %llu: res %ld, want %u (it had room)", c->user_data, r,
			     p->len);
			return;
		}
		if (p->pipe >= 0) {
			if (p->op == PX_OP_READ)
				ring_read_bytes[p->pipe] += (uint64_t)r;
			else
				ring_write_bytes[p->pipe] += (uint64_t)r;
		}
		return;
	}
	if (p->want == WANT_ANY)
		return;
	if (r == p->want || r == p->alt)
		return;
	if (r == -PX_ECANCELED && p->cancelled)
		return;
	fail("op %u user_data %llu: res %ld, want %ld%s", p->op, c->user_data, r, p->want,
	     p->alt != WANT_ANY ? " or the alternative" : "");
}

static void reap_all(void)
{
	uint32_t n = px_ring_cq_ready(&ring);
	for (uint32_t i = 0; i < n; i++)
		check_cqe(px_ring_cqe_at(&ring, i));
	px_ring_cq_advance(&ring, n);
}

static unsigned outstanding(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < npend; i++)
		n += !pend[i].done;
	return n;
}

/* Submit what the SQ holds; on -PX_EBUSY reap and retry. */
static void submit(void)
{
	long last = 0;
	for (int tries = 0; px_ring_unsubmitted(&ring) && tries < 1000; tries++) {
		long r = px_ring_submit(&ring, 0, 0);
		last = r;
		calls_made++;
		if (r == -PX_EBUSY) {
			/* "drain the CQ first": what is owed comes as ops finish,
			 * and they need the CPU we would spin on */
			if (!px_ring_cq_ready(&ring)) {
				px_ring_enter(0, 1, 5000000);
				calls_made++;
			}
			reap_all();
			continue;
		}
		if (r < 0) {
			fail("ring_enter = %ld", r);
			return;
		}
		reap_all();
	}
	if (px_ring_unsubmitted(&ring))
		fail("SQ never drained: %u unsubmitted, last ring_enter %ld, %u in flight, "
		     "%u tasks, CQ flags %u overflow %u", px_ring_unsubmitted(&ring), last,
		     outstanding(), tasks_in_burst, ring.cq->flags, ring.cq->overflow);

}

static struct pend *add_sqe(unsigned op, unsigned flags, int fd, uint64_t off, uint64_t addr,
			    uint32_t len, long want)
{
	if (npend == MAX_PEND)
		return NULL;
	struct px_sqe *s = px_ring_get_sqe(&ring);
	if (!s) {
		submit();
		s = px_ring_get_sqe(&ring);
		if (!s)
			return NULL;
	}
	struct pend *p = &pend[npend++];
	*p = (struct pend){ .ud = next_ud++, .op = (uint8_t)op, .pipe = -1, .len = len,
			    .want = want, .alt = WANT_ANY };
	px_sqe_prep(s, op, fd, off, addr, len, p->ud);
	s->flags = (unsigned char)flags;
	ring_entries++;
	/* what op_start runs as a task (want is set for the rest) */
	p->task = !flags && (want == WANT_IO || op == PX_OP_TIMEOUT || want == -PX_EPIPE ||
			     ((op == PX_OP_BLK_READ || op == PX_OP_BLK_WRITE) && want >= 0));
	tasks_in_burst += p->task;
	return p;
}

/* One file-system entry (opcodes OPENAT..FTRUNCATE), with the syscall's
 * oracle: no file system is mounted (see "the file-system calls"). */
static void fs_sqe(void)
{
	static struct px_stat sst;
	static struct px_dirent sd[2];
	long e1, e2;
	int fd, bad;
	uint64_t a, b;
	switch (PX_OP_OPENAT + below(PX_OP_FTRUNCATE + 1 - PX_OP_OPENAT)) {
	case PX_OP_OPENAT: {
		a = path_arg(&e1);
		int flags = open_flags(&bad);
		add_sqe(PX_OP_OPENAT, 0, (int)next64(), next64(), a, (uint32_t)flags,
			open_want(e1, flags, bad));
		return;
	}
	case PX_OP_CLOSE:
		if (chance(50) || (fd = pick_fd(K_NONE)) < 0) {
			add_sqe(PX_OP_CLOSE, 0, bad_fd_int(), 0, 0, 0, -PX_EBADF);
			return;
		}
		/* A copy the model never sees: the entries before it are
		 * consumed first, so none of them can take it for closed. */
		submit();
		{
			long nfd = px_dup(fd);
			calls_made++;
			if (nfd < 0)
				return;
			add_sqe(PX_OP_CLOSE, 0, (int)nfd, next64(), next64(), 0, 0);
			submit();
		}
		return;
	case PX_OP_FSTAT:
	case PX_OP_FSYNC:
	case PX_OP_GETDENTS:
	case PX_OP_FTRUNCATE: {
		unsigned op = PX_OP_FSTAT;
		switch (below(4)) {
		case 0: op = PX_OP_FSTAT; break;
		case 1: op = PX_OP_FSYNC; break;
		case 2: op = PX_OP_GETDENTS; break;
		default: op = PX_OP_FTRUNCATE; break;
		}
		fd = pick_fd(K_NONE);
		if (fd < 0 || chance(30)) {
			add_sqe(op, 0, bad_fd_int(), next64(), (uint64_t)(uintptr_t)sd, sizeof(sd),
				-PX_EBADF);
			return;
		}
		bad = chance(40);
		if (op == PX_OP_FSTAT) {
			a = bad ? bad_wptr() : (uint64_t)(uintptr_t)&sst;
			add_sqe(op, 0, fd, next64(), a, (uint32_t)next64(), bad ? -PX_EFAULT : 0);
		} else if (op == PX_OP_FSYNC) {
			add_sqe(op, 0, fd, next64(), next64(), (uint32_t)next64(), -PX_EINVAL);
		} else if (op == PX_OP_GETDENTS) {
			uint32_t len = bad ? 16 + below(5000) : below(2 * sizeof(sd[0]));
			a = bad ? bad_wptr() : (uint64_t)(uintptr_t)sd;
			add_sqe(op, 0, fd, chance(50) ? PX_OFF_CUR : next64(), a, len,
				bad ? -PX_EFAULT : -PX_ENOTDIR);
		} else {
			add_sqe(op, 0, fd, next64(), next64(), (uint32_t)next64(), -PX_EINVAL);
		}
		return;
	}
	case PX_OP_STAT:
		a = path_arg(&e1);
		bad = chance(30);
		b = bad ? bad_wptr() : (uint64_t)(uintptr_t)&sst;
		add_sqe(PX_OP_STAT, 0, (int)next64(), b, a, (uint32_t)next64(),
			e1 ? e1 : bad ? -PX_EFAULT : -PX_ENOENT);
		return;
	case PX_OP_MKDIR:
	case PX_OP_UNLINK:
	case PX_OP_RMDIR: {
		static const unsigned ops[] = { PX_OP_MKDIR, PX_OP_UNLINK, PX_OP_RMDIR };
		a = path_arg(&e1);
		add_sqe(ops[below(3)], 0, (int)next64(), next64(), a, (uint32_t)next64(),
			e1 ? e1 : -PX_EROFS);
		return;
	}
	default: /* RENAME, LINK: from in addr, to in off */
		a = path_arg(&e1);
		b = path_arg(&e2);
		add_sqe(chance(50) ? PX_OP_RENAME : PX_OP_LINK, 0, (int)next64(), b, a,
			(uint32_t)next64(), e1 ? e1 : e2 ? e2 : -PX_EROFS);
		return;
	}
}

/* One random entry. */
static void random_sqe(uint32_t *room_left)
{
	int fd;
	uint32_t len;
	struct pend *p;
	switch (below(14)) {
	case 0:
		add_sqe(PX_OP_NOP, 0, (int)next64(), next64(), next64(), (uint32_t)next64(), 0);
		return;
	case 1: {
		unsigned op;
		do
			op = below(256);
		while (known_op(op));
		add_sqe(op, 0, (int)next64(), next64(), bad_ptr(), (uint32_t)next64(), -PX_EINVAL);
		return;
	}
	case 2:
		add_sqe(below(PX_OP_COUNT), 1 + below(255), 0, 0, (uint64_t)(uintptr_t)vbuf, 16,
			-PX_EINVAL);
		return;
	case 3:
		add_sqe(chance(50) ? PX_OP_READ : PX_OP_WRITE, 0, bad_fd_int(), PX_OFF_CUR,
			(uint64_t)(uintptr_t)vbuf, 16, -PX_EBADF);
		return;
	case 4:
		fd = pick_fd(K_NONE);
		if (fd < 0)
			return;
		if (chance(50)) {
			add_sqe(PX_OP_READ, 0, fd, PX_OFF_CUR, bad_wptr(), 16 + below(5000),
				dir_err(fd, 0) ? dir_err(fd, 0) : -PX_EFAULT);
		} else {
			uint64_t b = bad_ptr();
			add_sqe(PX_OP_WRITE, 0, fd, next64(), b, 16 + below(5000),
				dir_err(fd, 1) ? dir_err(fd, 1) : -PX_EFAULT);
		}
		return;
	case 5:
		fd = pick_fd(K_NONE);
		if (fd >= 0) {
			int w = chance(50);
			add_sqe(w ? PX_OP_WRITE : PX_OP_READ, 0, fd, next64(), bad_ptr(), 0, dir_err(fd, w));
		}
		return;
	case 6: /* a pipe read: data now or later, or cancelled */
		fd = pick_fd(K_PR);
		if (fd < 0 || !task_room())
			return;
		len = 1 + below(3000);
		p = add_sqe(PX_OP_READ, 0, fd, next64(), (uint64_t)(uintptr_t)cbuf, len, WANT_IO);
		if (p)
			p->pipe = fds[fd].pipe;
		return;
	case 7: { /* a pipe write within the room left: never waits */
		fd = pick_fd(K_PW);
		if (fd < 0 || !task_room())
			return;
		struct pipem *pm = pipe_of(fd);
		if (pm->nr == 0) {
			add_sqe(PX_OP_WRITE, 0, fd, PX_OFF_CUR, (uint64_t)(uintptr_t)vbuf, 8, -PX_EPIPE);
			return;
		}
		uint32_t *room = &room_left[fds[fd].pipe];
		if (*room == 0)
			return;
		len = 1 + below(*room);
		*room -= len;
		/* Bytes written by concurrent ring writes interleave in any order, so
		 * the pattern is kept by syscall writes only: these write zeros,
		 * counted, and the pipe is drained below. */
		p = add_sqe(PX_OP_WRITE, 0, fd, PX_OFF_CUR, (uint64_t)(uintptr_t)(vbuf + 8192), len,
			    WANT_IO);
		if (p)
			p->pipe = fds[fd].pipe;
		return;
	}
	case 8: /* timeouts: short ones fire, long ones get cancelled */
		if (!task_room())
			return;
		if (chance(50))
			add_sqe(PX_OP_TIMEOUT, 0, 0, below(200000), 0, 0, -PX_ETIME);
		else
			add_sqe(PX_OP_TIMEOUT, 0, 0, 1ULL << 40, 0, 0, -PX_ECANCELED);
		return;
	case 9: { /* cancel of something that may be there, or of nothing */
		if (npend && chance(70)) {
			uint64_t t = pend[below(npend)].ud;
			p = add_sqe(PX_OP_CANCEL, 0, 0, 0, t, 0, WANT_ANY);
			if (p)
				p->target = t;
		} else {
			add_sqe(PX_OP_CANCEL, 0, 0, 0, next64() | (1ULL << 62), 0, -PX_ENOENT);
		}
		return;
	}
	case 10: { /* raw disk: a scratch disk (sectors 0..63 are the fuzzer's), or none */
		static const uint32_t lens[] = { 0, 100, 512, 4096, 128 * 1024, 128 * 1024 + 512 };
		len = lens[below(6)];
		int huge = chance(30), w = chance(30), bad = chance(30) || len > 4096;
		uint64_t sector = huge ? next64() | (1ULL << 40) : below(64);
		uint64_t a = bad ? bad_ptr() : (uint64_t)(uintptr_t)vbuf;
		/* blk_io_start: length, then the disk, the range, the buffer */
		long want = len == 0 || len % 512 || len > 128 * 1024 ? -PX_EINVAL
			    : huge ? -PX_ERANGE : bad ? -PX_EFAULT : (long)len;
		if (want == (long)len && !task_room())
			return;
		p = add_sqe(w ? PX_OP_BLK_WRITE : PX_OP_BLK_READ, 0, 0, sector, a, len, want);
		if (p && want != -PX_EINVAL)
			p->alt = -PX_ENODEV;
		return;
	}
	case 11:
	case 12:
		fs_sqe();
		return;
	default:
		add_sqe(PX_OP_NOP, 0, 0, 0, 0, 0, 0);
		return;
	}
}

/* After a burst: every CANCEL's answer is 0 or -ENOENT, and an entry
 * whose cancel said 0 may end -ECANCELED.  Checked as the CQEs come. */
static void note_cancels(void)
{
	for (unsigned i = 0; i < npend; i++) {
		struct pend *p = &pend[i];
		if (p->op != PX_OP_CANCEL || p->want != WANT_ANY)
			continue;
		p->want = 0;
		p->alt = -PX_ENOENT;
	}
}

/* Wait until every entry has its CQE: at most 15 s of waits, far more
 * than any entry here needs (guest time runs on while a loaded host
 * keeps QEMU off the CPU, so the bound is generous). */
static void drain(const char *why)
{
	for (int i = 0; i < 3000 && outstanding(); i++) {
		long r = px_ring_enter(0, 1, 5000000);
		calls_made++;
		if (r < 0)
			fail("ring_enter(wait) = %ld", r);
		reap_all();
	}
	if (outstanding())
		fail("%s: %u entries never completed", why, outstanding());
}

/* Cancel every entry still waiting. */
static void cancel_rest(void)
{
	unsigned n = npend;
	for (unsigned i = 0; i < n; i++) {
		if (pend[i].done || pend[i].op == PX_OP_CANCEL)
			continue;
		pend[i].cancelled = 1;
		struct pend *c = add_sqe(PX_OP_CANCEL, 0, 0, 0, pend[i].ud, 0, 0);
		if (c)
			c->alt = -PX_ENOENT;
	}
	submit();
}

static void ring_burst(int leave_pending)
{
	uint32_t room[64];
	npend = 0;
	tasks_in_burst = 0;
	memset(ring_read_bytes, 0, sizeof(ring_read_bytes));
	memset(ring_write_bytes, 0, sizeof(ring_write_bytes));
	for (int i = 0; i < npipes; i++)
		room[i] = (uint32_t)(4096 - queued(&pipes[i]));
	memset(vbuf + 8192, 0, 4096);
	unsigned n = 1 + below(3 * ring.sq_entries + 8);
	for (unsigned i = 0; i < n; i++) {
		random_sqe(room);
		/* A CANCEL may find its target completed or not: 0 or -ENOENT,
		 * and a target it reached may end -ECANCELED. */
		if (npend && pend[npend - 1].op == PX_OP_CANCEL) {
			struct pend *t = pend_find(pend[npend - 1].target);
			if (t)
				t->cancelled = 1;
		}
		if (chance(30))
			submit();
	}
	submit();
	note_cancels();
	if (leave_pending) {
		/* reads that wait, and a long timeout, left in flight on purpose */
		int fd = pick_fd(K_PR);
		if (fd >= 0 && queued(pipe_of(fd)) == 0)
			add_sqe(PX_OP_READ, 0, fd, PX_OFF_CUR, (uint64_t)(uintptr_t)cbuf, 64, WANT_IO);
		add_sqe(PX_OP_TIMEOUT, 0, 0, 1ULL << 40, 0, 0, -PX_ECANCELED);
		submit();
		return;
	}
	cancel_rest();
	drain("burst");
	/* The pipes: bytes the ring moved are accounted for, nothing lost.
	 * Ring writes wrote zeros: drain each pipe they touched, checking the
	 * pattern of the bytes written before by syscalls. */
	for (int i = 0; i < npipes; i++) {
		struct pipem *pm = &pipes[i];
		if (!ring_read_bytes[i] && !ring_write_bytes[i])
			continue;
		uint64_t old_q = queued(pm);
		pm->rpos += ring_read_bytes[i];
		uint64_t want_q = old_q - ring_read_bytes[i] + ring_write_bytes[i];
		if (ring_read_bytes[i] > old_q + ring_write_bytes[i]) {
			fail("pipe %d: ring reads took %llu bytes, only %llu were there", i,
			     (unsigned long long)ring_read_bytes[i],
			     (unsigned long long)(old_q + ring_write_bytes[i]));
			continue;
		}
		int fd = -1;
		for (int f = 0; f < MAX_FD; f++)
			if (fds[f].kind == K_PR && fds[f].pipe == i)
				fd = f;
		if (fd < 0) {
			pm->wpos = pm->rpos = 0;	/* nothing left to read it with */
			continue;
		}
		struct px_stat st;
		if (px_fstat(fd, &st) != 0 || st.size != want_q)
			fail("pipe %d after a burst: %llu bytes queued, want %llu", i,
			     (unsigned long long)st.size, (unsigned long long)want_q);
		/* drain: its bytes are no longer a known pattern */
		for (uint64_t left = st.size; left > 0;) {
			long r = px_read(fd, cbuf, left < sizeof(cbuf) ? left : sizeof(cbuf));
			calls_made++;
			if (r <= 0) {
				fail("draining pipe %d: %ld", i, r);
				break;
			}
			left -= (uint64_t)r;
		}
		pm->wpos = pm->rpos = 0;
	}
}

/* Fill the CQ and its backlog with NOPs, without reaping: the kernel
 * takes exactly 6 x SQ entries (2 x in the CQ, 4 x in the backlog), then
 * says -EBUSY; every NOP then comes out once, in order. */
static void ring_overflow(void)
{
	uint32_t e = ring.sq_entries, taken = 0;
	uint64_t first = next_ud;
	long r = 0;
	reap_all();
	for (int rounds = 0; rounds < 4096; rounds++) {
		struct px_sqe *s;
		while ((s = px_ring_get_sqe(&ring)) != NULL)
			px_sqe_prep(s, PX_OP_NOP, 0, 0, 0, 0, next_ud++);
		r = px_ring_submit(&ring, 0, 0);
		calls_made++;
		if (r < 0)
			break;
		taken += (uint32_t)r;
	}
	EXPECT(r, -PX_EBUSY, "overflow: ring_enter once full");
	EXPECT(taken, 6 * e, "overflow: entries taken before -EBUSY");
	uint32_t flags = px_ring_load_acquire(&ring.cq->flags);
	uint32_t ov = ring.cq->overflow;
	EXPECT(flags & PX_RING_CQ_OVERFLOW, PX_RING_CQ_OVERFLOW, "overflow flag");
	EXPECT(ov, 4 * e, "overflow count");
	uint64_t want = first;
	for (int rounds = 0; want < first + taken && rounds < 100; rounds++) {
		uint32_t n = px_ring_cq_ready(&ring);
		for (uint32_t i = 0; i < n; i++) {
			struct px_cqe *c = px_ring_cqe_at(&ring, i);
			if (c->user_data != want || c->res != 0)
				fail("overflow: CQE %llu res %lld, want %llu res 0", c->user_data, c->res,
				     (unsigned long long)want);
			want++;
		}
		px_ring_cq_advance(&ring, n);
		r = px_ring_enter(0, 0, 0);	/* moves the backlog in */
		calls_made++;
	}
	EXPECT(want, first + taken, "overflow: CQEs after draining");
	/* the unconsumed NOPs still in the SQ: submit and reap them */
	npend = 0;
	uint32_t left = px_ring_unsubmitted(&ring);
	for (uint32_t i = 0; i < left; i++) {
		uint64_t ud = (uint64_t)(ring.sq_tail - left + i);
		struct px_sqe *s = &ring.sqes[ud & ring.sq_mask];
		pend[npend++] = (struct pend){ .ud = s->user_data, .op = PX_OP_NOP, .pipe = -1,
					       .want = 0, .alt = WANT_ANY };
	}
	submit();
	drain("overflow leftovers");
}

/* A corrupt ring gets -EINVAL and consumes nothing; put right, it works. */
static void ring_corrupt(void)
{
	reap_all();
	/* the kernel takes our head as it is now (it moved only forwards) */
	EXPECT(px_ring_enter(0, 0, 0), 0, "ring_enter before the corruption");
	unsigned h = ring.cq_head;
	px_ring_store_release(&ring.cq->head, h - 1 - below(1000));
	EXPECT(px_ring_enter(0, 0, 0), -PX_EINVAL, "CQ head moved backwards");
	px_ring_store_release(&ring.cq->head, h + 1 + below(1000));
	EXPECT(px_ring_enter(0, 0, 0), -PX_EINVAL, "CQ head past the tail");
	px_ring_store_release(&ring.cq->head, h);
	EXPECT(px_ring_enter(0, 0, 0), 0, "CQ head put back");
	unsigned t = ring.sq_tail;
	px_ring_store_release(&ring.sq->tail, t + ring.sq_entries + 1 + below(1000));
	EXPECT(px_ring_enter(1, 0, 0), -PX_EINVAL, "SQ tail too far ahead");
	px_ring_store_release(&ring.sq->tail, t);
	EXPECT(px_ring_enter(1, 0, 0), 0, "SQ tail put back");
	calls_made += 6;
}

/* ---- the table -------------------------------------------------------------------*/

struct call {
	long nr;                /* -1: not a syscall of its own */
	const char *name;
	void (*fn)(void);
	unsigned weight;
};

static const struct call calls[] = {
	{ SYS_getpid, "getpid", f_getpid, 1 },
	{ SYS_spawn, "spawn", f_spawn, 2 },
	{ SYS_wait, "wait", f_wait, 2 },
	{ SYS_kill, "kill", f_kill, 2 },
	{ SYS_yield, "yield", f_yield, 1 },
	{ SYS_read, "read", f_read, 8 },
	{ SYS_write, "write", f_write, 8 },
	{ SYS_pipe, "pipe", f_pipe, 3 },
	{ SYS_close, "close", f_close, 3 },
	{ SYS_dup, "dup", f_dup, 3 },
	{ SYS_sleep, "sleep", f_sleep, 1 },
	{ SYS_clock_gettime, "clock_gettime", f_clock, 2 },
	{ SYS_sbrk, "sbrk", f_sbrk, 2 },
	{ SYS_ring_setup, "ring_setup", f_ring_setup, 1 },
	{ SYS_ring_enter, "ring_enter", f_ring_enter, 1 },
	{ SYS_progs, "progs", f_progs, 1 },
	{ SYS_kstat, "kstat", f_kstat, 1 },
	{ SYS_pread, "pread", f_pread, 3 },
	{ SYS_pwrite, "pwrite", f_pwrite, 3 },
	{ SYS_fstat, "fstat", f_fstat, 3 },
	{ SYS_fsync, "fsync", f_fsync, 1 },
	{ SYS_spawnpg, "spawnpg", f_spawn, 2 },
	{ SYS_setfg, "setfg", f_setfg, 1 },
	{ SYS_getpgid, "getpgid", f_getpgid, 1 },
	{ SYS_open, "open", f_open, 3 },
	{ SYS_lseek, "lseek", f_lseek, 1 },
	{ SYS_stat, "stat", f_stat, 2 },
	{ SYS_mkdir, "mkdir", f_mkdir, 1 },
	{ SYS_rmdir, "rmdir", f_rmdir, 1 },
	{ SYS_unlink, "unlink", f_unlink, 1 },
	{ SYS_rename, "rename", f_rename, 1 },
	{ SYS_link, "link", f_link, 1 },
	{ SYS_getdents, "getdents", f_getdents, 1 },
	{ SYS_ftruncate, "ftruncate", f_ftruncate, 1 },
	{ SYS_chdir, "chdir", f_chdir, 1 },
	{ SYS_getcwd, "getcwd", f_getcwd, 1 },
	{ SYS_dup2, "dup2", f_dup2, 2 },
	{ SYS_statfs, "statfs", f_statfs, 1 },
	{ SYS_sync, "sync", f_sync, 1 },
	{ SYS_socket, "socket", f_socket, 2 },
	{ SYS_bind, "bind", f_sock_call, 1 },
	{ SYS_sendto, "sendto", f_sock_call, 1 },
	{ SYS_recvfrom, "recvfrom", f_sock_call, 1 },
	{ SYS_listen, "listen", f_sock_call, 1 },
	{ SYS_accept, "accept", f_sock_call, 1 },
	{ SYS_connect, "connect", f_sock_call, 1 },
	{ SYS_shutdown, "shutdown", f_sock_call, 1 },
	{ SYS_getsockname, "getsockname", f_sock_call, 1 },
	{ SYS_getpeername, "getpeername", f_sock_call, 1 },
	{ -1, "unknown syscall", f_unknown, 3 },
};
#define NCALLS (sizeof(calls) / sizeof(calls[0]))

/* SYS_exit is the child's end, never drawn. */
static int known(long nr)
{
	if (nr == SYS_exit)
		return 1;
	for (unsigned i = 0; i < NCALLS; i++)
		if (calls[i].nr == nr)
			return 1;
	return 0;
}

/* Ring opcodes the fuzzer knows (random_sqe makes each); any other must
 * complete with -PX_EINVAL. */
static const unsigned ring_ops[] = {
	PX_OP_NOP, PX_OP_READ, PX_OP_WRITE, PX_OP_TIMEOUT, PX_OP_BLK_READ, PX_OP_BLK_WRITE,
	PX_OP_CANCEL, PX_OP_OPENAT, PX_OP_CLOSE, PX_OP_FSTAT, PX_OP_STAT, PX_OP_FSYNC,
	PX_OP_MKDIR, PX_OP_UNLINK, PX_OP_RMDIR, PX_OP_RENAME, PX_OP_LINK, PX_OP_GETDENTS,
	PX_OP_FTRUNCATE, PX_OP_ACCEPT, PX_OP_CONNECT, PX_OP_RECV, PX_OP_SEND,
};

static int known_op(unsigned op)
{
	for (unsigned i = 0; i < sizeof(ring_ops) / sizeof(ring_ops[0]); i++)
		if (ring_ops[i] == op)
			return 1;
	return 0;
}

/* ---- on a mounted file system ----------------------------------------------------
 * "fuzz fschild SEED CALLS": random changes inside a scratch directory
 * /fz-SEED of its own (files created, written, read back, truncated,
 * renamed, linked, unlinked; directories made and removed) on a small set
 * of names, so that calls collide.  What a change gives depends on what
 * exists, so each call may give any result its documentation allows
 * (lib/uapi/pollux.h) and nothing else; data read back from a file must
 * be what this child wrote there.  The host runs fsck on the image after
 * the boot (scripts/fuzz-sys.sh --fs). */

static const char *const fs_names[] = { "a", "b", "c", "d", "e", "d/a", "d/b", "e/x", "d/e/y",
					 "../fz-none/z" };
#define FS_NNAMES (sizeof(fs_names) / sizeof(fs_names[0]))

static const char *fs_name(void)
{
	return fs_names[below(FS_NNAMES)];
}

/* r is 0 (or, with nonneg, >= 0) or one of the errors listed, ended by 0. */
static void fs_allowed(long r, int nonneg, const char *what, ...)
{
	va_list ap;
	if (r == 0 || (nonneg && r > 0))
		return;
	va_start(ap, what);
	for (long e; (e = va_arg(ap, long)) != 0;)
		if (r == -e) {
			va_end(ap);
			return;
		}
	va_end(ap);
	fail("%s = %ld: not an allowed result", what, r);
}

static void fs_write_file(void)
{
	const char *n = fs_name();
	long fd = sc(SYS_open, (long)n, PX_O_CREAT | PX_O_TRUNC | PX_O_RDWR, 0, 0);
	fs_allowed(fd, 1, "open(O_CREAT|O_TRUNC|O_RDWR)", (long)PX_ENOENT, (long)PX_EISDIR,
		   (long)PX_ENOTDIR, (long)PX_EMFILE, (long)PX_ENOSPC, 0L);
	if (fd < 0)
		return;
	uint32_t len = below(sizeof(vbuf) + 1);
	unsigned char tag = (unsigned char)next64();
	for (uint32_t i = 0; i < len; i++)
		vbuf[i] = (unsigned char)(tag + i * 7);
	uint64_t off = chance(30) ? below(100000) : 0;
	long w = sc(SYS_pwrite, fd, (long)vbuf, len, (long)off);
	fs_allowed(w, 1, "pwrite", (long)PX_ENOSPC, 0L);
	if (w >= 0 && (uint64_t)w > len)
		fail("pwrite of %u = %ld", len, w);
	if (w > 0) {
		long r = sc(SYS_pread, fd, (long)cbuf, sizeof(cbuf), (long)off);
		long want = w < (long)sizeof(cbuf) ? w : (long)sizeof(cbuf);
		EXPECT(r, want, "pread back of %s at %llu", n, (unsigned long long)off);
		for (long i = 0; i < r && i < want; i++)
			if (cbuf[i] != vbuf[i]) {
				fail("%s: byte %ld read back is %u, want %u", n, i, cbuf[i], vbuf[i]);
				break;
			}
		struct px_stat st;
		EXPECT(sc(SYS_fstat, fd, (long)&st, 0, 0), 0, "fstat of %s", n);
		EXPECT(st.size, off + (uint64_t)w, "size of %s", n);
	}
	if (chance(30))
		EXPECT(sc(SYS_ftruncate, fd, below(20000), 0, 0), 0, "ftruncate of %s", n);
	EXPECT(sc(SYS_close, fd, 0, 0, 0), 0, "close of %s", n);
}

/* An existing name opened read-only: the checks that need a file of the
 * disk, each with its one right answer. */
static void fs_probe(void)
{
	const char *n = fs_name();
	struct px_stat st;
	struct px_statfs sf;
	static struct px_dirent d[2];
	EXPECT(sc(SYS_statfs, (long)&sf, 0, 0, 0), 0, "statfs");
	if (sf.block_size != 4096 || sf.blocks_free > sf.blocks || sf.inodes_free > sf.inodes)
		fail("statfs: block size %u, %llu of %llu blocks and %llu of %llu inodes free",
		     sf.block_size, sf.blocks_free, sf.blocks, sf.inodes_free, sf.inodes);
	int bad;
	int flags = open_flags(&bad);
	if (bad)
		EXPECT(sc(SYS_open, (long)n, flags, 0, 0), -PX_EINVAL, "open(%s, %#x)", n, flags);
	EXPECT(sc(SYS_stat, (long)n, (long)bad_wptr(), 0, 0), -PX_EFAULT, "stat(%s) bad ptr", n);
	long fd = sc(SYS_open, (long)n, PX_O_RDONLY, 0, 0);
	fs_allowed(fd, 1, "open(O_RDONLY)", (long)PX_ENOENT, (long)PX_ENOTDIR, 0L);
	if (fd < 0)
		return;
	EXPECT(sc(SYS_fstat, fd, (long)&st, 0, 0), 0, "fstat of %s", n);
	int dir = st.type == PX_S_DIR;
	if (!dir && st.type != PX_S_REG)
		fail("fstat of %s: type %u", n, st.type);
	EXPECT(sc(SYS_ftruncate, fd, below(100), 0, 0), dir ? -PX_EISDIR : -PX_EBADF,
	       "ftruncate of %s opened read-only", n);
	EXPECT(sc(SYS_lseek, fd, -1 - (long)below(100), PX_SEEK_SET, 0), -PX_EINVAL,
	       "lseek before the start");
	EXPECT(sc(SYS_lseek, fd, 0, 3 + (long)below(100), 0), -PX_EINVAL, "lseek whence");
	EXPECT(sc(SYS_lseek, fd, 0, PX_SEEK_END, 0), dir ? -PX_EINVAL : (long)st.size,
	       "lseek(SEEK_END) of %s", n);
	EXPECT(sc(SYS_getdents, fd, (long)d, below(sizeof(d[0])), 0), dir ? -PX_EINVAL : -PX_ENOTDIR,
	       "getdents of %s, n too small", n);
	if (dir)
		EXPECT(sc(SYS_getdents, fd, (long)bad_wptr(), 16 + below(5000), 0), -PX_EFAULT,
		       "getdents of %s, bad buf", n);
	else
		EXPECT(sc(SYS_pread, fd, (long)bad_wptr(), 16 + below(5000), 0),
		       -PX_EFAULT, "pread of %s, bad buf", n);
	EXPECT(sc(SYS_close, fd, 0, 0, 0), 0, "close of %s", n);
}

static void fs_step(void)
{
	const char *n = fs_name(), *m = fs_name();
	char what[48];
	switch (below(10)) {
	case 0:
	case 1:
		fs_write_file();
		return;
	case 9:
		fs_probe();
		return;
	case 2:
		snprintf(what, sizeof(what), "mkdir(%s)", n);
		fs_allowed(sc(SYS_mkdir, (long)n, 0, 0, 0), 0, what, (long)PX_EEXIST, (long)PX_ENOENT,
			   (long)PX_ENOTDIR, (long)PX_ENOSPC, (long)PX_EMLINK, 0L);
		return;
	case 3:
		snprintf(what, sizeof(what), "rmdir(%s)", n);
		fs_allowed(sc(SYS_rmdir, (long)n, 0, 0, 0), 0, what, (long)PX_ENOENT, (long)PX_ENOTDIR,
			   (long)PX_ENOTEMPTY, 0L);
		return;
	case 4:
		snprintf(what, sizeof(what), "unlink(%s)", n);
		fs_allowed(sc(SYS_unlink, (long)n, 0, 0, 0), 0, what, (long)PX_ENOENT, (long)PX_ENOTDIR,
			   (long)PX_EISDIR, 0L);
		return;
	case 5:
		snprintf(what, sizeof(what), "rename(%s, %s)", n, m);
		fs_allowed(sc(SYS_rename, (long)n, (long)m, 0, 0), 0, what, (long)PX_ENOENT,
			   (long)PX_EEXIST, (long)PX_ENOTEMPTY, (long)PX_ENOTDIR, (long)PX_EISDIR,
			   (long)PX_EINVAL, (long)PX_ENOSPC, 0L);
		return;
	case 6:
		snprintf(what, sizeof(what), "link(%s, %s)", n, m);
		fs_allowed(sc(SYS_link, (long)n, (long)m, 0, 0), 0, what, (long)PX_ENOENT,
			   (long)PX_EEXIST, (long)PX_EPERM, (long)PX_EMLINK, (long)PX_ENOSPC,
			   (long)PX_ENOTDIR, 0L);
		return;
	case 7: {
		struct px_stat st;
		snprintf(what, sizeof(what), "stat(%s)", n);
		long r = sc(SYS_stat, (long)n, (long)&st, 0, 0);
		fs_allowed(r, 0, what, (long)PX_ENOENT, (long)PX_ENOTDIR, 0L);
		if (r == 0 && st.type != PX_S_REG && st.type != PX_S_DIR)
			fail("%s: type %u", what, st.type);
		return;
	}
	default: {
		long fd = sc(SYS_open, (long)".", PX_O_RDONLY | PX_O_DIRECTORY, 0, 0);
		EXPECT(fd >= 0, 1, "open(\".\") = %ld", fd);
		if (fd < 0)
			return;
		static struct px_dirent d[4];
		long r;
		while ((r = sc(SYS_getdents, fd, (long)d, sizeof(d), 0)) > 0)
			if (r % (long)sizeof(d[0]))
				fail("getdents = %ld: not whole records", r);
		EXPECT(r, 0, "getdents of \".\" at its end");
		EXPECT(sc(SYS_close, fd, 0, 0, 0), 0, "close of \".\"");
	}
	}
}

/* A burst of path changes on the ring, some cancelled: each completes
 * once, with what its syscall may give, -PX_EAGAIN (no room to start)
 * or, when a CANCEL reached it, -PX_ECANCELED.  An OPENAT's fd is closed
 * after; none may be left open (a cancelled open installs no fd). */
static void fs_ring_burst(void)
{
	enum { K = 6 };
	static const unsigned ops[] = { PX_OP_OPENAT, PX_OP_MKDIR, PX_OP_UNLINK, PX_OP_RMDIR,
					PX_OP_RENAME, PX_OP_LINK, PX_OP_STAT };
	static struct px_stat rst[K];
	struct fs_ring_ent { uint64_t ud; unsigned op; int done, cancelled; } e[K];
	unsigned k = 1 + below(K), nce = 0, want_cqes;
	uint64_t cancel_ud[K];
	for (unsigned i = 0; i < k; i++) {
		struct px_sqe *s = px_ring_get_sqe(&ring);
		e[i] = (struct fs_ring_ent){ .ud = next_ud++, .op = ops[below(sizeof(ops) / sizeof(ops[0]))] };
		uint64_t a = (uint64_t)(uintptr_t)fs_name(), b = (uint64_t)(uintptr_t)fs_name();
		uint32_t len = 0;
		if (e[i].op == PX_OP_OPENAT)
			len = chance(50) ? PX_O_CREAT | PX_O_RDWR : PX_O_CREAT | PX_O_TRUNC | PX_O_WRONLY;
		if (e[i].op == PX_OP_STAT)
			b = (uint64_t)(uintptr_t)&rst[i];
		px_sqe_prep(s, e[i].op, 0, b, a, len, e[i].ud);
		ring_entries++;
	}
	for (unsigned i = 0; i < k; i++)
		if (chance(30)) {
			cancel_ud[nce] = next_ud++;
			px_sqe_prep(px_ring_get_sqe(&ring), PX_OP_CANCEL, 0, 0, e[i].ud, 0,
				    cancel_ud[nce]);
			e[i].cancelled = 1;
			nce++;
		}
	want_cqes = k + nce;
	long r = px_ring_submit(&ring, 0, 0);
	calls_made++;
	EXPECT(r, (long)want_cqes, "ring burst of %u path changes: entries consumed", k);
	if (r != (long)want_cqes)
		return;
	unsigned got = 0;
	for (int tries = 0; got < want_cqes && tries < 3000; tries++) {
		uint32_t n = px_ring_cq_ready(&ring);
		if (!n) {
			px_ring_enter(0, 1, 5000000);
			calls_made++;
			continue;
		}
		for (uint32_t j = 0; j < n; j++, got++) {
			struct px_cqe *c = px_ring_cqe_at(&ring, j);
			long res = (long)c->res;
			unsigned i = 0;
			while (i < k && e[i].ud != c->user_data)
				i++;
			if (i == k) {
				int known = 0;
				for (unsigned m = 0; m < nce; m++)
					known |= cancel_ud[m] == c->user_data;
				if (!known)
					fail("ring: CQE for unknown user_data %llu", c->user_data);
				else if (res != 0 && res != -PX_ENOENT)
					fail("ring: CANCEL = %ld", res);
				continue;
			}
			if (e[i].done++)
				fail("ring: second CQE for op %u", e[i].op);
			if (res == -PX_EAGAIN || (res == -PX_ECANCELED && e[i].cancelled))
				continue;
			char what[32];
			snprintf(what, sizeof(what), "ring op %u", e[i].op);
			switch (e[i].op) {
			case PX_OP_OPENAT:
				fs_allowed(res, 1, what, (long)PX_ENOENT, (long)PX_EISDIR, (long)PX_ENOTDIR,
					   (long)PX_EMFILE, (long)PX_ENOSPC, 0L);
				if (res >= 0)
					EXPECT(px_close((int)res), 0, "close of the ring's open");
				break;
			case PX_OP_MKDIR:
				fs_allowed(res, 0, what, (long)PX_EEXIST, (long)PX_ENOENT, (long)PX_ENOTDIR,
					   (long)PX_ENOSPC, (long)PX_EMLINK, 0L);
				break;
			case PX_OP_UNLINK:
				fs_allowed(res, 0, what, (long)PX_ENOENT, (long)PX_ENOTDIR, (long)PX_EISDIR, 0L);
				break;
			case PX_OP_RMDIR:
				fs_allowed(res, 0, what, (long)PX_ENOENT, (long)PX_ENOTDIR,
					   (long)PX_ENOTEMPTY, 0L);
				break;
			case PX_OP_RENAME:
				fs_allowed(res, 0, what, (long)PX_ENOENT, (long)PX_EEXIST, (long)PX_ENOTEMPTY,
					   (long)PX_ENOTDIR, (long)PX_EISDIR, (long)PX_EINVAL,
					   (long)PX_ENOSPC, 0L);
				break;
			case PX_OP_LINK:
				fs_allowed(res, 0, what, (long)PX_ENOENT, (long)PX_EEXIST, (long)PX_EPERM,
					   (long)PX_EMLINK, (long)PX_ENOSPC, (long)PX_ENOTDIR, 0L);
				break;
			default:
				fs_allowed(res, 0, what, (long)PX_ENOENT, (long)PX_ENOTDIR, 0L);
				break;
			}
		}
		px_ring_cq_advance(&ring, n);
	}
	if (got != want_cqes)
		fail("ring: %u of %u CQEs came", got, want_cqes);
	for (int fd = 3; fd < MAX_FD; fd++) {
		struct px_stat st;
		if (px_fstat(fd, &st) == 0) {
			fail("ring: fd %d left open after the burst", fd);
			px_close(fd);
		}
	}
}

static int fs_child(unsigned long long s, unsigned ncalls)
{
	char dir[40], cwd[48];
	seed = s;
	rng = s * 0x2545f4914f6cdd1dULL + 7;
	snprintf(dir, sizeof(dir), "/fz-%llu", s);
	cur_call = "setup";
	EXPECT(px_mkdir(dir), 0, "mkdir(%s)", dir);
	EXPECT(px_chdir(dir), 0, "chdir(%s)", dir);
	EXPECT(px_syscall(SYS_getcwd, (long)cwd, sizeof(cwd), 0, 0, 0, 0), (long)strlen(dir),
	       "getcwd");
	if (strcmp(cwd, dir) != 0)
		fail("getcwd: %s, want %s", cwd, dir);
	have_ring = px_ring_init(&ring, 16) == 0;
	EXPECT(have_ring, 1, "ring_setup(16)");
	for (call_no = 0; call_no < ncalls && !failures; call_no++) {
		cur_call = "fs";
		if (have_ring && chance(5)) {
			cur_call = "fs ring burst";
			fs_ring_burst();
			continue;
		}
		fs_step();
	}
	printf("fuzz: seed %llu: %u calls in %s, %u ring entries, %u failures\n", seed, calls_made,
	       dir, ring_entries, failures);
	return failures > 100 ? 100 : (int)failures;
}

/* ---- child and parent ---------------------------------------------------------*/

enum end { END_EXIT, END_EXIT_PENDING, END_KILL_PENDING, END_COUNT };

static int child(unsigned long long s, unsigned ncalls, int end, long ppid)
{
	unsigned weight_sum = 0;
	seed = s;
	rng = s * 0x2545f4914f6cdd1dULL + 1;
	my_pid = px_getpid();
	parent_pid = ppid;
	for (int fd = 0; fd < MAX_FD; fd++) {
		struct px_stat st;
		fds[fd].kind = px_fstat(fd, &st) != 0 ? K_NONE : st.type == PX_S_CHR ? K_CON : K_NONE;
		if (fds[fd].kind == K_NONE && px_fstat(fd, &st) == 0)
			px_close(fd);	/* inherited pipes: not ours to model */
	}
	/* a heap of our own, so "above the break" and "straddling it" exist */
	px_sbrk(2 * 4096);
	heap_end = ((uint64_t)px_sbrk(0) + 4095) & ~4095ULL;
	paths_init();
	{
		/* the file-system oracle is for a kernel with nothing mounted */
		struct px_statfs sf;
		long r = px_syscall(SYS_statfs, (long)&sf, 0, 0, 0, 0, 0);
		if (r != -PX_ENODEV) {
			printf("fuzz: seed %llu: statfs = %ld: a file system is mounted; the fuzzer "
			       "needs a blank disk or none\n", seed, r);
			return 1;
		}
	}
	for (unsigned i = 0; i < NCALLS; i++)
		weight_sum += calls[i].weight;
	int want_ring = chance(80);
	for (call_no = 0; call_no < ncalls; call_no++) {
		if (want_ring && !have_ring && call_no >= ncalls / 8) {
			cur_call = "ring_init";
			unsigned e = 1u << below(7);
			long r = px_ring_init(&ring, e);
			EXPECT(r, 0, "ring_setup(%u)", e);
			have_ring = r == 0;
		}
		if (have_ring && chance(4)) {
			cur_call = "ring burst";
			n_bursts++;
			ring_burst(0);
			continue;
		}
		if (have_ring && chance(1)) {
			if (chance(50)) {
				cur_call = "ring overflow";
				n_overflows++;
				ring_overflow();
			} else {
				cur_call = "ring corrupt";
				n_corrupts++;
				ring_corrupt();
			}
			continue;
		}
		unsigned w = below(weight_sum), i = 0;
		while (w >= calls[i].weight)
			w -= calls[i++].weight;
		cur_call = calls[i].name;
		calls[i].fn();
	}
	cur_call = "end";
	printf("fuzz: seed %llu: %u calls, %u ring entries (%u bursts, %u overflows, %u corrupt "
	       "rings), %u failures\n", seed, calls_made, ring_entries, n_bursts, n_overflows,
	       n_corrupts, failures);
	if (failures)
		return failures > 100 ? 100 : (int)failures;
	if (end != END_EXIT && have_ring)
		ring_burst(1);
	if (end == END_KILL_PENDING) {
		long r = px_kill((int)my_pid);
		if (r != 0)
			printf("fuzz: seed %llu: kill(self) = %ld\n", seed, r);
		for (;;)	/* the kill takes us at the next return from the kernel */
			px_yield();
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "child") == 0)
		return child(strtoull(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0),
			     atoi(argv[4]), atol(argv[5]));
	if (argc >= 4 && strcmp(argv[1], "fschild") == 0)
		return fs_child(strtoull(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0));
	int fs = argc > 1 && strcmp(argv[1], "fs") == 0;
	if (fs) {
		argc--;
		argv++;
	}

	unsigned long long s0 = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	unsigned nchild = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 8;
	unsigned ncalls = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 1500;
	unsigned par = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 2;
	if (par < 1)
		par = 1;
	if (par > 8)
		par = 8;
	long me = px_getpid();
	printf("fuzz: %sseeds %llu..%llu, %u calls each, %u at a time\n", fs ? "file-system " : "",
	       s0, s0 + nchild - 1, ncalls, par);

	struct { long pid; unsigned long long seed; int end; } run[8];
	unsigned running = 0, started = 0, passed = 0, failed = 0;
	while (started < nchild || running > 0) {
		if (started < nchild && running < par) {
			unsigned long long s = s0 + started;
			int end = fs ? END_EXIT : (int)(s % END_COUNT);
			char a_seed[24], a_calls[16], a_end[8], a_pid[16];
			snprintf(a_seed, sizeof(a_seed), "%llu", s);
			snprintf(a_calls, sizeof(a_calls), "%u", ncalls);
			snprintf(a_end, sizeof(a_end), "%d", end);
			snprintf(a_pid, sizeof(a_pid), "%ld", me);
			const char *av[] = { "fuzz", fs ? "fschild" : "child", a_seed, a_calls, a_end,
					     a_pid, NULL };
			long pid = px_spawn("fuzz", av);
			started++;
			if (pid < 0) {
				printf("fuzz: seed %llu: spawn failed: %ld\n", s, pid);
				failed++;
				continue;
			}
			run[running].pid = pid;
			run[running].seed = s;
			run[running].end = end;
			running++;
			continue;
		}
		int st = 0;
		long pid = px_wait(-1, &st);
		if (pid < 0) {
			printf("fuzz: wait: %ld\n", pid);
			failed += running;
			break;
		}
		unsigned i = 0;
		while (i < running && run[i].pid != pid)
			i++;
		if (i == running)
			continue;
		int want_killed = run[i].end == END_KILL_PENDING;
		int ok = want_killed ? st == (PX_KILLED | PX_KILL_SIGNAL) : st == 0;
		char buf[48];
		printf("fuzz: seed %llu: %s: %s\n", run[i].seed, ok ? "OK" : "FAILED",
		       px_status_str(st, buf, sizeof(buf)));
		if (ok)
			passed++;
		else
			failed++;
		run[i] = run[--running];
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed > 99 ? 99 : (int)failed;
}

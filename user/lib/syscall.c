/* Syscall stubs: raw px_* calls returning -PX_Exxx, and POSIX-style wrappers setting errno. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "fdhook.h"
#include "px.h"
#include "sysc.h"
#include "utrace.h"

long (*px_fd_read_hook)(int fd, void *buf, size_t n);
void (*px_fd_close_hook)(int fd);

/* ---- raw ------------------------------------------------------------------*/

_Noreturn void px_exit(int status)
{
	UTR_FLUSH();
	px_syscall1(SYS_exit, status);
	for (;;) /* the kernel never returns from exit */
		px_syscall0(SYS_yield);
}

long px_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	return px_syscall6(nr, a0, a1, a2, a3, a4, a5);
}

long px_getpid(void) { return px_syscall0(SYS_getpid); }
long px_spawn(const char *path, const char *const argv[]) { return px_syscall2(SYS_spawn, path, argv); }
long px_wait(int pid, int *status) { return px_syscall2(SYS_wait, pid, status); }
long px_kill(int pid) { return px_syscall1(SYS_kill, pid); }
long px_yield(void) { return px_syscall0(SYS_yield); }
long px_read(int fd, void *buf, size_t n)
{
	long kept = px_fd_read_hook && n ? px_fd_read_hook(fd, buf, n) : 0;
	return kept ? kept : px_syscall3(SYS_read, fd, buf, n);
}
long px_write(int fd, const void *buf, size_t n) { return px_syscall3(SYS_write, fd, buf, n); }
long px_pipe(int fds[2]) { return px_syscall1(SYS_pipe, fds); }
long px_close(int fd)
{
	if (px_fd_close_hook)
		px_fd_close_hook(fd);
	return px_syscall1(SYS_close, fd);
}
long px_socket(int domain, int type, int protocol) { return px_syscall3(SYS_socket, domain, type, protocol); }
long px_bind(int fd, const struct px_sockaddr_in *a) { return px_syscall2(SYS_bind, fd, a); }
long px_sendto(int fd, const void *buf, size_t n, const struct px_sockaddr_in *to) { return px_syscall4(SYS_sendto, fd, buf, n, to); }
long px_recvfrom(int fd, void *buf, size_t n, struct px_sockaddr_in *from) { return px_syscall4(SYS_recvfrom, fd, buf, n, from); }
long px_listen(int fd, int backlog) { return px_syscall2(SYS_listen, fd, backlog); }
long px_accept(int fd, struct px_sockaddr_in *peer) { return px_syscall2(SYS_accept, fd, peer); }
long px_connect(int fd, const struct px_sockaddr_in *a) { return px_syscall2(SYS_connect, fd, a); }
long px_shutdown(int fd, int how) { return px_syscall2(SYS_shutdown, fd, how); }
long px_getsockname(int fd, struct px_sockaddr_in *a) { return px_syscall2(SYS_getsockname, fd, a); }
long px_getpeername(int fd, struct px_sockaddr_in *a) { return px_syscall2(SYS_getpeername, fd, a); }
long px_dup(int fd) { return px_syscall1(SYS_dup, fd); }
long px_sleep(uint64_t ms) { return px_syscall1(SYS_sleep, ms); }
long px_clock_gettime(int clock, struct px_timespec *ts) { return px_syscall2(SYS_clock_gettime, clock, ts); }
long px_sbrk(intptr_t increment) { return px_syscall1(SYS_sbrk, increment); }
long px_progs(unsigned index, char *name, size_t n) { return px_syscall3(SYS_progs, index, name, n); }
long px_kstat(unsigned which) { return px_syscall1(SYS_kstat, which); }
long px_pread(int fd, void *buf, size_t n, uint64_t off) { return px_syscall4(SYS_pread, fd, buf, n, off); }
long px_pwrite(int fd, const void *buf, size_t n, uint64_t off) { return px_syscall4(SYS_pwrite, fd, buf, n, off); }
long px_fstat(int fd, struct px_stat *st) { return px_syscall2(SYS_fstat, fd, st); }
long px_fsync(int fd) { return px_syscall1(SYS_fsync, fd); }
long px_setfg(int pgid) { return px_syscall1(SYS_setfg, pgid); }
long px_getpgid(int pid) { return px_syscall1(SYS_getpgid, pid); }
long px_open(const char *path, int flags) { return px_syscall2(SYS_open, path, flags); }
long px_lseek(int fd, int64_t off, int whence) { return px_syscall3(SYS_lseek, fd, off, whence); }
long px_stat(const char *path, struct px_stat *st) { return px_syscall2(SYS_stat, path, st); }
long px_mkdir(const char *path) { return px_syscall1(SYS_mkdir, path); }
long px_rmdir(const char *path) { return px_syscall1(SYS_rmdir, path); }
long px_unlink(const char *path) { return px_syscall1(SYS_unlink, path); }
long px_rename(const char *from, const char *to) { return px_syscall2(SYS_rename, from, to); }
long px_link(const char *from, const char *to) { return px_syscall2(SYS_link, from, to); }
long px_getdents(int fd, struct px_dirent *buf, size_t n) { return px_syscall3(SYS_getdents, fd, buf, n); }
long px_ftruncate(int fd, uint64_t size) { return px_syscall2(SYS_ftruncate, fd, size); }
long px_chdir(const char *path) { return px_syscall1(SYS_chdir, path); }
long px_getcwd(char *buf, size_t n) { return px_syscall2(SYS_getcwd, buf, n); }
long px_dup2(int fd, int newfd) { return px_syscall2(SYS_dup2, fd, newfd); }
long px_statfs(struct px_statfs *st) { return px_syscall1(SYS_statfs, st); }
long px_sync(void) { return px_syscall0(SYS_sync); }

long px_spawnpg(const char *path, const char *const argv[], int pgid, unsigned flags)
{
	return px_syscall6(SYS_spawnpg, (long)path, (long)argv, pgid, (long)flags, 0, 0);
}

long px_ring_setup(unsigned entries, struct px_ring_params *p)
{
	return px_syscall2(SYS_ring_setup, entries, p);
}

long px_ring_enter(unsigned to_submit, unsigned min_complete, uint64_t timeout_ns)
{
	return px_syscall3(SYS_ring_enter, to_submit, min_complete, timeout_ns);
}

/* ---- errno ----------------------------------------------------------------*/

/* PX_E* follow Linux's numbers; picolibc (newlib) differs for a few. */
int px_errno(long px_err)
{
	switch (px_err) {
	case PX_EPERM: return EPERM;
	case PX_ENOENT: return ENOENT;
	case PX_ESRCH: return ESRCH;
	case PX_EINTR: return EINTR;
	case PX_EIO: return EIO;
	case PX_E2BIG: return E2BIG;
	case PX_ENOEXEC: return ENOEXEC;
	case PX_EBADF: return EBADF;
	case PX_ECHILD: return ECHILD;
	case PX_EAGAIN: return EAGAIN;
	case PX_ENOMEM: return ENOMEM;
	case PX_EFAULT: return EFAULT;
	case PX_EBUSY: return EBUSY;
	case PX_EEXIST: return EEXIST;
	case PX_EXDEV: return EXDEV;
	case PX_ENODEV: return ENODEV;
	case PX_ENOTDIR: return ENOTDIR;
	case PX_EISDIR: return EISDIR;
	case PX_EINVAL: return EINVAL;
	case PX_ENFILE: return ENFILE;
	case PX_EMFILE: return EMFILE;
	case PX_EFBIG: return EFBIG;
	case PX_EROFS: return EROFS;
	case PX_EMLINK: return EMLINK;
	case PX_ENAMETOOLONG: return ENAMETOOLONG;
	case PX_ENOTEMPTY: return ENOTEMPTY;
	case PX_ENOTTY: return ENOTTY;
	case PX_ENOSPC: return ENOSPC;
	case PX_ESPIPE: return ESPIPE;
	case PX_EPIPE: return EPIPE;
	case PX_ERANGE: return ERANGE;
	case PX_ENOSYS: return ENOSYS;
	case PX_ETIME: return ETIME;
	case PX_EOVERFLOW: return EOVERFLOW;
	case PX_ECANCELED: return ECANCELED;
	case PX_ENOTSOCK: return ENOTSOCK;
	case PX_EMSGSIZE: return EMSGSIZE;
	case PX_EPROTONOSUPPORT: return EPROTONOSUPPORT;
	case PX_EAFNOSUPPORT: return EAFNOSUPPORT;
	case PX_EADDRINUSE: return EADDRINUSE;
	case PX_EOPNOTSUPP: return EOPNOTSUPP;
	case PX_ECONNRESET: return ECONNRESET;
	case PX_EISCONN: return EISCONN;
	case PX_ENOTCONN: return ENOTCONN;
	case PX_ETIMEDOUT: return ETIMEDOUT;
	case PX_ECONNREFUSED: return ECONNREFUSED;
	case PX_EHOSTUNREACH: return EHOSTUNREACH;
	default: return EIO;
	}
}

/* The raw result r, or -1 with errno set. */
static long posix(long r)
{
	if (px_is_err(r)) {
		errno = px_errno(-r);
		return -1;
	}
	return r;
}

/* ---- POSIX-style ----------------------------------------------------------*/

ssize_t read(int fd, void *buf, size_t n) { return posix(px_read(fd, buf, n)); }
ssize_t write(int fd, const void *buf, size_t n) { return posix(px_write(fd, buf, n)); }
int close(int fd) { return (int)posix(px_close(fd)); }
int pipe(int fds[2]) { return (int)posix(px_pipe(fds)); }
int dup(int fd) { return (int)posix(px_dup(fd)); }
int socket(int domain, int type, int protocol) { return (int)posix(px_socket(domain, type, protocol)); }
int bind(int fd, const struct px_sockaddr_in *a) { return (int)posix(px_bind(fd, a)); }
int listen(int fd, int backlog) { return (int)posix(px_listen(fd, backlog)); }
int accept(int fd, struct px_sockaddr_in *peer) { return (int)posix(px_accept(fd, peer)); }
int connect(int fd, const struct px_sockaddr_in *a) { return (int)posix(px_connect(fd, a)); }
ssize_t send(int fd, const void *buf, size_t n) { return posix(px_sendto(fd, buf, n, NULL)); }
ssize_t recv(int fd, void *buf, size_t n) { return posix(px_recvfrom(fd, buf, n, NULL)); }
int shutdown(int fd, int how) { return (int)posix(px_shutdown(fd, how)); }
int getsockname(int fd, struct px_sockaddr_in *a) { return (int)posix(px_getsockname(fd, a)); }
int getpeername(int fd, struct px_sockaddr_in *a) { return (int)posix(px_getpeername(fd, a)); }

int px_inet_aton(const char *s, uint32_t *addr)
{
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || v > 255 || (i < 3 ? *s++ != '.' : *s != 0))
			return -1;
		a = a << 8 | v;
	}
	*addr = a;
	return 0;
}
ssize_t pread(int fd, void *buf, size_t n, off_t off) { return posix(px_pread(fd, buf, n, (uint64_t)off)); }
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return posix(px_pwrite(fd, buf, n, (uint64_t)off)); }
int fsync(int fd) { return (int)posix(px_fsync(fd)); }
pid_t getpid(void) { return (pid_t)posix(px_getpid()); }
int spawn(const char *path, const char *const argv[]) { return (int)posix(px_spawn(path, argv)); }
int wait(int pid, int *status) { return (int)posix(px_wait(pid, status)); }
int kill(int pid) { return (int)posix(px_kill(pid)); }
int setfg(int pgid) { return (int)posix(px_setfg(pgid)); }
pid_t getpgid(pid_t pid) { return (pid_t)posix(px_getpgid((int)pid)); }

int spawnpg(const char *path, const char *const argv[], int pgid, unsigned flags)
{
	return (int)posix(px_spawnpg(path, argv, pgid, flags));
}
int yield(void) { return (int)posix(px_yield()); }
int sleep_ms(uint64_t ms) { return (int)posix(px_sleep(ms)); }
long progs(unsigned index, char *name, size_t n) { return posix(px_progs(index, name, n)); }

/* picolibc's malloc grows its arena with sbrk (nano-malloc). */
void *sbrk(ptrdiff_t increment)
{
	long r = px_sbrk(increment);

	if (px_is_err(r)) {
		errno = px_errno(-r);
		return (void *)-1;
	}
	return (void *)(uintptr_t)r;
}

int clock_gettime(clockid_t clock, struct timespec *ts)
{
	struct px_timespec t;

	if (clock != CLOCK_MONOTONIC) {
		errno = EINVAL;
		return -1;
	}
	if (posix(px_clock_gettime(CLOCK_MONOTONIC_ID, &t)) < 0)
		return -1;
	ts->tv_sec = (time_t)t.tv_sec;
	ts->tv_nsec = (long)t.tv_nsec;
	return 0;
}

const char *px_kill_reason_name(int reason)
{
	switch (reason) {
	case PX_KILL_SIGNAL: return "killed";
	case PX_KILL_FAULT: return "memory fault";
	case PX_KILL_ILLEGAL: return "illegal instruction";
	case PX_KILL_BADCALL: return "bad system call";
	case PX_KILL_NOMEM: return "out of memory";
	case PX_KILL_BREAKPOINT: return "breakpoint";
	case PX_KILL_INTR: return "interrupted";
	default: return "killed (unknown reason)";
	}
}

const char *px_status_str(int status, char *buf, size_t n)
{
	if (status == (PX_KILLED | PX_KILL_SIGNAL))
		snprintf(buf, n, "killed by kill()");
	else if (PX_WAS_KILLED(status))
		snprintf(buf, n, "killed: %s", px_kill_reason_name(PX_KILL_REASON(status)));
	else
		snprintf(buf, n, "exit status %d", PX_EXIT_CODE(status));
	return buf;
}

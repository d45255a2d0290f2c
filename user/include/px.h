/* The user library's API: Pollux syscalls as POSIX-style wrappers and raw px_* calls. */
#ifndef USER_INCLUDE_PX_H
#define USER_INCLUDE_PX_H

/*
 * Two layers over every syscall of lib/uapi/pollux.h (included here, so
 * SYS_*, PX_E*, PX_WAS_KILLED and the address-space constants are visible):
 *
 *   px_*   raw: return the kernel's result unchanged, -PX_Exxx on error.
 *   plain  POSIX-style: -1 with errno set (picolibc's errno values, which
 *          differ from PX_E* for some codes: px_errno() converts).
 *
 * Names that picolibc also declares (read, write, close, pipe, dup, pread,
 * pwrite, fsync, getpgid, getpid, sbrk, clock_gettime) have picolibc's
 * exact prototypes.  wait()
 * and kill() have Pollux's signatures, not POSIX's, so do not include
 * <sys/wait.h> or <signal.h> together with this header.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pollux.h"

struct px_ring_params; /* lib/uapi/pollux.h, with the ring protocol */

/* ---- raw syscalls: result or -PX_Exxx ------------------------------------*/
_Noreturn void px_exit(int status);
/* Any syscall by number, six arguments (user/fuzz.c, tests). */
long px_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long px_getpid(void);
long px_spawn(const char *path, const char *const argv[]);
long px_wait(int pid, int *status);
long px_kill(int pid);
long px_yield(void);
long px_read(int fd, void *buf, size_t n);
long px_write(int fd, const void *buf, size_t n);
long px_pipe(int fds[2]);
long px_close(int fd);
long px_dup(int fd);
long px_sleep(uint64_t ms);
long px_clock_gettime(int clock, struct px_timespec *ts);
long px_sbrk(intptr_t increment);    /* old break, or -PX_Exxx */
long px_ring_setup(unsigned entries, struct px_ring_params *p);
long px_ring_enter(unsigned to_submit, unsigned min_complete, uint64_t timeout_ns);
long px_progs(unsigned index, char *name, size_t n);
/* Kernel counter PX_KSTAT_* (lib/uapi/pollux.h), or -PX_EINVAL. */
long px_kstat(unsigned which);
/* At offset off, not at (and without moving) the file position;
 * -PX_ESPIPE on a pipe or the console. */
long px_pread(int fd, void *buf, size_t n, uint64_t off);
long px_pwrite(int fd, const void *buf, size_t n, uint64_t off);
long px_fstat(int fd, struct px_stat *st);
long px_fsync(int fd);
long px_spawnpg(const char *path, const char *const argv[], int pgid, unsigned flags);
long px_setfg(int pgid);
long px_getpgid(int pid);
/* The file system (docs/fs.md "Syscalls"; errors in lib/uapi/pollux.h).
 * px_open takes PX_O_* flags; open() below takes <fcntl.h>'s O_*. */
long px_open(const char *path, int flags);
long px_lseek(int fd, int64_t off, int whence);       /* PX_SEEK_* */
long px_stat(const char *path, struct px_stat *st);
long px_mkdir(const char *path);
long px_rmdir(const char *path);
long px_unlink(const char *path);
long px_rename(const char *from, const char *to);
long px_link(const char *from, const char *to);
/* Whole struct px_dirent records from the fd's position (which moves):
 * bytes, 0 at the end. */
long px_getdents(int fd, struct px_dirent *buf, size_t n);
long px_ftruncate(int fd, uint64_t size);
long px_chdir(const char *path);
long px_getcwd(char *buf, size_t n);                   /* length of the path */
long px_dup2(int fd, int newfd);
long px_statfs(struct px_statfs *st);
long px_sync(void);
/* Sockets: UDP, ping and TCP (lib/uapi/pollux.h, docs/net.md).  A TCP
 * sendto/recvfrom with no address is send/recv. */
long px_socket(int domain, int type, int protocol);
long px_bind(int fd, const struct px_sockaddr_in *a);
long px_sendto(int fd, const void *buf, size_t n, const struct px_sockaddr_in *to);
long px_recvfrom(int fd, void *buf, size_t n, struct px_sockaddr_in *from);
long px_listen(int fd, int backlog);
long px_accept(int fd, struct px_sockaddr_in *peer);   /* the new fd */
long px_connect(int fd, const struct px_sockaddr_in *a);
long px_shutdown(int fd, int how);                     /* PX_SHUT_* */
long px_getsockname(int fd, struct px_sockaddr_in *a);
long px_getpeername(int fd, struct px_sockaddr_in *a);

/* A raw result in [-4095, -1] is an error. */
static inline int px_is_err(long r)
{
	return r < 0 && r >= -4095;
}

/* picolibc errno value for PX_Exxx (positive).  Unknown codes map to EIO. */
int px_errno(long px_err);

/* ---- POSIX-style: -1 and errno on error ----------------------------------*/
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
int pipe(int fds[2]);
int dup(int fd);
ssize_t pread(int fd, void *buf, size_t n, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off);
int fsync(int fd);
pid_t getpid(void);
void *sbrk(ptrdiff_t increment);     /* (void *)-1 on error */
/* CLOCK_MONOTONIC only: time since boot.  picolibc defines the name only
 * where _POSIX_MONOTONIC_CLOCK is set; this is its value there. */
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC ((clockid_t)4)
#endif
int clock_gettime(clockid_t clock, struct timespec *ts);

/* Start program `path` from the archive with argv (argv[0] is its name by
 * convention; NULL-terminated, at most PX_ARGV_MAX entries and PX_ARG_MAX
 * bytes of strings).  The child inherits fds 0, 1, 2.  Returns its pid. */
int spawn(const char *path, const char *const argv[]);
/* Wait for child `pid` (or any child: -1) to end; *status (if not NULL)
 * gets its exit status: PX_EXIT_CODE, or PX_WAS_KILLED + PX_KILL_REASON. */
int wait(int pid, int *status);
/* kill(pid) ends one process, kill(-pgid) every process of a group. */
int kill(int pid);
/* Process groups (lib/uapi/pollux.h, docs/user.md "Process groups and
 * Ctrl-C"): spawn into group pgid (PX_PG_INHERIT, PX_PG_NEW or an
 * existing group) with PX_SPAWN_FG / PX_SPAWN_STDIO flags; make a group
 * the console's foreground (the one Ctrl-C kills; 0: none), which returns
 * the previous one; a process's group (0: the caller). */
int spawnpg(const char *path, const char *const argv[], int pgid, unsigned flags);
int setfg(int pgid);
pid_t getpgid(pid_t pid);
int yield(void);
int sleep_ms(uint64_t ms);
/* Name (NUL-terminated, truncated to n) and size of the index-th program
 * in the kernel's archive; -1 with errno ENOENT past the last one. */
long progs(unsigned index, char *name, size_t n);

/* The file system, POSIX-style (picolibc's prototypes: <fcntl.h>,
 * <unistd.h>, <sys/stat.h>, <stdio.h> declare them too).  open() takes
 * picolibc's O_* flags (O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND, O_DIRECTORY; other bits such as O_CLOEXEC are
 * ignored) and no mode: there are no permissions.  mkdir's mode is
 * ignored likewise.  stat/fstat fill st_mode (S_IFREG 0644, S_IFDIR 0755,
 * S_IFCHR, S_IFIFO), st_ino, st_nlink, st_size, st_blocks (512-byte units)
 * and st_blksize; the times are 0.  With these, picolibc's fopen, fprintf,
 * fgets, fread, fseek and fclose work on files. */
struct stat;
int open(const char *path, int flags, ...);
off_t lseek(int fd, off_t off, int whence);
int stat(const char *__restrict path, struct stat *__restrict st);
int fstat(int fd, struct stat *st);
int mkdir(const char *path, mode_t mode);
int rmdir(const char *path);
int unlink(const char *path);
int rename(const char *from, const char *to);
int link(const char *from, const char *to);
int ftruncate(int fd, off_t size);
int chdir(const char *path);
char *getcwd(char *buf, size_t n);   /* buf NULL: malloc'd (free it) */
int dup2(int fd, int newfd);
void sync(void);
/* Directory entries (struct px_dirent: ino, type PX_S_REG/PX_S_DIR, name),
 * "." and ".." included.  px_readdir returns NULL at the end (errno
 * untouched) or on an error (errno set); the entry lives until the next
 * px_readdir or px_closedir. */
struct px_dir;
struct px_dir *px_opendir(const char *path);
const struct px_dirent *px_readdir(struct px_dir *d);
int px_closedir(struct px_dir *d);
int getdents(int fd, struct px_dirent *buf, size_t n);   /* bytes, -1 + errno */

/* Sockets, POSIX-style: the BSD calls with Pollux's one address type,
 * struct px_sockaddr_in, whose port and address are in host byte order
 * (so no htons: 10.0.2.2 port 80 is { AF_INET, 80, 0x0a000202 }) and no
 * length argument.  send/recv take no flags.  Blocking, like a POSIX
 * socket without O_NONBLOCK: send returns when every byte is queued;
 * recv when at least one arrived (0: the peer finished sending).  The
 * async versions are px_io_accept, px_io_connect, px_io_recv and
 * px_io_send (px_async.h). */
#ifndef AF_INET
#define AF_INET PX_AF_INET
#endif
#ifndef SOCK_STREAM
#define SOCK_STREAM PX_SOCK_STREAM
#define SOCK_DGRAM PX_SOCK_DGRAM
#endif
#ifndef SHUT_RD
#define SHUT_RD PX_SHUT_RD
#define SHUT_WR PX_SHUT_WR
#define SHUT_RDWR PX_SHUT_RDWR
#endif
int socket(int domain, int type, int protocol);
int bind(int fd, const struct px_sockaddr_in *a);
int listen(int fd, int backlog);
int accept(int fd, struct px_sockaddr_in *peer);  /* peer may be NULL */
int connect(int fd, const struct px_sockaddr_in *a);
ssize_t send(int fd, const void *buf, size_t n);
ssize_t recv(int fd, void *buf, size_t n);
int shutdown(int fd, int how);
int getsockname(int fd, struct px_sockaddr_in *a);
int getpeername(int fd, struct px_sockaddr_in *a);
/* "a.b.c.d" to a host-order address: 0, or -1 if it is not one. */
int px_inet_aton(const char *s, uint32_t *addr);

/* Readable name of a kill reason (PX_KILL_REASON(status)). */
const char *px_kill_reason_name(int reason);
/* What a wait() status says, written into buf (n bytes) and returned:
 * "exit status 3", "killed: memory fault", "killed by kill()". */
const char *px_status_str(int status, char *buf, size_t n);

#endif /* USER_INCLUDE_PX_H */

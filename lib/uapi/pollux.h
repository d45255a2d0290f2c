/* The kernel-user ABI: syscall numbers, error codes, exit statuses, address-space layout. */
#ifndef LIB_UAPI_POLLUX_H
#define LIB_UAPI_POLLUX_H

/*
 * Shared by the kernel and the user library (user/ builds with
 * -Ilib/uapi), so the two can never disagree.  Plain C types only.
 *
 * Calling convention (both arches, like Linux):
 *   riscv64: ecall with the number in a7, arguments in a0..a5, result in a0
 *   aarch64: svc #0 with the number in x8, arguments in x0..x5, result in x0
 * A result in [-4095, -1] is -errno; anything else is success.
 */

/* ---- Syscall numbers ------------------------------------------------------*/
#define SYS_exit          0  /* (int status) -> does not return */
#define SYS_getpid        1  /* () -> pid */
#define SYS_spawn         2  /* (const char *path, const char *const argv[]) -> pid */
#define SYS_wait          3  /* (int pid or -1, int *status or NULL) -> pid */
#define SYS_kill          4  /* (int pid, or -pgid for a process group) -> 0 */
#define SYS_yield         5  /* () -> 0 */
#define SYS_read          6  /* (int fd, void *buf, size_t n) -> bytes, 0 at end */
#define SYS_write         7  /* (int fd, const void *buf, size_t n) -> bytes */
#define SYS_pipe          8  /* (int fds[2]) -> 0; fds[0] reads, fds[1] writes */
#define SYS_close         9  /* (int fd) -> 0 */
#define SYS_dup          10  /* (int fd) -> new fd */
#define SYS_sleep        11  /* (uint64_t ms) -> 0 */
#define SYS_clock_gettime 12 /* (int clock, struct timespec *ts) -> 0 */
#define SYS_sbrk         13  /* (intptr_t increment) -> old break */
#define SYS_ring_setup   14  /* (unsigned entries, struct px_ring_params *p) -> 0 */
#define SYS_ring_enter   15  /* (unsigned to_submit, unsigned min_complete,
                                 uint64_t timeout_ns) -> SQEs consumed */
#define SYS_progs        16  /* (unsigned index, char *name, size_t n) -> size of
                                 the index-th program in the archive */
#define SYS_kstat        17  /* (unsigned which) -> kernel counter PX_KSTAT_* */
#define SYS_pread        18  /* (int fd, void *buf, size_t n, uint64_t off) -> bytes */
#define SYS_pwrite       19  /* (int fd, const void *buf, size_t n, uint64_t off) -> bytes */
#define SYS_fstat        20  /* (int fd, struct px_stat *st) -> 0 */
#define SYS_fsync        21  /* (int fd) -> 0 */
#define SYS_spawnpg      22  /* (path, argv, int pgid, unsigned flags) -> pid:
                                 spawn into a process group (below) */
#define SYS_setfg        23  /* (int pgid or 0) -> the previous one: the console's
                                 foreground process group (0: none) */
#define SYS_getpgid      24  /* (int pid or 0 for the caller) -> its process group */
/* The file system (docs/fs.md, "Syscalls"): paths are NUL-terminated, at
 * most PX_FS_PATH_MAX bytes with the NUL, relative to the caller's working
 * directory unless they start with '/'.  Without a mounted file system the
 * path calls fail with -PX_ENOENT (lookups) or -PX_EROFS (changes). */
#define SYS_open         25  /* (const char *path, int flags) -> fd */
#define SYS_lseek        26  /* (int fd, int64_t off, int whence) -> new position */
#define SYS_stat         27  /* (const char *path, struct px_stat *st) -> 0 */
#define SYS_mkdir        28  /* (const char *path) -> 0 */
#define SYS_rmdir        29  /* (const char *path) -> 0 */
#define SYS_unlink       30  /* (const char *path) -> 0 */
#define SYS_rename       31  /* (const char *from, const char *to) -> 0 */
#define SYS_link         32  /* (const char *from, const char *to) -> 0 */
#define SYS_getdents     33  /* (int fd, struct px_dirent *buf, size_t n) -> bytes */
#define SYS_ftruncate    34  /* (int fd, uint64_t size) -> 0 */
#define SYS_chdir        35  /* (const char *path) -> 0 */
#define SYS_getcwd       36  /* (char *buf, size_t n) -> length (NUL excluded) */
#define SYS_dup2         37  /* (int fd, int newfd) -> newfd */
#define SYS_statfs       38  /* (struct px_statfs *st) -> 0 */
#define SYS_sync         39  /* () -> 0 */
#define SYS_count        40  /* one past the file system's; the network's are 50..59 */
/* 64: SYS_trace_put, in tracing kernels only (lib/uapi/px_trace.h); every
 * other kernel answers -PX_ENOSYS. */

/*
 * Errors of the file-system calls (each also -PX_EFAULT for a bad
 * pointer, -PX_EIO when the disk fails or is damaged, -PX_ENOMEM):
 *   open       ENOENT (a missing component; O_CREAT: a missing directory),
 *              EEXIST (O_CREAT|O_EXCL and it exists), ENOTDIR (a component,
 *              or O_DIRECTORY, is not a directory), EISDIR (a directory
 *              opened for writing, O_TRUNC or O_CREAT), ENAMETOOLONG (a
 *              name over PX_NAME_MAX bytes or a path over PX_FS_PATH_MAX),
 *              EINVAL (access mode 3, unknown flag bits), EMFILE (no free
 *              fd), ENOSPC (no inode or block for a new file), ENFILE
 *              (the kernel's inode table is full)
 *   lseek      EBADF, ESPIPE (a pipe or the console), EINVAL (whence not
 *              PX_SEEK_*, a result below 0 or above 2^63 - 1; PX_SEEK_END
 *              on a directory)
 *   stat       open's lookup errors
 *   mkdir      EEXIST, ENOENT, ENOTDIR, ENAMETOOLONG, ENOSPC, EMLINK
 *   rmdir      ENOENT, ENOTDIR, ENOTEMPTY, EINVAL (".", ".."), EBUSY (/)
 *   unlink     ENOENT, ENOTDIR, EISDIR (a directory: use rmdir)
 *   rename     ENOENT, EEXIST/ENOTEMPTY (onto a non-empty directory),
 *              ENOTDIR, EISDIR (a directory onto a file or the reverse),
 *              EINVAL (a directory into itself or below it), ENOSPC
 *   link       ENOENT, EEXIST, EPERM (a directory), EMLINK, ENOSPC
 *   getdents   EBADF, ENOTDIR (not a directory of the file system),
 *              EINVAL (n smaller than one struct px_dirent)
 *   ftruncate  EBADF (not open for writing), EISDIR, EINVAL (not a file of
 *              the file system), EFBIG
 *   chdir      ENOENT, ENOTDIR
 *   getcwd     ERANGE (n too small for the path and its NUL), ENOENT (the
 *              working directory was removed), ENAMETOOLONG (renames above
 *              it made its path longer than PX_FS_PATH_MAX - 1)
 *   dup2       EBADF (fd not open, newfd out of range)
 *   statfs     ENODEV (no file system mounted)
 * Changes without a mounted file system: EROFS.  sync() returns 0: every
 * change is durable when its call returns (docs/fs.md, "The log").
 */
#define PX_SEEK_SET 0
#define PX_SEEK_CUR 1
#define PX_SEEK_END 2
/* Network (docs/net.md): UDP and TCP sockets.  Addresses are struct
 * px_sockaddr_in. */
#define SYS_socket       50  /* (int domain, int type, int protocol) -> fd:
                                PX_AF_INET, and PX_SOCK_DGRAM with 0 or
                                PX_IPPROTO_UDP (UDP) or PX_IPPROTO_ICMP (ping:
                                below), or PX_SOCK_STREAM with 0 or
                                PX_IPPROTO_TCP (TCP); anything else
                                -PX_EAFNOSUPPORT / -PX_EPROTONOSUPPORT */
#define SYS_bind         51  /* (int fd, const struct px_sockaddr_in *a) -> 0:
                                receive datagrams for local port a->port (a
                                ping socket: echo replies with that id); TCP:
                                the local port of a later listen or connect */
#define SYS_sendto       52  /* (int fd, const void *buf, size_t n,
                                const struct px_sockaddr_in *to) -> n; binds
                                an ephemeral port (id) first if unbound.  TCP:
                                `to` must be NULL; it is send(): waits until
                                all n bytes are queued (or an error: the bytes
                                queued before it, if any) */
#define SYS_recvfrom     53  /* (int fd, void *buf, size_t n,
                                struct px_sockaddr_in *from or NULL) -> bytes
                                of the next datagram (the rest of a longer one
                                is lost); read() is recvfrom without from.
                                TCP: recv(): waits for at least one byte,
                                returns what is there (up to n), 0 at the end
                                of the stream; from gets the peer */
#define SYS_listen       54  /* (int fd, int backlog) -> 0: a bound TCP socket
                                accepts connections (backlog 0 counts as 1) */
#define SYS_accept       55  /* (int fd, struct px_sockaddr_in *peer or NULL)
                                -> a new fd for the next connection */
#define SYS_connect      56  /* (int fd, const struct px_sockaddr_in *a) -> 0
                                once established (an ephemeral local port
                                49152..65535 unless bound) */
#define SYS_shutdown     57  /* (int fd, int how: PX_SHUT_*) -> 0 */
#define SYS_getsockname  58  /* (int fd, struct px_sockaddr_in *a) -> 0 */
#define SYS_getpeername  59  /* (int fd, struct px_sockaddr_in *a) -> 0 */
/*
 * Errors of the socket calls (each also -PX_EBADF for an fd not open,
 * -PX_ENOTSOCK for an fd that is not a socket, -PX_EFAULT, -PX_ENOMEM):
 *   socket     EAFNOSUPPORT, EPROTONOSUPPORT, ENODEV (no network card),
 *              EMFILE
 *   bind       EINVAL (port 0, bound already, or connected), EAFNOSUPPORT
 *   listen     EINVAL (not bound, or connected), EADDRINUSE (another
 *              listener has the port), EOPNOTSUPP (a UDP socket)
 *   accept     EINVAL (not listening), EMFILE, EOPNOTSUPP (UDP)
 *   connect    EISCONN (connected or connecting already), EINVAL (a
 *              listener, port or address 0), ECONNREFUSED (answered with
 *              a reset), ETIMEDOUT (no answer), EADDRINUSE (the bound
 *              port and that peer are taken), EOPNOTSUPP (UDP)
 *   send       ENOTCONN (not connected), EPIPE (after shutdown(SHUT_WR)),
 *              ECONNRESET, ETIMEDOUT (the connection failed), EINVAL (a
 *              TCP sendto with an address)
 *   recv       ENOTCONN, ECONNRESET, ETIMEDOUT
 *   shutdown   ENOTCONN, EINVAL (how not PX_SHUT_*), EOPNOTSUPP (UDP)
 *   getsockname  EOPNOTSUPP (UDP)
 *   getpeername  ENOTCONN (not connected, a listener), EOPNOTSUPP (UDP)
 * read and write on a TCP socket are recv and send.
 */
#define PX_SHUT_RD   0
#define PX_SHUT_WR   1
#define PX_SHUT_RDWR 2

/*
 * Process groups and the console's foreground group (docs/user.md,
 * "Process groups and Ctrl-C").  Every process is in one group, named by
 * a pid (its first member's); a child starts in its parent's group.
 * spawnpg's pgid: PX_PG_INHERIT (the caller's group), PX_PG_NEW (a new
 * group whose id is the child's pid) or an existing group's id (one with
 * at least one process, live or not yet reaped: else -PX_ESRCH); anything
 * else is -PX_EINVAL.  Flags:
 *   PX_SPAWN_FG     the child's group becomes the console's foreground
 *                   group before the child runs (the caller's fd 0 must
 *                   be the console: else -PX_ENOTTY)
 *   PX_SPAWN_STDIO  the child inherits fds 0, 1 and 2 only
 * other bits: -PX_EINVAL.  setfg(pgid): Ctrl-C on the console (cooked
 * mode) kills every process of that group with PX_KILL_INTR; 0 means no
 * foreground group (then Ctrl-C ends the pending console read with an
 * empty line).  Returns the previous foreground group, so it can be put
 * back.  Same errors as spawnpg's pgid (PX_PG_NEW is -PX_EINVAL), and
 * -PX_ENOTTY.
 * kill(-pgid) kills every live process of the group (-PX_ESRCH if none);
 * kill(0) and kill(-1) are -PX_ESRCH.
 */
#define PX_PG_INHERIT   0
#define PX_PG_NEW     (-1)
#define PX_SPAWN_FG     1u
#define PX_SPAWN_STDIO  2u

/* Counters SYS_kstat reads (anything else: -PX_EINVAL).  For tests and
 * benchmarks; each counts since boot, for the whole system. */
#define PX_KSTAT_FP_TRAPS 0 /* first FP/SIMD uses that gave a process its save
                               area (aarch64's lazy FP); 0 on riscv64, whose
                               user code is soft-float */
#define PX_KSTAT_SPAWNS   1 /* processes started (spawn, spawnpg, the first) */
#define PX_KSTAT_CTRLC    2 /* Ctrl-C events on the console (cooked mode) */
#define PX_KSTAT_CTRLC_NS 3 /* clock_gettime's ns at the last Ctrl-C; 0: none */
#define PX_KSTAT_CTRLC_BACK_NS 4 /* ns at which the foreground group was next set
                               to none (setfg(0)) after the last Ctrl-C that
                               found one; 0 until then */
#define PX_KSTAT_IDLE_NS  5 /* ns every hart has spent asleep in the idle loop
                               (up to the interrupt that woke it) */
/* The network driver's loss injection (boot option net_drop=P, docs/net.md):
 * frames it dropped, delivered twice and held back behind the next, each
 * way; all 0 when it is off. */
#define PX_KSTAT_NET_RX_DROPPED    6
#define PX_KSTAT_NET_RX_DUPLICATED 7
#define PX_KSTAT_NET_RX_REORDERED  8
#define PX_KSTAT_NET_TX_DROPPED    9
#define PX_KSTAT_NET_TX_DUPLICATED 10
#define PX_KSTAT_NET_TX_REORDERED  11
#define PX_KSTAT_TCP_CONNS 12 /* TCP connections the stack holds now (listeners,
                               TIME_WAIT included): for leak checks */
#define PX_KSTAT_SOCK_FILES 13 /* TCP socket files open now */
#define PX_KSTAT_WFI_INSTRET 14 /* what the instruction counter (rdinstret,
                               PMU event counter 0) advanced while harts
                               slept in WFI: nonzero where it runs on
                               through a sleep (riscv64 under -icount);
                               benchmarks subtract it */
#define PX_KSTAT_TIMER_HZ 15 /* the time counter's ticks per second (riscv64
                               rdtime, aarch64 CNTPCT_EL0, both readable in
                               user mode): clock_gettime's ns are ticks times
                               10^9 / this when that divides evenly */
/* TCP segments sent again since boot (after a retransmission timeout or
 * a third duplicate ACK), and those of them a third duplicate ACK sent. */
#define PX_KSTAT_TCP_RETRANSMITS 16
#define PX_KSTAT_TCP_FAST_RETRANSMITS 17
/* Page frames free now in the kernel's allocator: for leak checks.  Exact,
 * where counting what sbrk can get is not: that misses a free page when
 * the next heap page would need a new page table as well. */
#define PX_KSTAT_PAGES_FREE 18
#define PX_KSTAT_COUNT    19

#define CLOCK_MONOTONIC_ID 1 /* the only clock: ns since boot */

/* What SYS_clock_gettime fills. */
struct px_timespec {
	long long tv_sec;
	long long tv_nsec;
};

/* What SYS_fstat fills.  type says what kind of file the fd names. */
struct px_stat {
	unsigned int type;        /* PX_S_* */
	unsigned int nlink;       /* files on the disk: directory entries naming it */
	unsigned long long size;  /* bytes in the file; for a pipe, bytes queued */
	unsigned long long ino;   /* files on the disk: the inode number */
	unsigned long long blocks;/* files on the disk: 4 KiB blocks it owns */
};
#define PX_S_CHR  1 /* a character device: the console */
#define PX_S_FIFO 2 /* one end of a pipe */
#define PX_S_REG  3 /* a regular file */
#define PX_S_DIR  4 /* a directory */

/* open() flags (the values Linux uses). */
#define PX_O_RDONLY    0x0
#define PX_O_WRONLY    0x1
#define PX_O_RDWR      0x2
#define PX_O_ACCMODE   0x3
#define PX_O_CREAT     0x40
#define PX_O_EXCL      0x80
#define PX_O_TRUNC     0x200
#define PX_O_APPEND    0x400
#define PX_O_DIRECTORY 0x10000   /* fail with ENOTDIR unless a directory */

/* One directory entry as getdents returns them: fixed-size records. */
#define PX_NAME_MAX 120          /* bytes in a file name */
#define PX_FS_PATH_MAX 1024      /* bytes in a path, the NUL included */
struct px_dirent {
	unsigned int ino;
	unsigned char type;       /* PX_S_REG or PX_S_DIR */
	unsigned char namelen;
	unsigned short _pad;
	char name[PX_NAME_MAX + 4]; /* NUL-terminated */
};

/* What statfs fills: the file system's size and what is free. */
struct px_statfs {
	unsigned int block_size;
	unsigned int _pad;
	unsigned long long blocks, blocks_free;
	unsigned long long inodes, inodes_free;
};

/* pread/pwrite and ring READ/WRITE: "at the file position" instead of an
 * offset.  Files that cannot seek (pipes, the console) take only this. */
#define PX_OFF_CUR 0xffffffffffffffffULL

/* ---- Error codes (returned negated) ----------------------------------------*/
#define PX_EPERM       1
#define PX_ENOENT      2
#define PX_ESRCH       3
#define PX_EINTR       4
#define PX_EIO         5
#define PX_E2BIG       7
#define PX_ENOEXEC     8
#define PX_EBADF       9
#define PX_ECHILD     10
#define PX_EAGAIN     11
#define PX_ENOMEM     12
#define PX_EFAULT     14
#define PX_EBUSY      16
#define PX_EEXIST     17
#define PX_EXDEV      18
#define PX_ENODEV     19
#define PX_ENOTDIR    20
#define PX_EISDIR     21
#define PX_EINVAL     22
#define PX_ENFILE     23
#define PX_EMFILE     24
#define PX_ENOTTY     25
#define PX_EFBIG      27
#define PX_ENOSPC     28
#define PX_ESPIPE     29
#define PX_EROFS      30
#define PX_EMLINK     31
#define PX_EPIPE      32
#define PX_ERANGE     34
#define PX_ENAMETOOLONG 36
#define PX_ENOSYS     38
#define PX_ENOTEMPTY  39
#define PX_ETIME      62
#define PX_EOVERFLOW  75
#define PX_ENOTSOCK   88
#define PX_EMSGSIZE   90
#define PX_EPROTONOSUPPORT 93
#define PX_EAFNOSUPPORT 97
#define PX_EOPNOTSUPP 95
#define PX_EADDRINUSE 98
#define PX_ECONNRESET 104
#define PX_EISCONN   106
#define PX_ENOTCONN  107
#define PX_ETIMEDOUT 110
#define PX_ECONNREFUSED 111
#define PX_EHOSTUNREACH 113
#define PX_ECANCELED 125

/* Sockets (SYS_socket..SYS_recvfrom).  The address in host byte order:
 * 10.0.2.2 port 7 is { PX_AF_INET, 7, 0x0a000202 }. */
#define PX_AF_INET    2
#define PX_SOCK_STREAM 1
#define PX_SOCK_DGRAM 2
#define PX_IPPROTO_ICMP 1
#define PX_IPPROTO_TCP 6
#define PX_IPPROTO_UDP 17
/* A ping socket (PX_IPPROTO_ICMP) sends what sendto is given as an ICMP
 * echo request: 8 header bytes (type 8, code 0; the kernel sets the
 * identifier to the socket's id and the checksum; the sequence number is
 * the caller's) and the data.  recvfrom returns echo replies for the
 * socket's id, header included (the checksum field reads 0). */
struct px_sockaddr_in {
	uint16_t family;   /* PX_AF_INET */
	uint16_t port;
	uint32_t addr;
};

/* ---- Exit statuses that wait() reports -------------------------------------
 * A program that calls exit(n) ends with n & 0xff.  A program the kernel
 * ends gets PX_KILLED | reason, which no exit(n) can produce. */
#define PX_KILLED        0x100
#define PX_KILL_SIGNAL   1   /* kill() */
#define PX_KILL_FAULT    2   /* bad load/store/fetch, guard page */
#define PX_KILL_ILLEGAL  3   /* illegal instruction */
#define PX_KILL_BADCALL  4   /* reserved: unknown syscalls return -PX_ENOSYS */
#define PX_KILL_NOMEM    5   /* no kernel memory for its FP/SIMD state */
#define PX_KILL_BREAKPOINT 6 /* ebreak / brk with no debugger attached */
#define PX_KILL_INTR     7   /* Ctrl-C: its group was the console's foreground */
#define PX_WAS_KILLED(st)  (((st) & PX_KILLED) != 0)
#define PX_KILL_REASON(st) ((st) & 0xff)
#define PX_EXIT_CODE(st)   ((st) & 0xff)

/* ---- Address space (both arches) -------------------------------------------
 * The kernel is mapped at the bottom (identity map of MMIO and RAM, below
 * 4 GiB, kernel-only); user programs live in [PX_USER_BASE, PX_USER_TOP).
 * Programs are linked at PX_USER_BASE; the stack grows down from
 * PX_STACK_TOP with an unmapped guard page below its lowest page. */
#define PX_USER_BASE   0x1000000000ULL   /* 64 GiB */
#define PX_USER_TOP    0x2000000000ULL   /* 128 GiB */
#define PX_STACK_TOP   PX_USER_TOP
#define PX_STACK_PAGES 16               /* 64 KiB of stack */
#define PX_RING_BASE   0x1f00000000ULL   /* where ring_setup maps the rings */
#define PX_RING_PAGES  32                /* the ring area: PX_RING_PAGES pages */
#define PX_PAGE_SIZE   4096

#define PX_ARGV_MAX    16    /* arguments to spawn, argv[0] included */
#define PX_ARG_MAX     256   /* bytes of all argument strings together */
#define PX_PATH_MAX    64
#define PX_NFD_MAX     1024  /* open files per process: fds 0..PX_NFD_MAX-1 */

/* ---- Async rings (io_uring-shaped) -------------------------------------------
 *
 * ring_setup(entries, &params) maps one submission ring (SQ) and one
 * completion ring (CQ) into the process at params.sq_va / params.cq_va
 * (inside [PX_RING_BASE, PX_RING_BASE + PX_RING_PAGES pages)); entries is a power of two
 * in [1, PX_RING_MAX]; the CQ has twice as many entries.  One ring per
 * process (a second ring_setup gives -PX_EBUSY; bad entries -PX_EINVAL;
 * a bad params pointer -PX_EFAULT; no memory -PX_ENOMEM).  The rings stay
 * mapped until the process ends.
 *
 * Each ring is a header followed by its entry array.  Indices run freely
 * (uint32, wrapping); entry i lives at array[i & mask].
 *
 *   SQ: the program writes entries at sq.tail, then publishes them with a
 *       store-release of sq.tail; the kernel reads sq.tail with a
 *       load-acquire, consumes entries from its own head (it never trusts
 *       the head in shared memory) and publishes progress with a
 *       store-release of sq.head.
 *   CQ: the kernel writes entries at cq.tail, then store-releases cq.tail;
 *       the program load-acquires cq.tail, reads entries from cq.head, and
 *       store-releases cq.head to give the slots back.
 *
 * ring_enter(to_submit, min_complete, timeout_ns): consumes up to
 * to_submit new SQ entries, then, if min_complete > 0, waits until at
 * least min_complete CQ entries are ready or timeout_ns nanoseconds pass
 * (PX_RING_FOREVER: no limit; 0: look once).  Returns the number of
 * entries consumed from the SQ, also when the wait timed out (count the
 * CQ to tell), or -errno: -PX_EBADF without a ring; -PX_EINVAL for a
 * corrupt ring (an SQ tail more than `entries` ahead of the kernel's SQ
 * head, a CQ head moved backwards or past the CQ tail), with nothing
 * consumed.  A program that corrupts its ring gets errors, never a
 * kernel crash; the kernel keeps its own copy of every index, mask and
 * size and never reads the header's mask/entries back.
 *
 * Each consumed SQE gets exactly one CQE with its user_data; an invalid
 * SQE (unknown op, flags != 0, bad fd, bad buffer, bad length) completes
 * with -errno in its CQE, not as a ring_enter failure.  NOP (and every
 * invalid SQE, CANCEL, zero-length READ/WRITE) completes inside
 * ring_enter; the others complete later, in any order.  READ and WRITE
 * return what read()/pread() and write()/pwrite() would: they run the
 * same operation of the same file.  BLK_*: -PX_EINVAL for len 0, not a multiple of
 * 512 or above 128 KiB; -PX_ERANGE past the end of the disk; -PX_ENODEV
 * without a disk.  A CQE with -PX_EAGAIN means the kernel could not start
 * the operation: params.ops_max (min(2048, CQ entries)) are in flight.
 * Each ring runs its operations in kernel memory of its own, set aside
 * at ring_setup: other processes' operations never take its share.
 *
 * Memory: the CQ header's flags/overflow are written before the CQ tail's
 * store-release, so a program that load-acquires the tail sees them at
 * least that fresh.
 *
 * A full CQ loses nothing: completions that do not fit wait in the kernel
 * (cq.flags has PX_RING_CQ_OVERFLOW, cq.overflow counts them) and move in
 * as the program frees slots (at every ring_enter).  When that backlog
 * itself is full, ring_enter consumes no new entries and returns
 * -PX_EBUSY until the program drains the CQ.  The backlog holds 2 x CQ
 * entries, and a slot is set aside for every operation in flight, so
 * "full" means backlog + operations in flight = 2 x CQ entries.  Since
 * at most ops_max <= CQ entries operations are in flight, the backlog is
 * full only when the CQ is too: with nothing left to reap, ring_enter
 * always consumes (a CANCEL, say).
 */
#define PX_RING_MAX 1024
#define PX_RING_FOREVER 0xffffffffffffffffULL

enum px_ring_op {
	PX_OP_NOP = 0,        /* completes at once with res 0 */
	PX_OP_READ = 1,       /* fd, addr, len, off: like pread() (off PX_OFF_CUR:
	                         like read()); off is ignored on files that cannot
	                         seek (pipes, the console) */
	PX_OP_WRITE = 2,      /* fd, addr, len, off: like pwrite() / write() */
	PX_OP_TIMEOUT = 3,    /* off = nanoseconds from submission; res -PX_ETIME */
	PX_OP_BLK_READ = 4,   /* off = first sector, addr, len = bytes (multiple of 512) */
	PX_OP_BLK_WRITE = 5,
	PX_OP_CANCEL = 6,     /* addr = user_data of the operation to cancel; res 0
	                         or -PX_ENOENT; the cancelled one completes with
	                         -PX_ECANCELED (a pipe WRITE that had moved bytes:
	                         their count) */
	/* The file system: the same futures as the syscalls of the same name,
	 * with the same results and errors.  Paths (addr, off) are copied when
	 * the SQE is consumed and start at the working directory of that
	 * moment.  A change (OPENAT with O_CREAT/O_TRUNC, MKDIR, UNLINK, RMDIR,
	 * RENAME, LINK, FTRUNCATE, a WRITE to a file) cancelled once it holds
	 * room in the log gets its -PX_ECANCELED CQE at once but still
	 * completes on the disk afterwards, all or nothing (a write stops
	 * after the 32 KiB chunk it is in). */
	PX_OP_OPENAT = 7,     /* addr = path, len = flags: res = the new fd */
	PX_OP_CLOSE = 8,      /* fd; completes inside ring_enter */
	PX_OP_FSTAT = 9,      /* fd, addr = struct px_stat * */
	PX_OP_STAT = 10,      /* addr = path, off = struct px_stat * */
	PX_OP_FSYNC = 11,     /* fd */
	PX_OP_MKDIR = 12,     /* addr = path */
	PX_OP_UNLINK = 13,    /* addr = path */
	PX_OP_RMDIR = 14,     /* addr = path */
	PX_OP_RENAME = 15,    /* addr = from, off = to (both paths) */
	PX_OP_LINK = 16,      /* addr = from, off = to */
	PX_OP_GETDENTS = 17,  /* fd, addr, len, off = a directory slot or
	                         PX_OFF_CUR (at and moving the fd's position) */
	PX_OP_FTRUNCATE = 18, /* fd, off = the new size */
	/* TCP sockets: the same futures as the syscalls, same results and
	 * errors (19 is the file system's, unused). */
	PX_OP_ACCEPT = 20,    /* fd, addr = struct px_sockaddr_in * for the peer
	                         or 0: res = the new fd */
	PX_OP_CONNECT = 21,   /* fd, addr = struct px_sockaddr_in * (read at
	                         submission): res 0 once established */
	PX_OP_RECV = 22,      /* fd, addr, len: like recv() */
	PX_OP_SEND = 23,      /* fd, addr, len: like send() */
	PX_OP_COUNT
};

struct px_sqe {
	unsigned char op;        /* enum px_ring_op */
	unsigned char flags;     /* 0 */
	unsigned short _pad;
	int fd;
	unsigned long long off;
	unsigned long long addr;
	unsigned int len;
	unsigned int _pad2;
	unsigned long long user_data;  /* copied to the completion */
};

struct px_cqe {
	unsigned long long user_data;
	long long res;           /* like the syscall's result: >= 0 or -errno */
};

struct px_ring_hdr {
	unsigned int head;
	unsigned int tail;
	unsigned int mask;       /* entries - 1 */
	unsigned int entries;
	unsigned int flags;      /* PX_RING_CQ_OVERFLOW */
	unsigned int overflow;   /* completions waiting in the kernel */
	unsigned int _pad[2];    /* entries start 32 bytes in */
};
#define PX_RING_CQ_OVERFLOW 1u

struct px_ring_params {
	unsigned int sq_entries;
	unsigned int cq_entries;
	unsigned long long sq_va;  /* struct px_ring_hdr, then px_sqe[sq_entries] */
	unsigned long long cq_va;  /* struct px_ring_hdr, then px_cqe[cq_entries] */
	unsigned int ops_max;      /* operations that may be in flight at once */
	unsigned int _pad;
};

#endif /* LIB_UAPI_POLLUX_H */

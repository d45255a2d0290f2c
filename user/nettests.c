/* nettests: the TCP socket calls and ring ops, every error code, and a session with the host (scripts/nettest.py). */
#include <stdio.h>
#include <string.h>

#include "px.h"
#include "px_ring.h"

/*
 *   nettests [local|peer]       default both
 *
 * local: what needs no other end — every error of socket, bind, listen,
 *        accept, connect, shutdown, getsockname, getpeername, send/recv
 *        on the syscall door and of ACCEPT, CONNECT, RECV, SEND on the
 *        ring door, and the socket-file counter.
 * peer:  listens on port 80 (the host's forwarded port reaches it),
 *        prints "nettests: ready", and then scripts/nettest.py connects
 *        four times, in order:
 *          1  syscalls: accept with the peer's address, getsockname and
 *             getpeername, recv "hello" (read()), sends and SENDs from
 *             unmapped or partly unmapped buffers fail with EFAULT and
 *             send nothing, send "HELLO" (write()),
 *             recv 0 once the host shut its side, send "bye" and
 *             shutdown(SHUT_WR) (the host sees "bye" and the end), then
 *             send gives EPIPE
 *          2  the ring: ACCEPT, RECV of 5000 bytes in pieces, SEND of them
 *             back, RECV 0 at the host's close
 *          3  the host resets the connection: recv gives ECONNRESET
 *          4  a second listener on port 80 is EADDRINUSE while the first
 *             listens; closed, the port can be listened on again
 *        and then it connects out twice, to 10.0.2.100:1234 and :1235,
 *        which QEMU's guestfwd carries to listeners of the host's:
 *          5  connect (syscall): an ephemeral local port, the peer's
 *             address, "ping" out, "pong" back, shutdown(SHUT_RD) makes
 *             recv 0 while send still works; then connect and CONNECT
 *             to 10.0.2.2:9, which QEMU resets: ECONNREFUSED
 *          6  CONNECT (ring) from a bound port 4242, SEND "ring", RECV
 *             "gnir"
 * Prints "nettests NAME: OK/FAILED" per check and "N passed, N failed";
 * exit status 0 only if none failed.
 */

static int passed, failed;

static void check(const char *name, long got, long want)
{
	if (got == want) {
		printf("nettests %s: OK\n", name);
		passed++;
	} else {
		printf("nettests %s: FAILED (got %ld, expected %ld)\n", name, got, want);
		failed++;
	}
}

static struct px_ring ring;

/* One ring op, waited for: its CQE's res. */
static long ring_do(unsigned op, int fd, const void *addr, uint32_t len)
{
	static uint64_t ud = 1;
	struct px_sqe *s = px_ring_get_sqe(&ring);
	if (!s)
		return -9999;
	px_sqe_prep(s, op, fd, 0, (uint64_t)(uintptr_t)addr, len, ++ud);
	if (px_ring_submit(&ring, 1, PX_RING_FOREVER) < 0)
		return -9998;
	const struct px_cqe *c = px_ring_peek_cqe(&ring);
	long res = c && c->user_data == ud ? (long)c->res : -9997;
	px_ring_cq_advance(&ring, 1);
	return res;
}

#define PAGE 4096
#define UNMAPPED 0x1800000000ULL  /* inside the user region, unmapped */

/* The first byte of an unmapped page that follows a mapped heap page
 * (NULL if the heap cannot grow). */
static char *edge_page(void)
{
	long cur = px_sbrk(0);
	if (px_is_err(cur))
		return NULL;
	long pad = (long)(((uint64_t)cur + PAGE - 1) / PAGE * PAGE - (uint64_t)cur);
	long pg = px_sbrk(pad + PAGE);
	if (px_is_err(pg))
		return NULL;
	return (char *)(uintptr_t)((uint64_t)pg + (uint64_t)pad + PAGE);
}

static long tcp_socket(void)
{
	return px_socket(PX_AF_INET, PX_SOCK_STREAM, 0);
}

static void local_tests(void)
{
	char buf[16];
	int fds[2];
	struct px_sockaddr_in a, any80 = { PX_AF_INET, 80, 0 };
	struct px_sockaddr_in gw9 = { PX_AF_INET, 9, 0x0a000202 };
	long files0 = px_kstat(PX_KSTAT_SOCK_FILES);

	check("socket_tcp_proto", px_socket(PX_AF_INET, PX_SOCK_STREAM, PX_IPPROTO_TCP) >= 0, 1);
	check("socket_stream_udp", px_socket(PX_AF_INET, PX_SOCK_STREAM, PX_IPPROTO_UDP),
	      -PX_EPROTONOSUPPORT);
	check("socket_bad_domain", px_socket(1, PX_SOCK_STREAM, 0), -PX_EAFNOSUPPORT);
	long s = tcp_socket();
	check("socket", s >= 0, 1);
	check("socket_files", px_kstat(PX_KSTAT_SOCK_FILES), files0 + 2);
	check("getsockname_unbound", px_getsockname((int)s, &a) == 0 && a.port == 0, 1);
	check("getpeername_unconnected", px_getpeername((int)s, &a), -PX_ENOTCONN);
	check("recv_unconnected", px_recvfrom((int)s, buf, sizeof(buf), NULL), -PX_ENOTCONN);
	check("read_unconnected", px_read((int)s, buf, sizeof(buf)), -PX_ENOTCONN);
	check("send_unconnected", px_sendto((int)s, "x", 1, NULL), -PX_ENOTCONN);
	check("write_unconnected", px_write((int)s, "x", 1), -PX_ENOTCONN);
	check("sendto_with_address", px_sendto((int)s, "x", 1, &gw9), -PX_EINVAL);
	check("shutdown_unconnected", px_shutdown((int)s, PX_SHUT_WR), -PX_ENOTCONN);
	check("shutdown_bad_how", px_shutdown((int)s, 3), -PX_EINVAL);
	check("listen_unbound", px_listen((int)s, 4), -PX_EINVAL);
	check("accept_not_listening", px_accept((int)s, NULL), -PX_EINVAL);
	check("connect_port_0", px_connect((int)s, &(struct px_sockaddr_in){ PX_AF_INET, 0, 0x0a000202 }),
	      -PX_EINVAL);
	check("connect_bad_pointer", px_connect((int)s, (void *)16), -PX_EFAULT);
	check("connect_bad_family", px_connect((int)s, &(struct px_sockaddr_in){ 10, 9, 1 }),
	      -PX_EAFNOSUPPORT);
	check("bind_port_0", px_bind((int)s, &(struct px_sockaddr_in){ PX_AF_INET, 0, 0 }), -PX_EINVAL);
	check("bind", px_bind((int)s, &(struct px_sockaddr_in){ PX_AF_INET, 8081, 0 }), 0);
	check("bind_twice", px_bind((int)s, &any80), -PX_EINVAL);
	check("getsockname_bound", px_getsockname((int)s, &a) == 0 && a.port == 8081 &&
	      a.family == PX_AF_INET, 1);
	check("getsockname_bad_pointer", px_getsockname((int)s, (void *)16), -PX_EFAULT);
	check("listen", px_listen((int)s, 4), 0);
	check("listen_again", px_listen((int)s, 4), 0);
	check("connect_listener", px_connect((int)s, &gw9), -PX_EINVAL);
	check("recv_listener", px_recvfrom((int)s, buf, sizeof(buf), NULL), -PX_ENOTCONN);
	check("getpeername_listener", px_getpeername((int)s, &a), -PX_ENOTCONN);
	check("accept_bad_pointer", px_accept((int)s, (void *)16), -PX_EFAULT);
	long t = tcp_socket();
	px_bind((int)t, &(struct px_sockaddr_in){ PX_AF_INET, 8081, 0 });
	check("listen_in_use", px_listen((int)t, 4), -PX_EADDRINUSE);

	/* Not TCP sockets. */
	long u = px_socket(PX_AF_INET, PX_SOCK_DGRAM, 0);
	px_pipe(fds);
	check("listen_udp", px_listen((int)u, 1), -PX_EOPNOTSUPP);
	check("accept_udp", px_accept((int)u, NULL), -PX_EOPNOTSUPP);
	check("connect_udp", px_connect((int)u, &gw9), -PX_EOPNOTSUPP);
	check("shutdown_udp", px_shutdown((int)u, PX_SHUT_RDWR), -PX_EOPNOTSUPP);
	check("getpeername_udp", px_getpeername((int)u, &a), -PX_EOPNOTSUPP);
	check("listen_pipe", px_listen(fds[0], 1), -PX_ENOTSOCK);
	check("accept_pipe", px_accept(fds[0], NULL), -PX_ENOTSOCK);
	check("connect_pipe", px_connect(fds[0], &gw9), -PX_ENOTSOCK);
	check("shutdown_pipe", px_shutdown(fds[0], 0), -PX_ENOTSOCK);
	check("getsockname_pipe", px_getsockname(fds[0], &a), -PX_ENOTSOCK);
	check("listen_bad_fd", px_listen(99, 1), -PX_EBADF);
	check("accept_bad_fd", px_accept(-1, NULL), -PX_EBADF);
	check("connect_bad_fd", px_connect(15, &gw9), -PX_EBADF);
	check("getpeername_bad_fd", px_getpeername(99, &a), -PX_EBADF);

	/* The ring door: the same futures, the same errors. */
	check("ring_setup", px_ring_init(&ring, 8), 0);
	check("ring_accept_not_listening", ring_do(PX_OP_ACCEPT, (int)t, NULL, 0), -PX_EINVAL);
	check("ring_connect_listener", ring_do(PX_OP_CONNECT, (int)s, &gw9, 0), -PX_EINVAL);
	check("ring_connect_bad_pointer", ring_do(PX_OP_CONNECT, (int)t, (void *)16, 0), -PX_EFAULT);
	check("ring_connect_port_0",
	      ring_do(PX_OP_CONNECT, (int)t, &(struct px_sockaddr_in){ PX_AF_INET, 0, 1 }, 0),
	      -PX_EINVAL);
	check("ring_recv_unconnected", ring_do(PX_OP_RECV, (int)t, buf, sizeof(buf)), -PX_ENOTCONN);
	check("ring_send_unconnected", ring_do(PX_OP_SEND, (int)t, "x", 1), -PX_ENOTCONN);
	check("ring_read_unconnected", ring_do(PX_OP_READ, (int)t, buf, sizeof(buf)), -PX_ENOTCONN);
	check("ring_recv_bad_buffer", ring_do(PX_OP_RECV, (int)t, (void *)16, 8), -PX_EFAULT);
	check("ring_send_bad_buffer", ring_do(PX_OP_SEND, (int)t, (void *)16, 8), -PX_EFAULT);
	check("ring_recv_zero", ring_do(PX_OP_RECV, (int)t, buf, 0), 0);
	check("ring_accept_bad_pointer", ring_do(PX_OP_ACCEPT, (int)s, (void *)16, 0), -PX_EFAULT);
	check("ring_accept_udp", ring_do(PX_OP_ACCEPT, (int)u, NULL, 0), -PX_EOPNOTSUPP);
	check("ring_recv_pipe", ring_do(PX_OP_RECV, fds[0], buf, 1), -PX_ENOTSOCK);
	check("ring_send_bad_fd", ring_do(PX_OP_SEND, 99, "x", 1), -PX_EBADF);
	check("ring_connect_bad_fd", ring_do(PX_OP_CONNECT, -1, &gw9, 0), -PX_EBADF);

	px_close((int)s);
	px_close((int)t);
	px_close((int)u);
	px_close(fds[0]);
	px_close(fds[1]);
	check("socket_files_closed", px_kstat(PX_KSTAT_SOCK_FILES), files0 + 1);
}

static int recv_all(int fd, char *buf, long n, int ring_door)
{
	long got = 0;
	while (got < n) {
		long r = ring_door ? ring_do(PX_OP_RECV, fd, buf + got, (uint32_t)(n - got))
				   : px_recvfrom(fd, buf + got, (size_t)(n - got), NULL);
		if (r <= 0)
			return (int)got;
		got += r;
	}
	return (int)got;
}

static void peer_tests(void)
{
	static char big[5000];
	char buf[16];
	struct px_sockaddr_in peer, a, name;
	long conns0 = px_kstat(PX_KSTAT_TCP_CONNS);

	long l = tcp_socket();
	check("peer_bind", px_bind((int)l, &(struct px_sockaddr_in){ PX_AF_INET, 80, 0 }), 0);
	check("peer_listen", px_listen((int)l, 4), 0);
	check("conns_listener", px_kstat(PX_KSTAT_TCP_CONNS), conns0 + 1);
	printf("nettests: ready\n");

	/* 1: syscalls. */
	long c = px_accept((int)l, &peer);
	check("accept", c >= 0, 1);
	check("accept_peer", peer.family == PX_AF_INET && peer.addr == 0x0a000202 && peer.port != 0, 1);
	check("getpeername", px_getpeername((int)c, &a) == 0 && a.addr == peer.addr &&
	      a.port == peer.port, 1);
	check("getsockname", px_getsockname((int)c, &name) == 0 && name.port == 80 &&
	      name.addr == 0x0a00020f, 1);
	check("read_hello", recv_all((int)c, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0, 1);
	/* Bad buffers on a connected socket: EFAULT, and not a byte goes
	 * out (the host reads HELLO next): an unmapped page, and a good
	 * head whose tail runs into an unmapped page, through both doors. */
	char *edge = edge_page();
	check("send_unmapped", px_sendto((int)c, (void *)UNMAPPED, 8, NULL), -PX_EFAULT);
	check("write_unmapped", px_write((int)c, (void *)UNMAPPED, 8), -PX_EFAULT);
	check("send_tail_unmapped", edge ? px_sendto((int)c, edge - 4, 8, NULL) : 0, -PX_EFAULT);
	check("ring_send_unmapped", ring_do(PX_OP_SEND, (int)c, (void *)UNMAPPED, 8), -PX_EFAULT);
	check("ring_send_tail_unmapped", edge ? ring_do(PX_OP_SEND, (int)c, edge - 4, 8) : 0,
	      -PX_EFAULT);
	check("write_HELLO", px_write((int)c, "HELLO", 5), 5);
	check("recv_end", px_recvfrom((int)c, buf, sizeof(buf), NULL), 0);
	check("send_after_peer_end", px_sendto((int)c, "bye", 3, NULL), 3);
	check("shutdown_wr", px_shutdown((int)c, PX_SHUT_WR), 0);
	check("send_after_shutdown", px_sendto((int)c, "x", 1, NULL), -PX_EPIPE);
	check("connect_connected", px_connect((int)c, &peer), -PX_EISCONN);
	px_close((int)c);

	/* 2: the ring. */
	c = ring_do(PX_OP_ACCEPT, (int)l, &peer, 0);
	check("ring_accept", c >= 0 && peer.addr == 0x0a000202, 1);
	int ok = recv_all((int)c, big, sizeof(big), 1) == (int)sizeof(big);
	for (int i = 0; ok && i < (int)sizeof(big); i++)
		ok = big[i] == (char)(i * 7 + 3);
	check("ring_recv_5000", ok, 1);
	check("ring_send_5000", ring_do(PX_OP_SEND, (int)c, big, sizeof(big)), sizeof(big));
	check("ring_recv_end", ring_do(PX_OP_RECV, (int)c, buf, sizeof(buf)), 0);
	check("ring_connect_connected", ring_do(PX_OP_CONNECT, (int)c, &peer, 0), -PX_EISCONN);
	px_close((int)c);

	/* 3: a reset. */
	c = px_accept((int)l, NULL);
	check("accept_reset_one", c >= 0, 1);
	check("recv_reset", px_recvfrom((int)c, buf, sizeof(buf), NULL), -PX_ECONNRESET);
	px_close((int)c);

	/* 4: the port while listening and after. */
	long t = tcp_socket();
	px_bind((int)t, &(struct px_sockaddr_in){ PX_AF_INET, 80, 0 });
	check("listen_port_in_use", px_listen((int)t, 1), -PX_EADDRINUSE);
	px_close((int)l);
	check("listen_after_close", px_listen((int)t, 1), 0);
	px_close((int)t);

	/* 5: connect out (syscall). */
	struct px_sockaddr_in fwd = { PX_AF_INET, 1234, 0x0a000264 };
	c = tcp_socket();
	check("connect", px_connect((int)c, &fwd), 0);
	check("connect_sockname", px_getsockname((int)c, &name) == 0 && name.port >= 49152 &&
	      name.addr == 0x0a00020f, 1);
	check("connect_peername", px_getpeername((int)c, &a) == 0 && a.port == 1234 &&
	      a.addr == fwd.addr, 1);
	check("connect_again", px_connect((int)c, &fwd), -PX_EISCONN);
	check("send_ping", px_sendto((int)c, "ping", 4, NULL), 4);
	check("recv_pong", recv_all((int)c, buf, 4, 0) == 4 && memcmp(buf, "pong", 4) == 0, 1);
	/* The peer never ends its stream here: only SHUT_RD makes recv 0. */
	check("shutdown_rd", px_shutdown((int)c, PX_SHUT_RD), 0);
	check("recv_after_shutdown_rd", px_recvfrom((int)c, buf, sizeof(buf), &a), 0);
	check("send_after_shutdown_rd", px_sendto((int)c, "!", 1, NULL), 1);
	px_close((int)c);

	/* QEMU resets a connection to anything not forwarded (restrict=on). */
	c = tcp_socket();
	check("connect_refused", px_connect((int)c, &(struct px_sockaddr_in){ PX_AF_INET, 9, 0x0a000202 }),
	      -PX_ECONNREFUSED);
	check("recv_after_refused", px_recvfrom((int)c, buf, sizeof(buf), NULL), -PX_ECONNREFUSED);
	px_close((int)c);
	c = tcp_socket();
	check("ring_connect_refused",
	      ring_do(PX_OP_CONNECT, (int)c, &(struct px_sockaddr_in){ PX_AF_INET, 9, 0x0a000202 }, 0),
	      -PX_ECONNREFUSED);
	px_close((int)c);

	/* 6: CONNECT (ring) from a bound port. */
	fwd.port = 1235;
	c = tcp_socket();
	px_bind((int)c, &(struct px_sockaddr_in){ PX_AF_INET, 4242, 0 });
	check("ring_connect", ring_do(PX_OP_CONNECT, (int)c, &fwd, 0), 0);
	check("ring_connect_sockname", px_getsockname((int)c, &name) == 0 && name.port == 4242, 1);
	check("ring_send", ring_do(PX_OP_SEND, (int)c, "ring", 4), 4);
	check("ring_recv", recv_all((int)c, buf, 4, 1) == 4 && memcmp(buf, "gnir", 4) == 0, 1);
	px_close((int)c);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	if (strcmp(what, "peer") != 0)
		local_tests();
	if (strcmp(what, "local") != 0) {
		if (!ring.sq && px_ring_init(&ring, 8) != 0)
			check("ring_setup", -1, 0);
		peer_tests();
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

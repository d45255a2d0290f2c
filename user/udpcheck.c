/* udpcheck: the UDP socket syscalls' error paths, on a guest with a network card (scripts/nettest.py). */
#include <stdio.h>
#include <string.h>

#include "px.h"

static int passed, failed;

static void check(const char *name, long got, long want)
{
	if (got == want) {
		printf("udpcheck %s: OK\n", name);
		passed++;
	} else {
		printf("udpcheck %s: FAILED (got %ld, expected %ld)\n", name, got, want);
		failed++;
	}
}

int main(void)
{
	static char big[1473 + 8];
	char buf[16];
	int fds[2];
	struct px_sockaddr_in a = { PX_AF_INET, 5556, 0 };
	struct px_sockaddr_in lo = { PX_AF_INET, 7, 0x7f000001 };
	struct px_sockaddr_in gw = { PX_AF_INET, 7, 0x0a000202 };
	struct px_sockaddr_in bad_family = { 10, 5557, 0 };

	check("bad_domain", px_socket(99, PX_SOCK_DGRAM, 0), -PX_EAFNOSUPPORT);
	check("bad_type", px_socket(PX_AF_INET, 3, 0), -PX_EPROTONOSUPPORT);
	long s = px_socket(PX_AF_INET, PX_SOCK_DGRAM, 0);
	check("socket", s >= 0, 1);
	check("recv_unbound", px_recvfrom((int)s, buf, sizeof(buf), NULL), -PX_EINVAL);
	check("bind_bad_pointer", px_bind((int)s, (void *)16), -PX_EFAULT);
	check("bind_bad_family", px_bind((int)s, &bad_family), -PX_EAFNOSUPPORT);
	check("bind", px_bind((int)s, &a), 0);
	check("bind_twice", px_bind((int)s, &a), -PX_EINVAL);
	long t = px_socket(PX_AF_INET, PX_SOCK_DGRAM, 0);
	check("bind_in_use", px_bind((int)t, &a), -PX_EADDRINUSE);
	px_close((int)s);
	check("bind_after_close", px_bind((int)t, &a), 0);
	check("recv_bad_buffer", px_recvfrom((int)t, (void *)16, 8, NULL), -PX_EFAULT);
	check("send_too_big", px_sendto((int)t, big, 1473, &gw), -PX_EMSGSIZE);
	check("send_loopback", px_sendto((int)t, "x", 1, &lo), -PX_EHOSTUNREACH);
	check("send_bad_buffer", px_sendto((int)t, (void *)16, 8, &gw), -PX_EFAULT);
	check("send_bad_address", px_sendto((int)t, "x", 1, (void *)16), -PX_EFAULT);
	check("send_port_0", px_sendto((int)t, "x", 1, &(struct px_sockaddr_in){ PX_AF_INET, 0, 0x0a000202 }), -PX_EINVAL);
	px_pipe(fds);
	check("not_a_socket", px_bind(fds[0], &a), -PX_ENOTSOCK);
	check("bad_fd", px_bind(99, &a), -PX_EBADF);
	check("write_socket", px_write((int)t, "x", 1), -PX_EBADF);
	/* Ping sockets: an echo request needs its 8 header bytes, type 8. */
	long ps = px_socket(PX_AF_INET, PX_SOCK_DGRAM, PX_IPPROTO_ICMP);
	check("ping_socket", ps >= 0, 1);
	check("ping_bad_proto", px_socket(PX_AF_INET, PX_SOCK_DGRAM, 6), -PX_EPROTONOSUPPORT);
	check("ping_short", px_sendto((int)ps, "1234567", 7, &gw), -PX_EINVAL);
	static const unsigned char not_echo[8] = { 13, 0 };
	check("ping_not_echo", px_sendto((int)ps, not_echo, 8, &gw), -PX_EINVAL);
	check("ping_too_big", px_sendto((int)ps, big, sizeof(big) + 1, &gw), -PX_EMSGSIZE);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

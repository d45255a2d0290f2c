/* udpecho: a UDP echo server on a port (default 5555); a datagram "quit" ends it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"

/*
 * Every datagram goes back to its sender, byte for byte.  A datagram that
 * reads exactly "quit" is not answered: it ends the program with status 0
 * (the host-side test uses it to end a boot that runs udpecho as process
 * 1; an answer could be lost, as the power goes off as soon as process 1
 * exits).  Needs a network card: scripts/run-qemu.sh --net.
 */
int main(int argc, char **argv)
{
	static char buf[1472];
	unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5555;
	long fd = px_socket(PX_AF_INET, PX_SOCK_DGRAM, 0);
	if (fd < 0) {
		printf("udpecho: socket: error %ld\n", -fd);
		return 1;
	}
	struct px_sockaddr_in me = { PX_AF_INET, (uint16_t)port, 0 };
	long r = px_bind((int)fd, &me);
	if (r < 0) {
		printf("udpecho: bind port %u: error %ld\n", port, -r);
		return 1;
	}
	printf("udpecho: port %u\n", port);
	fflush(stdout);
	for (unsigned long n = 0;; n++) {
		struct px_sockaddr_in from;
		long len = px_recvfrom((int)fd, buf, sizeof(buf), &from);
		if (len < 0) {
			printf("udpecho: recvfrom: error %ld\n", -len);
			return 1;
		}
		if (len == 4 && memcmp(buf, "quit", 4) == 0) {
			printf("udpecho: %lu datagrams echoed\n", n);
			return 0;
		}
		r = px_sendto((int)fd, buf, (size_t)len, &from);
		if (r < 0) {
			printf("udpecho: sendto: error %ld\n", -r);
			return 1;
		}
	}
}
